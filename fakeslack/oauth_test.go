package fakeslack_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-go/switchboard/fakeslack"
)

// authorize opens the authorize page with q and returns the redirect's URL (failing the test
// on anything but a 302).
func authorize(t *testing.T, srv *fakeslack.Server, q url.Values) *url.URL {
	t.Helper()
	status, loc := authorizeStatus(t, srv, q)
	if status != http.StatusFound {
		t.Fatalf("authorize %v: status %d", q, status)
	}
	return loc
}

func authorizeStatus(t *testing.T, srv *fakeslack.Server, q url.Values) (int, *url.URL) {
	t.Helper()
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Get(srv.URL() + "/oauth/v2/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	loc, _ := resp.Location()
	return resp.StatusCode, loc
}

const redirect = "https://bot.example/oauth/callback"

func TestOAuthInstall(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	app, ws := srv.Apps()[0], srv.Workspaces()[1]
	loc := authorize(t, srv, url.Values{"client_id": {app.ClientID}, "scope": {"chat:write,commands"}, "user_scope": {"search:read"},
		"redirect_uri": {redirect}, "state": {"s1"}, "team": {ws.TeamID}, "user": {ws.Users[1].ID}})
	code := loc.Query().Get("code")
	if !strings.HasPrefix(loc.String(), redirect+"?") || loc.Query().Get("state") != "s1" || code == "" {
		t.Fatalf("redirect = %s", loc)
	}
	opt := slack.OAuthOptionAPIURL(srv.APIURL())
	if _, err := slack.GetOAuthV2Response(http.DefaultClient, app.ClientID, app.ClientSecret, code, "https://elsewhere.example/", opt); slackErr(err) != "bad_redirect_uri" {
		t.Errorf("exchange with another redirect_uri: %v", err)
	}
	if _, err := slack.GetOAuthV2Response(http.DefaultClient, app.ClientID, "wrong", code, redirect, opt); slackErr(err) != "bad_client_secret" {
		t.Errorf("exchange with a bad secret: %v", err)
	}
	if _, err := slack.GetOAuthV2Response(http.DefaultClient, "1.2", app.ClientSecret, code, redirect, opt); slackErr(err) != "invalid_client_id" {
		t.Errorf("exchange with a bad client_id: %v", err)
	}
	resp, err := slack.GetOAuthV2Response(http.DefaultClient, app.ClientID, app.ClientSecret, code, redirect, opt)
	if err != nil {
		t.Fatalf("GetOAuthV2Response: %v", err)
	}
	if !strings.HasPrefix(resp.AccessToken, "xoxb-") || resp.TokenType != "bot" || resp.Scope != "chat:write,commands" || resp.AppID != app.AppID ||
		resp.Team.ID != ws.TeamID || resp.BotUserID != ws.BotUserID || resp.RefreshToken != "" || resp.ExpiresIn != 0 {
		t.Errorf("bot grant = %+v", resp)
	}
	au := resp.AuthedUser
	if au.ID != ws.Users[1].ID || !strings.HasPrefix(au.AccessToken, "xoxp-") || au.TokenType != "user" || au.Scope != "search:read" {
		t.Errorf("authed_user = %+v", au)
	}
	if _, err := slack.GetOAuthV2Response(http.DefaultClient, app.ClientID, app.ClientSecret, code, redirect, opt); slackErr(err) != "invalid_code" {
		t.Errorf("a code used twice: %v", err)
	}

	bot, err := slack.New(resp.AccessToken, slack.OptionAPIURL(srv.APIURL())).AuthTest()
	if err != nil || bot.TeamID != ws.TeamID || bot.UserID != ws.BotUserID || bot.BotID != ws.BotID {
		t.Errorf("auth.test of the minted bot token = %+v, %v", bot, err)
	}
	user, err := slack.New(au.AccessToken, slack.OptionAPIURL(srv.APIURL())).AuthTest()
	if err != nil || user.TeamID != ws.TeamID || user.UserID != ws.Users[1].ID || user.User != ws.Users[1].Name || user.BotID != "" {
		t.Errorf("auth.test of the minted user token = %+v, %v", user, err)
	}
	if st := srv.Stats(); st.OAuthGrants != 1 {
		t.Errorf("OAuthGrants = %d", st.OAuthGrants)
	}
	for _, e := range srv.Transcript().Entries(func(e fakeslack.Entry) bool { return e.Method == "oauth.v2.access" }) {
		if strings.Contains(string(e.Data), app.ClientSecret) || strings.Contains(string(e.Data), code) {
			t.Errorf("the transcript keeps a secret: %s", e.Data)
		}
	}
}

func TestOAuthAuthorizePage(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	app := srv.Apps()[0]
	before := len(srv.Workspaces())

	// A new workspace, made by the authorize page, gets a bot token at once.
	loc := authorize(t, srv, url.Values{"client_id": {app.ClientID}, "redirect_uri": {redirect}, "team": {"new"}})
	resp, err := slack.GetOAuthV2Response(http.DefaultClient, app.ClientID, app.ClientSecret, loc.Query().Get("code"), redirect, slack.OAuthOptionAPIURL(srv.APIURL()))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Workspaces()); n != before+1 {
		t.Fatalf("%d workspaces after team=new, want %d", n, before+1)
	}
	created, ok := srv.Workspace(resp.Team.ID)
	if !ok || len(created.Channels) == 0 {
		t.Fatalf("workspace %s not made", resp.Team.ID)
	}
	api := slack.New(resp.AccessToken, slack.OptionAPIURL(srv.APIURL()))
	if _, _, err := api.PostMessage(created.Channels[0].ID, slack.MsgOptionText("hello", false)); err != nil {
		t.Errorf("post with the new workspace's token: %v", err)
	}
	if apps := srv.Apps(); !strings.Contains(strings.Join(apps[0].Teams, ","), resp.Team.ID) {
		t.Errorf("app teams = %v", apps[0].Teams)
	}

	// An incoming-webhook scope gets the first channel's webhook.
	loc = authorize(t, srv, url.Values{"client_id": {app.ClientID}, "redirect_uri": {redirect}, "scope": {"incoming-webhook,chat:write"}})
	resp, err = slack.GetOAuthV2Response(http.DefaultClient, app.ClientID, app.ClientSecret, loc.Query().Get("code"), redirect, slack.OAuthOptionAPIURL(srv.APIURL()))
	first := srv.Workspaces()[0]
	if err != nil || resp.IncomingWebhook.URL != first.Webhooks[0].URL || resp.IncomingWebhook.ChannelID != first.Channels[0].ID || resp.IncomingWebhook.Channel != "#general" {
		t.Errorf("incoming_webhook = %+v, %v", resp.IncomingWebhook, err)
	}

	// A chosen team ID that does not exist yet is made with that ID.
	loc = authorize(t, srv, url.Values{"client_id": {app.ClientID}, "redirect_uri": {redirect}, "team": {"T0CHOSEN01"}})
	if _, ok := srv.Workspace("T0CHOSEN01"); !ok || loc.Query().Get("code") == "" {
		t.Errorf("team=T0CHOSEN01: %s", loc)
	}

	// Refusals.
	if status, _ := authorizeStatus(t, srv, url.Values{"client_id": {"9.9"}, "redirect_uri": {redirect}}); status != http.StatusBadRequest {
		t.Errorf("unknown client_id: %d", status)
	}
	if status, _ := authorizeStatus(t, srv, url.Values{"client_id": {app.ClientID}}); status != http.StatusBadRequest {
		t.Errorf("no redirect_uri: %d", status)
	}
	loc = authorize(t, srv, url.Values{"client_id": {app.ClientID}, "redirect_uri": {redirect}, "state": {"s"}, "deny": {"1"}})
	if loc.Query().Get("error") != "access_denied" || loc.Query().Get("code") != "" || loc.Query().Get("state") != "s" {
		t.Errorf("denied: %s", loc)
	}

	// The app's configured redirect URL: the default, and a prefix other URLs must start with.
	if err := srv.ConfigureApp(app.AppID, fakeslack.AppConfig{RedirectURL: redirect}); err != nil {
		t.Fatal(err)
	}
	if loc := authorize(t, srv, url.Values{"client_id": {app.ClientID}}); !strings.HasPrefix(loc.String(), redirect) {
		t.Errorf("default redirect: %s", loc)
	}
	if status, _ := authorizeStatus(t, srv, url.Values{"client_id": {app.ClientID}, "redirect_uri": {"https://evil.example/"}}); status != http.StatusBadRequest {
		t.Errorf("a redirect_uri outside the app's: %d", status)
	}
}

