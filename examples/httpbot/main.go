// Command httpbot is a bot that people install with "Add to Slack" and that takes its events
// over HTTP: it serves the app's request URL (/slack/events, for events, commands and
// interactivity), the OAuth install flow (/slack/install, /slack/oauth_redirect) and keeps its
// installations, with their rotating tokens refreshed, in a SQLite file. It replies "Hi <@user>!"
// in the thread of every message that says Hello, in every workspace it is installed in.
//
//	SLACK_APP_ID=A… SLACK_SIGNING_SECRET=… SLACK_CLIENT_ID=… SLACK_CLIENT_SECRET=… \
//	SLACK_REDIRECT_URL=https://bot.example.com/slack/oauth_redirect go run ./examples/httpbot
//
// LISTEN (default :3000) is the address served, INSTALLATIONS (default installations.db) the
// SQLite file; SLACK_API_URL and SLACK_AUTHORIZE_URL point it at the stand-in.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/installstore"
	"github.com/switchboard-go/switchboard/installstore/sqlitestore"
	"github.com/switchboard-go/switchboard/oauth"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "httpbot:", err)
		os.Exit(1)
	}
}

func run() error {
	appID, secret := os.Getenv("SLACK_APP_ID"), os.Getenv("SLACK_SIGNING_SECRET")
	clientID, clientSecret, redirect := os.Getenv("SLACK_CLIENT_ID"), os.Getenv("SLACK_CLIENT_SECRET"), os.Getenv("SLACK_REDIRECT_URL")
	if appID == "" || secret == "" || clientID == "" || clientSecret == "" || redirect == "" {
		return errors.New("set SLACK_APP_ID, SLACK_SIGNING_SECRET, SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_REDIRECT_URL")
	}
	apiURL := cmp.Or(os.Getenv("SLACK_API_URL"), oauth.DefaultAPIURL)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := logrus.StandardLogger()

	store, err := sqlitestore.Open(ctx, cmp.Or(os.Getenv("INSTALLATIONS"), "installations.db"))
	if err != nil {
		return err
	}
	defer store.Close()
	rt, err := switchboard.New(switchboard.WithLogger(log), switchboard.WithAPIURL(apiURL))
	if err != nil {
		return err
	}
	changed := func(_ context.Context, inst installstore.Installation) { rt.InstallationsChanged(inst.TeamID) }
	err = errors.Join(
		rt.OnEvent("message", hello),
		rt.AddApp(ctx, switchboard.App{ID: appID, Transport: switchboard.HTTP, SigningSecret: secret, Installations: store}),
	)
	if err != nil {
		return errors.Join(err, rt.Stop(context.Background()))
	}
	installer := &oauth.Installer{ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirect,
		Scopes: []string{"chat:write", "channels:history"}, Store: store, States: store,
		AuthorizeURL: os.Getenv("SLACK_AUTHORIZE_URL"), APIURL: apiURL, OnInstalled: changed, Log: log}
	refresher := &oauth.Refresher{ClientID: clientID, ClientSecret: clientSecret, Store: store, APIURL: apiURL,
		OnRefreshed: changed, Log: log}
	refreshed := make(chan error, 1)
	go func() { refreshed <- refresher.Run(ctx) }() // owner: run; ends with ctx, awaited below

	mux := http.NewServeMux()
	mux.Handle("/slack/events", rt.HTTPHandler())
	mux.Handle("/slack/", installer) // /slack/install, /slack/oauth_redirect
	log.WithField("addr", cmp.Or(os.Getenv("LISTEN"), ":3000")).Info("serving")
	err = rt.ListenAndServe(ctx, cmp.Or(os.Getenv("LISTEN"), ":3000"), mux) // until SIGINT or SIGTERM
	stop()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return errors.Join(err, <-refreshed, rt.Stop(sctx))
}

// hello replies in the thread of a message saying Hello, with the token of the message's
// workspace.
func hello(ctx context.Context, ev *switchboard.Event) error {
	e, err := ev.EventsAPI()
	if err != nil {
		return err
	}
	m, ok := e.InnerEvent.Data.(*slackevents.MessageEvent)
	if !ok || m.BotID != "" || m.SubType != "" || !strings.Contains(m.Text, "Hello") {
		return nil
	}
	thread := cmp.Or(m.ThreadTimeStamp, m.TimeStamp)
	api, err := ev.Client(ctx)
	if err != nil {
		return err
	}
	_, _, err = api.PostMessageContext(ctx, m.Channel, slack.MsgOptionText("Hi <@"+m.User+">!", false), slack.MsgOptionTS(thread))
	return err
}
