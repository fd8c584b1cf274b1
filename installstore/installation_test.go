package installstore_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-go/switchboard/installstore"
)

func TestFromOAuthV2(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	resp := &slack.OAuthV2Response{
		AccessToken: "xoxb-1", TokenType: "bot", Scope: "chat:write,commands", BotUserID: "U0BOT", AppID: "A0APP",
		Team:       slack.OAuthV2ResponseTeam{ID: "T1", Name: "Team"},
		Enterprise: slack.OAuthV2ResponseEnterprise{ID: "E1", Name: "Org"},
		AuthedUser: slack.OAuthV2ResponseAuthedUser{ID: "U1", Scope: "search:read", AccessToken: "xoxp-1",
			ExpiresIn: 3600, RefreshToken: "xoxe-1-u"},
		RefreshToken: "xoxe-1-b", ExpiresIn: 43200,
	}
	want := installstore.Installation{
		AppID: "A0APP", EnterpriseID: "E1", EnterpriseName: "Org", TeamID: "T1", TeamName: "Team",
		BotToken: "xoxb-1", BotRefreshToken: "xoxe-1-b", BotTokenExpiresAt: now.Add(12 * time.Hour),
		BotScopes: []string{"chat:write", "commands"}, BotUserID: "U0BOT",
		UserID: "U1", UserToken: "xoxp-1", UserRefreshToken: "xoxe-1-u", UserTokenExpiresAt: now.Add(time.Hour),
		UserScopes: []string{"search:read"}, InstalledAt: now,
	}
	if got := installstore.FromOAuthV2(resp, now); !reflect.DeepEqual(got, want) {
		t.Errorf("FromOAuthV2:\n got %+v\nwant %+v", got, want)
	}

	// An org-wide install without rotation or user scopes.
	org := &slack.OAuthV2Response{AccessToken: "xoxb-2", Enterprise: slack.OAuthV2ResponseEnterprise{ID: "E1"},
		IsEnterpriseInstall: true, AuthedUser: slack.OAuthV2ResponseAuthedUser{ID: "U1"}}
	got := installstore.FromOAuthV2(org, now)
	if !got.IsEnterpriseInstall || got.Key() != (installstore.Key{EnterpriseID: "E1", UserID: "U1"}) ||
		!got.BotTokenExpiresAt.IsZero() || got.BotScopes != nil || got.UserToken != "" {
		t.Errorf("org-wide: %+v, key %+v", got, got.Key())
	}
}

// A Store is what switchboard.App's Installations takes.
func TestBotTokenIsAnInstallationStore(t *testing.T) {
	var _ interface {
		BotToken(ctx context.Context, team string) (string, error)
	} = installstore.Store(nil)
}

func TestOptions(t *testing.T) {
	if _, err := installstore.NewMemory(installstore.WithEncryptionKey([]byte("short"))); err == nil {
		t.Error("a 5-byte key was taken")
	}
	if _, err := installstore.NewMemory(installstore.WithClock(nil)); err == nil {
		t.Error("a nil clock was taken")
	}
}
