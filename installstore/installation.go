package installstore

import (
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// Installation is an app's installation in a workspace or, org-wide, in an Enterprise Grid
// organization, with the tokens of the user who installed it. A zero time means "never": a token
// that does not expire, or an installation time Save fills in.
type Installation struct {
	AppID string

	EnterpriseID        string // "" outside Enterprise Grid
	EnterpriseName      string
	TeamID              string // "" for an org-wide install
	TeamName            string
	IsEnterpriseInstall bool // installed in the whole organization (EnterpriseID), not one workspace

	BotToken          string // xoxb-…; "" when the app asked no bot scopes
	BotRefreshToken   string // with token rotation
	BotTokenExpiresAt time.Time
	BotScopes         []string
	BotID             string // B…
	BotUserID         string // U…

	UserID             string // the installing user; UserToken is theirs
	UserToken          string // xoxp-…; "" when the app asked no user scopes
	UserRefreshToken   string
	UserTokenExpiresAt time.Time
	UserScopes         []string

	InstalledAt time.Time
}

// Key names what Find and Delete look for. Find's UserID "" means the workspace and the tokens of
// whoever installed it last; a UserID means that user's tokens with the workspace's bot.
type Key struct {
	EnterpriseID string
	TeamID       string
	UserID       string
}

// Key is where the installation is stored: its organization for an org-wide install, else its
// workspace; and its installing user.
func (i Installation) Key() Key {
	k := Key{EnterpriseID: i.EnterpriseID, TeamID: i.TeamID, UserID: i.UserID}
	if i.IsEnterpriseInstall {
		k.TeamID = ""
	}
	return k
}

// FromOAuthV2 makes the Installation that an oauth.v2.access answer describes, received at now
// (its expires_in counts from then). BotID is not in the answer: fill it in from auth.test.
func FromOAuthV2(resp *slack.OAuthV2Response, now time.Time) Installation {
	inst := Installation{
		AppID:               resp.AppID,
		EnterpriseID:        resp.Enterprise.ID,
		EnterpriseName:      resp.Enterprise.Name,
		TeamID:              resp.Team.ID,
		TeamName:            resp.Team.Name,
		IsEnterpriseInstall: resp.IsEnterpriseInstall,
		BotToken:            resp.AccessToken,
		BotRefreshToken:     resp.RefreshToken,
		BotScopes:           splitScopes(resp.Scope),
		BotUserID:           resp.BotUserID,
		UserID:              resp.AuthedUser.ID,
		UserToken:           resp.AuthedUser.AccessToken,
		UserRefreshToken:    resp.AuthedUser.RefreshToken,
		UserScopes:          splitScopes(resp.AuthedUser.Scope),
		InstalledAt:         now,
	}
	if resp.ExpiresIn > 0 {
		inst.BotTokenExpiresAt = now.Add(time.Duration(resp.ExpiresIn) * time.Second)
	}
	if resp.AuthedUser.ExpiresIn > 0 {
		inst.UserTokenExpiresAt = now.Add(time.Duration(resp.AuthedUser.ExpiresIn) * time.Second)
	}
	return inst
}

// splitScopes reads Slack's comma-separated scope list; "" is none.
func splitScopes(s string) []string {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
