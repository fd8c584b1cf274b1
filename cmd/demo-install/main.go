// Command demo-install shows a bot whose installations come and go while it runs, on the embedded
// Slack stand-in (no Slack account needed): one runtime, two apps. App 1 runs over Socket Mode in
// workspace 1. App 2 runs over HTTP (its request URL served by the runtime's HTTPHandler on
// loopback, every request signed and verified) and is installed by "Add to Slack": the demo plays
// the browser through the OAuth v2 flow (oauth.Installer) into a new workspace, whose events then
// arrive and are answered with the installed token; its rotating token is refreshed while events
// flow (oauth.Refresher); then it is uninstalled (app_uninstalled and tokens_revoked delete it
// from the store). Installations live in a SQLite file. The summary counts events injected and
// handled per transport; the exit status is 1 if any was lost.
//
//	make demo-install   # or: go run ./cmd/demo-install
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/slack-go/slack"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/installstore"
	"github.com/switchboard-go/switchboard/installstore/sqlitestore"
	"github.com/switchboard-go/switchboard/oauth"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo-install:", err)
		os.Exit(1)
	}
}

// tokenLifetime is how long the stand-in's rotating tokens live: the refresher renews them
// refreshAhead before they expire, several times during the demo.
const (
	tokenLifetime = 4 * time.Second
	refreshAhead  = 2500 * time.Millisecond
	eventsPerStep = 40
)

