package oauth_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/installstore"
	"github.com/switchboard-go/switchboard/oauth"
)

type flow struct {
	srv   *fakeslack.Server
	app   fakeslack.App
	store *installstore.Memory
	in    *oauth.Installer
	ts    *httptest.Server
	hooks atomic.Int32
}

func newFlow(t *testing.T, rotation bool, lifetime time.Duration) *flow {
	t.Helper()
	srv, err := fakeslack.New(fakeslack.Options{Workspaces: 1, Apps: 1, OAuth: fakeslack.OAuthOptions{TokenLifetime: lifetime}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	store, err := installstore.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	f := &flow{srv: srv, app: srv.Apps()[0], store: store}
	f.in = &oauth.Installer{ClientID: f.app.ClientID, ClientSecret: f.app.ClientSecret,
		Scopes: []string{"chat:write", "channels:history"}, UserScopes: []string{"search:read"},
		Store: store, States: store, AuthorizeURL: srv.URL() + "/oauth/v2/authorize?team=new", APIURL: srv.APIURL(),
		OnInstalled: func(context.Context, installstore.Installation) { f.hooks.Add(1) }}
	f.ts = httptest.NewServer(f.in)
	t.Cleanup(f.ts.Close)
	f.in.RedirectURL = f.ts.URL + oauth.DefaultRedirectPath
	if err := srv.ConfigureApp(f.app.AppID, fakeslack.AppConfig{TokenRotation: rotation}); err != nil {
		t.Fatal(err)
	}
	return f
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// The install round trip on fakeslack: the install path redirects to authorize with the app's
// client_id, scopes, redirect_uri and a state; Slack's redirect back is exchanged, saved (bot and
// user tokens, the bot's IDs, rotation's refresh tokens and expiries) and shown as a success page;
// the same state does not work twice; then the Refresher refreshes both tokens before they expire,
// the new pair is saved, and the spent refresh token is refused.
func TestInstallAndRefreshOnFakeslack(t *testing.T) {
	t.Parallel()
	f := newFlow(t, true, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, _ := get(t, noFollow, f.ts.URL+oauth.DefaultInstallPath)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("install: %d", resp.StatusCode)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	q := loc.Query()
	if q.Get("client_id") != f.app.ClientID || q.Get("scope") != "chat:write,channels:history" || q.Get("user_scope") != "search:read" ||
		q.Get("redirect_uri") != f.in.RedirectURL || q.Get("state") == "" || q.Get("team") != "new" {
		t.Fatalf("authorize url %s", loc)
	}
	resp, _ = get(t, noFollow, loc.String()) // Slack approves and redirects back
	back := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(back, f.in.RedirectURL) {
		t.Fatalf("authorize: %d %s", resp.StatusCode, back)
	}
	resp, page := get(t, http.DefaultClient, back)
	if resp.StatusCode != 200 || !strings.Contains(page, "<h1>Installed</h1>") {
		t.Fatalf("redirect: %d %s", resp.StatusCode, page)
	}
	if f.hooks.Load() != 1 {
		t.Errorf("OnInstalled called %d times", f.hooks.Load())
	}
	if resp, page := get(t, http.DefaultClient, back); resp.StatusCode != 400 || !strings.Contains(page, "Not installed") {
		t.Errorf("state reused: %d %s", resp.StatusCode, page)
	}
	teams := f.srv.Workspaces()
	team := teams[len(teams)-1].TeamID
	inst, err := f.store.Find(ctx, installstore.Key{TeamID: team})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(inst.BotToken, "xoxe.xoxb-") || inst.BotRefreshToken == "" || inst.BotTokenExpiresAt.IsZero() ||
		inst.BotID == "" || inst.BotUserID == "" || inst.AppID != f.app.AppID || inst.UserToken == "" || inst.UserRefreshToken == "" {
		t.Fatalf("installation %+v", redacted(inst))
	}

	var refreshed atomic.Int32
	r := &oauth.Refresher{ClientID: f.app.ClientID, ClientSecret: f.app.ClientSecret, Store: f.store, APIURL: f.srv.APIURL(),
		Ahead: 2 * time.Hour, OnRefreshed: func(context.Context, installstore.Installation) { refreshed.Add(1) }}
	n, err := r.RefreshDue(ctx)
	if err != nil || n != 2 || refreshed.Load() != 2 {
		t.Fatalf("RefreshDue: %d, %v (hooks %d)", n, err, refreshed.Load())
	}
	now, err := f.store.Find(ctx, installstore.Key{TeamID: team})
	if err != nil {
		t.Fatal(err)
	}
	if now.BotToken == inst.BotToken || now.BotRefreshToken == inst.BotRefreshToken || now.UserToken == inst.UserToken ||
		now.UserRefreshToken == inst.UserRefreshToken || !now.BotTokenExpiresAt.After(time.Now()) {
		t.Fatalf("after refresh %+v", redacted(now))
	}
	if _, err := slack.New(now.BotToken, slack.OptionAPIURL(f.srv.APIURL())).AuthTestContext(ctx); err != nil {
		t.Errorf("auth.test with the refreshed bot token: %v", err)
	}
	old := inst
	old.UserToken, old.UserRefreshToken = "", ""
	if err := r.Refresh(ctx, old); err == nil || !strings.Contains(err.Error(), "invalid_refresh_token") {
		t.Errorf("a spent refresh token: %v", err)
	}

	// Run refreshes on its own and stops with its context.
	rctx, rcancel := context.WithCancel(ctx)
	r.Every = 10 * time.Millisecond
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	for refreshed.Load() < 4 && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	rcancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func redacted(i installstore.Installation) installstore.Installation {
	for _, s := range []*string{&i.BotToken, &i.BotRefreshToken, &i.UserToken, &i.UserRefreshToken} {
		if *s != "" {
			*s = "set"
		}
	}
	return i
}

// Failures show a failure page and save nothing: Slack's error (escaped), an unknown state, a
// missing code, and a code Slack refuses.
func TestInstallFailures(t *testing.T) {
	t.Parallel()
	f := newFlow(t, false, 0)
	ctx := context.Background()
	state, err := f.store.Issue(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	expired, err := f.store.Issue(ctx, time.Nanosecond)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Millisecond)
	base := f.ts.URL + oauth.DefaultRedirectPath
	for _, c := range []struct {
		name, query string
		status      int
		want        string
	}{
		{"denied", "error=" + url.QueryEscape("<script>x</script>") + "&state=" + state, 200, "&lt;script&gt;"},
		{"unknown state", "code=c&state=nope", 400, "not valid"},
		{"expired state", "code=c&state=" + expired, 400, "expired"},
		{"no code", "state=" + state, 400, "no authorization code"},
	} {
		resp, page := get(t, http.DefaultClient, base+"?"+c.query)
		if resp.StatusCode != c.status || !strings.Contains(page, "Not installed") || !strings.Contains(page, c.want) || strings.Contains(page, "<script>") {
			t.Errorf("%s: %d %s", c.name, resp.StatusCode, page)
		}
	}
	state, _ = f.store.Issue(ctx, 0)
	if resp, page := get(t, http.DefaultClient, base+"?code=bogus&state="+state); resp.StatusCode != http.StatusBadGateway || !strings.Contains(page, "Not installed") {
		t.Errorf("bad code: %d %s", resp.StatusCode, page)
	}
	if f.hooks.Load() != 0 {
		t.Errorf("OnInstalled called %d times", f.hooks.Load())
	}
	if _, err := f.store.Expiring(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := (&oauth.Installer{}).AuthorizeURLWithState(ctx); err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("an installer without its fields: %v", err)
	}
}
