package switchboard_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/installstore"
	"github.com/switchboard-go/switchboard/oauth"
)

// The whole life of an installation in a running runtime, its app over HTTP: installed into a
// new workspace through the OAuth flow on fakeslack, its events handled with the installed token,
// its rotating token refreshed while events flow (the old one expires: a stale client would fail
// with token_expired), then uninstalled, which empties the store.
func TestOAuthInstallIntoRunningRuntime(t *testing.T) {
	t.Parallel()
	srv, err := fakeslack.New(fakeslack.Options{Workspaces: 1, Apps: 1, OAuth: fakeslack.OAuthOptions{TokenLifetime: 3 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Close() }()
	app := srv.Apps()[0]
	store, err := installstore.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	rt, err := switchboard.New(switchboard.WithAPIURL(srv.APIURL()))
	if err != nil {
		t.Fatal(err)
	}
	var handled, failed atomic.Int32
	var lastErr atomic.Value
	if err := rt.OnEvent("message", func(ctx context.Context, ev *switchboard.Event) error {
		defer handled.Add(1)
		api, err := ev.Client(ctx)
		if err == nil {
			if _, err = api.AuthTestContext(ctx); !tokenRefused(err) {
				err = nil // a rate limit is not the token's fault
			}
		}
		if err != nil {
			failed.Add(1)
			lastErr.Store(err.Error())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := rt.AddApp(context.Background(), switchboard.App{ID: app.AppID, Transport: switchboard.HTTP, SigningSecret: app.SigningSecret, Installations: store}); err != nil {
		t.Fatal(err)
	}
	in := &oauth.Installer{ClientID: app.ClientID, ClientSecret: app.ClientSecret, Scopes: []string{"chat:write"},
		Store: store, States: store, AuthorizeURL: srv.URL() + "/oauth/v2/authorize?team=new", APIURL: srv.APIURL(),
		OnInstalled: func(_ context.Context, inst installstore.Installation) { rt.InstallationsChanged(inst.TeamID) }}
	mux := http.NewServeMux()
	mux.Handle("/slack/events", rt.HTTPHandler())
	mux.Handle("/slack/", in)
	ts := httptest.NewServer(mux)
	defer ts.Close()
	in.RedirectURL = ts.URL + oauth.DefaultRedirectPath
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rt.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	}()
	if err := srv.ConfigureApp(app.AppID, fakeslack.AppConfig{RequestURL: ts.URL + "/slack/events", TokenRotation: true}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	resp, err := http.Get(ts.URL + oauth.DefaultInstallPath) // the browser: install → Slack → redirect → page
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Installed") {
		t.Fatalf("install: %d %s", resp.StatusCode, page)
	}
	wss := srv.Workspaces()
	ws := wss[len(wss)-1]
	first, err := store.BotToken(ctx, ws.TeamID)
	if err != nil || ws.TeamID == srv.Workspaces()[0].TeamID {
		t.Fatalf("installed in %s: %v", ws.TeamID, err)
	}

	refreshed := make(chan struct{}, 10)
	r := &oauth.Refresher{ClientID: app.ClientID, ClientSecret: app.ClientSecret, Store: store, APIURL: srv.APIURL(),
		Ahead: 2500 * time.Millisecond, Every: 50 * time.Millisecond,
		OnRefreshed: func(_ context.Context, inst installstore.Installation) {
			rt.InstallationsChanged(inst.TeamID)
			refreshed <- struct{}{}
		}}
	rctx, rcancel := context.WithCancel(ctx)
	rdone := make(chan error, 1)
	go func() { rdone <- r.Run(rctx) }() // owner: the test; ends at rcancel
	injected := 0
	deadline := time.Now().Add(5 * time.Second) // over the token's 3 s: the first token expires meanwhile
	for time.Now().Before(deadline) {
		n, err := srv.InjectMessages(ctx, app.AppID, fakeslack.MessageStream{Team: ws.TeamID, Channel: ws.Channels[0].ID, TextPrefix: "m", Count: 1})
		if err != nil {
			t.Fatal(err)
		}
		injected += n
		time.Sleep(10 * time.Millisecond)
	}
	rcancel()
	if err := <-rdone; err != nil {
		t.Fatal(err)
	}
	for handled.Load() < int32(injected) && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	if len(refreshed) == 0 {
		t.Fatal("no refresh")
	}
	now, _ := store.BotToken(ctx, ws.TeamID)
	if now == first {
		t.Error("the stored token is the first one still")
	}
	if n := failed.Load(); n > 0 {
		t.Errorf("%d of %d events had no working client: %v", n, injected, lastErr.Load())
	}
	if _, err := slack.New(first, slack.OptionAPIURL(srv.APIURL())).AuthTestContext(ctx); err == nil {
		t.Error("the first token still works: the test did not outlive it")
	}

	if _, err := srv.Uninstall(app.AppID, ws.TeamID); err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := store.BotToken(ctx, ws.TeamID); errors.Is(err, installstore.ErrNotFound) {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the uninstall did not reach the store")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