func TestTokenRotation(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{OAuth: fakeslack.OAuthOptions{TokenLifetime: 300 * time.Millisecond}})
	app, ws := srv.Apps()[0], srv.Workspaces()[0]
	if err := srv.ConfigureApp(app.AppID, fakeslack.AppConfig{TokenRotation: true}); err != nil {
		t.Fatal(err)
	}
	loc := authorize(t, srv, url.Values{"client_id": {app.ClientID}, "redirect_uri": {redirect}, "team": {ws.TeamID}})
	opt := slack.OAuthOptionAPIURL(srv.APIURL())
	resp, err := slack.GetOAuthV2Response(http.DefaultClient, app.ClientID, app.ClientSecret, loc.Query().Get("code"), redirect, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.AccessToken, "xoxe.xoxb-") || !strings.HasPrefix(resp.RefreshToken, "xoxe-1-") || resp.ExpiresIn != 1 {
		// expires_in is whole seconds, rounded up: 1 for a 300 ms lifetime
		t.Fatalf("rotating grant = %+v", resp)
	}
	api := slack.New(resp.AccessToken, slack.OptionAPIURL(srv.APIURL()))
	if _, err := api.AuthTest(); err != nil {
		t.Fatalf("auth.test before expiry: %v", err)
	}
	time.Sleep(350 * time.Millisecond) // the token's lifetime passing is the point
	if _, err := api.AuthTest(); slackErr(err) != "token_expired" {
		t.Errorf("auth.test after expiry: %v", err)
	}

	fresh, err := slack.RefreshOAuthV2Token(http.DefaultClient, app.ClientID, app.ClientSecret, resp.RefreshToken, opt)
	if err != nil {
		t.Fatalf("RefreshOAuthV2Token: %v", err)
	}
	if fresh.AccessToken == resp.AccessToken || fresh.RefreshToken == resp.RefreshToken || fresh.TokenType != "bot" || fresh.Team.ID != ws.TeamID || fresh.AppID != app.AppID {
		t.Errorf("refreshed = %+v", fresh)
	}
	if _, err := slack.New(fresh.AccessToken, slack.OptionAPIURL(srv.APIURL())).AuthTest(); err != nil {
		t.Errorf("auth.test with the refreshed token: %v", err)
	}
	if _, err := slack.RefreshOAuthV2Token(http.DefaultClient, app.ClientID, app.ClientSecret, resp.RefreshToken, opt); slackErr(err) != "invalid_refresh_token" {
		t.Errorf("a spent refresh token: %v", err)
	}
	if _, err := slack.RefreshOAuthV2Token(http.DefaultClient, app.ClientID, app.ClientSecret, "xoxe-1-nope", opt); slackErr(err) != "invalid_refresh_token" {
		t.Errorf("an unknown refresh token: %v", err)
	}
	if st := srv.Stats(); st.TokenRefreshes != 1 {
		t.Errorf("TokenRefreshes = %d", st.TokenRefreshes)
	}

	// Install from Go mints the same kind of token.
	in, err := srv.Install(app.AppID, ws.TeamID)
	if err != nil || !strings.HasPrefix(in.BotToken, "xoxe.xoxb-") || in.RefreshToken == "" || in.Expires.IsZero() {
		t.Errorf("Install = %+v, %v", in, err)
	}
	if !srv.ExpireToken(in.BotToken) {
		t.Fatal("ExpireToken: unknown token")
	}
	if _, err := slack.New(in.BotToken, slack.OptionAPIURL(srv.APIURL())).AuthTest(); slackErr(err) != "token_expired" {
		t.Errorf("expired token: %v", err)
	}
}
