package switchboard_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/installstore"
)

// Installs, reinstalls and an uninstall while events flow over HTTP: every event is handled, a
// client got after InstallationsChanged never uses the token it replaced (which fakeslack revokes),
// and the uninstall's tokens_revoked and app_uninstalled delete the installation from the store.
func TestInstallUninstallWhileEventsFlow(t *testing.T) {
	t.Parallel()
	b := newHTTPBot(t)
	store, err := installstore.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	team := b.srv.Workspaces()[1]
	var gen atomic.Int32 // bumped once InstallationsChanged has returned
	var handled, stale, noClient atomic.Int32
	var mu sync.Mutex
	var failures []error
	if err := b.rt.OnEvent("message", func(ctx context.Context, ev *switchboard.Event) error {
		defer handled.Add(1)
		g := gen.Load()
		api, err := ev.Client(ctx)
		if err != nil {
			noClient.Add(1)
			return nil
		}
		if _, err := api.AuthTestContext(ctx); tokenRefused(err) && g > 0 && g == gen.Load() {
			stale.Add(1)
			mu.Lock()
			failures = append(failures, err)
			mu.Unlock()
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	b.add(t, store)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	install := func() string {
		t.Helper()
		in, err := b.srv.Install(b.app.AppID, team.TeamID)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.Save(ctx, installstore.Installation{AppID: b.app.AppID, TeamID: team.TeamID, BotToken: in.BotToken, BotUserID: in.BotUserID}); err != nil {
			t.Fatal(err)
		}
		b.rt.InstallationsChanged(team.TeamID)
		gen.Add(1)
		return in.BotToken
	}
	var injected atomic.Int32
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // owner: the test; ends at stop
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			n, err := b.srv.InjectMessages(ctx, b.app.AppID, fakeslack.MessageStream{Team: team.TeamID, Channel: team.Channels[0].ID, TextPrefix: "m", Count: 1})
			if err != nil {
				t.Errorf("inject: %v", err)
				return
			}
			injected.Add(int32(n))
			time.Sleep(2 * time.Millisecond) // a steady stream, under the stand-in's auth.test rate limit
		}
	}()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for !ok() {
			if ctx.Err() != nil {
				t.Fatalf("timed out: %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor("events before the install", func() bool { return injected.Load() >= 10 })
	old := install()
	for i := 0; i < 3; i++ {
		at := handled.Load()
		waitFor("events after an install", func() bool { return handled.Load() >= at+10 })
		tok := install()
		b.srv.RevokeToken(old) // the replaced token is dead: a cached client of it would fail
		old = tok
	}
	at := handled.Load()
	waitFor("events after the last install", func() bool { return handled.Load() >= at+10 })
	close(stop)
	<-done
	waitFor("every injected event handled", func() bool { return handled.Load() == injected.Load() })
	if n := stale.Load(); n > 0 {
		t.Errorf("%d events used a replaced token: %v", n, failures)
	}
	if noClient.Load() == 0 {
		t.Error("no event came before the first install")
	}

	if _, err := b.srv.Uninstall(b.app.AppID, team.TeamID); err != nil {
		t.Fatal(err)
	}
	waitFor("the uninstall in the store", func() bool {
		_, err := store.Find(ctx, installstore.Key{TeamID: team.TeamID})
		return errors.Is(err, installstore.ErrNotFound)
	})
	if _, err := store.BotToken(ctx, team.TeamID); !errors.Is(err, installstore.ErrNotFound) {
		t.Errorf("BotToken after the uninstall: %v", err)
	}
}

// With WithClientTTL, a team's cached client is looked up again once the ttl passed, without
// InstallationsChanged (another process changed the store); within it, the cache answers.
func TestClientTTL(t *testing.T) {
	t.Parallel()
	b := newHTTPBot(t, switchboard.WithClientTTL(200*time.Millisecond))
	st := &store{tokens: map[string]string{"T1": "xoxb-1"}}
	done := make(chan error, 10)
	if err := b.rt.OnEvent("message", func(ctx context.Context, ev *switchboard.Event) error {
		_, err := ev.Client(ctx)
		done <- err
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	b.add(t, st)
	event := func(id string) {
		t.Helper()
		if code, _ := b.post(t, "application/json", eventCallback(b.app.AppID, "T1", id, "x"), b.app.SigningSecret, time.Now(), nil); code != 200 {
			t.Fatalf("event %s: %d", id, code)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("event %s not handled", id)
		}
	}
	event("E1")
	event("E2")
	if n := st.count("T1"); n != 1 {
		t.Errorf("%d lookups within the ttl, want 1", n)
	}
	time.Sleep(250 * time.Millisecond) // the ttl is what is tested: let it pass
	event("E3")
	if n := st.count("T1"); n != 2 {
		t.Errorf("%d lookups after the ttl, want 2", n)
	}
	if _, err := switchboard.New(switchboard.WithClientTTL(-time.Second)); err == nil {
		t.Error("a negative ttl was taken")
	}
}

// tokenRefused reports whether err is Slack refusing the token itself (not a rate limit).
func tokenRefused(err error) bool {
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) {
		return false
	}
	switch se.Err {
	case "token_revoked", "token_expired", "invalid_auth", "not_authed", "account_inactive":
		return true
	}
	return false
}

// A Socket Mode app's uninstall, delivered over its socket, deletes the installation too; the
// other workspace's stays.
func TestUninstallOverSocketMode(t *testing.T) {
	t.Parallel()
	srv, err := fakeslack.New(fakeslack.Options{Workspaces: 2, Apps: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Close() }()
	app, wss := srv.Apps()[0], srv.Workspaces()
	st, err := installstore.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, ws := range wss {
		if err := st.Save(ctx, installstore.Installation{AppID: app.AppID, TeamID: ws.TeamID, BotToken: ws.BotToken}); err != nil {
			t.Fatal(err)
		}
	}
	rt, err := switchboard.New(switchboard.WithAPIURL(srv.APIURL()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rt.Stop(sctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	}()
	if err := rt.AddApp(ctx, switchboard.App{ID: app.AppID, Token: app.AppToken, Installations: st}); err != nil {
		t.Fatal(err)
	}
	for len(srv.Connections(app.AppID)) == 0 && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := srv.Uninstall(app.AppID, wss[0].TeamID); err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := st.BotToken(ctx, wss[0].TeamID); errors.Is(err, installstore.ErrNotFound) {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the uninstall did not reach the store")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if tok, err := st.BotToken(ctx, wss[1].TeamID); err != nil || tok != wss[1].BotToken {
		t.Errorf("the other workspace: %q, %v", tok, err)
	}
	if err := rt.RemoveApp(ctx, app.AppID); err != nil {
		t.Errorf("RemoveApp: %v", err)
	}
	stats, err := rt.SubscriberStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stats {
		if s.Name == "switchboard/uninstall/"+app.AppID && s.Queued > 0 {
			t.Errorf("the uninstall subscription is left with %+v", s)
		}
	}
}