type counts struct{ handled, replies, failed atomic.Int64 }

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := logrus.New()
	log.SetLevel(logrus.WarnLevel)

	srv, err := fakeslack.New(fakeslack.Options{Workspaces: 1, Apps: 2, OAuth: fakeslack.OAuthOptions{TokenLifetime: tokenLifetime}})
	if err != nil {
		return err
	}
	defer func() { _ = srv.Close() }()
	apps, ws1 := srv.Apps(), srv.Workspaces()[0]
	smApp, httpApp := apps[0], apps[1]

	dir, err := os.MkdirTemp("", "demo-install-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	store, err := sqlitestore.Open(ctx, filepath.Join(dir, "installations.db"))
	if err != nil {
		return err
	}
	defer store.Close()

	rt, err := switchboard.New(switchboard.WithAPIURL(srv.APIURL()), switchboard.WithLogger(log))
	if err != nil {
		return err
	}
	perApp := map[string]*counts{smApp.AppID: {}, httpApp.AppID: {}}
	if err := rt.OnEvent("message", func(ctx context.Context, ev *switchboard.Event) error {
		c := perApp[ev.Link.App]
		var m struct {
			Channel string `json:"channel"`
			TS      string `json:"ts"`
			BotID   string `json:"bot_id"`
			Subtype string `json:"subtype"`
		}
		var cb struct {
			Event json.RawMessage `json:"event"`
		}
		if json.Unmarshal(ev.Raw, &cb) != nil || json.Unmarshal(cb.Event, &m) != nil || m.BotID != "" || m.Subtype != "" {
			return nil // the bot's own replies, edits, …
		}
		c.handled.Add(1)
		api, err := ev.Client(ctx)
		if err == nil {
			_, _, err = api.PostMessageContext(ctx, m.Channel, slack.MsgOptionText("Hi over "+string(ev.Link.Transport)+"!", false), slack.MsgOptionTS(m.TS))
		}
		if err != nil {
			c.failed.Add(1)
			return err
		}
		c.replies.Add(1)
		return nil
	}); err != nil {
		return err
	}
	// App 1: Socket Mode, workspace 1's token. App 2: HTTP, installations in the SQLite store.
	if err := rt.AddApp(ctx, switchboard.App{ID: smApp.AppID, Token: smApp.AppToken,
		Installations: switchboard.Installations{ws1.TeamID: ws1.BotToken}}); err != nil {
		return err
	}
	if err := rt.AddApp(ctx, switchboard.App{ID: httpApp.AppID, Transport: switchboard.HTTP,
		SigningSecret: httpApp.SigningSecret, Installations: store}); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	installer := &oauth.Installer{ClientID: httpApp.ClientID, ClientSecret: httpApp.ClientSecret,
		Scopes: []string{"chat:write", "channels:history"}, RedirectURL: base + oauth.DefaultRedirectPath,
		Store: store, States: store, AuthorizeURL: srv.URL() + "/oauth/v2/authorize?team=new", APIURL: srv.APIURL(),
		OnInstalled: func(_ context.Context, inst installstore.Installation) { rt.InstallationsChanged(inst.TeamID) }}
	mux := http.NewServeMux()
	mux.Handle("/slack/events", rt.HTTPHandler())
	mux.Handle("/slack/", installer)
	sctx, stopServing := context.WithCancel(context.WithoutCancel(ctx))
	served := make(chan error, 1)
	go func() { served <- rt.Serve(sctx, ln, mux) }() // owner: run; ends at stopServing
	defer func() {
		stopServing()
		<-served
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = rt.Stop(sctx)
	}()
	if err := srv.ConfigureApp(httpApp.AppID, fakeslack.AppConfig{RequestURL: base + "/slack/events", TokenRotation: true}); err != nil {
		return err
	}
	if err := srv.VerifyRequestURL(ctx, httpApp.AppID); err != nil {
		return fmt.Errorf("url_verification: %w", err)
	}
	fmt.Printf("stand-in at %s; app %s over Socket Mode in %s; app %s over HTTP at %s/slack/events (url_verification answered)\n",
		srv.URL(), smApp.AppID, ws1.TeamID, httpApp.AppID, base)
	if err := awaitSocket(ctx, srv, smApp.AppID); err != nil {
		return err
	}
	injected := map[string]int{}
	inject := func(app string, ws fakeslack.Workspace, n int) error {
		got, err := srv.InjectMessages(ctx, app, fakeslack.MessageStream{Team: ws.TeamID, Channel: ws.Channels[0].ID, TextPrefix: "Hello ", Count: n})
		injected[app] += got
		return err
	}
	if err := inject(smApp.AppID, ws1, eventsPerStep); err != nil {
		return err
	}
	fmt.Printf("%d events into %s over Socket Mode\n", eventsPerStep, ws1.TeamID)

	// "Add to Slack": the browser follows the install path to Slack and back.
	resp, err := http.Get(base + oauth.DefaultInstallPath)
	if err != nil {
		return err
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "Installed") {
		return fmt.Errorf("install: %d %s", resp.StatusCode, page)
	}
	wss := srv.Workspaces()
	ws2 := wss[len(wss)-1]
	inst, err := store.Find(ctx, installstore.Key{TeamID: ws2.TeamID})
	if err != nil {
		return err
	}
	fmt.Printf("installed %s in the new workspace %s by OAuth: bot %s, token expires in %v, saved in %s\n",
		httpApp.AppID, ws2.TeamID, inst.BotUserID, time.Until(inst.BotTokenExpiresAt).Round(time.Second), filepath.Base(dir)+"/installations.db")

	var refreshes atomic.Int64
	refresher := &oauth.Refresher{ClientID: httpApp.ClientID, ClientSecret: httpApp.ClientSecret, Store: store, APIURL: srv.APIURL(),
		Ahead: refreshAhead, Every: 100 * time.Millisecond, Log: log,
		OnRefreshed: func(_ context.Context, inst installstore.Installation) {
			refreshes.Add(1)
			rt.InstallationsChanged(inst.TeamID)
		}}
	rctx, stopRefresher := context.WithCancel(ctx)
	defer stopRefresher()
	refreshed := make(chan error, 1)
	go func() { refreshed <- refresher.Run(rctx) }() // owner: run; ends at stopRefresher

	// Events of the new workspace over HTTP, for longer than a token lives.
	until := time.Now().Add(2 * tokenLifetime)
	for time.Now().Before(until) && ctx.Err() == nil {
		if err := inject(httpApp.AppID, ws2, eventsPerStep/4); err != nil {
			return err
		}
		time.Sleep(250 * time.Millisecond)
	}
	stopRefresher()
	if err := <-refreshed; err != nil {
		return err
	}
	fmt.Printf("%d events into %s over HTTP; the token was refreshed %d times meanwhile\n", injected[httpApp.AppID], ws2.TeamID, refreshes.Load())

	if err := awaitHandled(ctx, perApp, injected); err != nil {
		return err
	}
	if _, err := srv.Uninstall(httpApp.AppID, ws2.TeamID); err != nil {
		return err
	}
	for {
		if _, err := store.BotToken(ctx, ws2.TeamID); errors.Is(err, installstore.ErrNotFound) {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Printf("uninstalled %s from %s: tokens_revoked and app_uninstalled deleted it from the store\n", httpApp.AppID, ws2.TeamID)

	lost := 0
	fmt.Println("\napp          transport   injected  handled  replies  failed")
	for _, a := range []struct {
		id, transport string
	}{{smApp.AppID, "socketmode"}, {httpApp.AppID, "http"}} {
		c := perApp[a.id]
		fmt.Printf("%-12s %-11s %8d %8d %8d %7d\n", a.id, a.transport, injected[a.id], c.handled.Load(), c.replies.Load(), c.failed.Load())
		lost += injected[a.id] - int(c.handled.Load())
	}
	fmt.Printf("token refreshes %d, lost %d\n", refreshes.Load(), lost)
	if lost != 0 || perApp[httpApp.AppID].failed.Load() != 0 {
		return fmt.Errorf("%d events lost, %d replies failed", lost, perApp[httpApp.AppID].failed.Load())
	}
	return nil
}

// awaitSocket waits until app has an open Socket Mode connection.
func awaitSocket(ctx context.Context, srv *fakeslack.Server, app string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		if len(srv.Connections(app)) > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("app %s did not connect: %w", app, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// awaitHandled waits until every injected event is handled, or 10 s.
func awaitHandled(ctx context.Context, per map[string]*counts, injected map[string]int) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		done := true
		for app, n := range injected {
			if per[app].handled.Load() < int64(n) {
				done = false
			}
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil // the summary counts what is missing
		case <-time.After(20 * time.Millisecond):
		}
	}
}
