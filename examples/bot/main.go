// Command bot replies "Hi <@user>!" in the thread of every message that says Hello, and answers
// /deploy in its ack, over Socket Mode. It runs on Slack, or on the stand-in when SLACK_API_URL
// is fakeslack's api_url:
//
//	SLACK_APP_TOKEN=xapp-… SLACK_BOT_TOKEN=xoxb-… go run ./examples/bot
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/messages"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bot:", err)
		os.Exit(1)
	}
}

func run() error {
	appToken, botToken := os.Getenv("SLACK_APP_TOKEN"), os.Getenv("SLACK_BOT_TOKEN")
	if appToken == "" || botToken == "" {
		return errors.New("set SLACK_APP_TOKEN (xapp-…, connections:write) and SLACK_BOT_TOKEN (xoxb-…)")
	}
	apiURL := os.Getenv("SLACK_API_URL")
	if apiURL == "" {
		apiURL = "https://slack.com/api/"
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, fail := context.WithCancelCause(ctx) // fail(err) ends the bot with err, for a person to fix
	defer fail(nil)

	// The bot token's workspace: Event.Client answers events of that team with this token.
	who, err := slack.New(botToken, slack.OptionAPIURL(apiURL)).AuthTestContext(ctx)
	if err != nil {
		return fmt.Errorf("auth.test with SLACK_BOT_TOKEN: %w", err)
	}
	rt, err := switchboard.New(switchboard.WithLogger(logrus.StandardLogger()), switchboard.WithAPIURL(apiURL))
	if err != nil {
		return err
	}
	err = errors.Join(
		rt.OnEvent("message", hello),
		rt.OnCommand("/deploy", deploy),
		rt.OnLifecycle(func(ev messages.Lifecycle) {
			if f, ok := ev.(messages.Fatal); ok { // a revoked token, Socket Mode turned off, …
				fail(fmt.Errorf("%s stopped: %w (%s)", f.Link, f.Error, f.Advice))
			}
		}),
		rt.AddApp(ctx, switchboard.App{Token: appToken, Installations: switchboard.Installations{who.TeamID: botToken}}),
	)
	if err != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return errors.Join(err, rt.Stop(sctx))
	}
	err = rt.Run(ctx, 10*time.Second) // until SIGINT or SIGTERM (or a fatal link), then a graceful stop
	if cause := context.Cause(ctx); !errors.Is(cause, context.Canceled) {
		return errors.Join(cause, err)
	}
	return err
}

// hello replies in the thread of a message saying Hello. An error it returns is logged by the
// runtime, with the event's team, type and IDs.
func hello(ctx context.Context, ev *switchboard.Event) error {
	e, err := ev.EventsAPI()
	if err != nil {
		return err
	}
	m, ok := e.InnerEvent.Data.(*slackevents.MessageEvent)
	if !ok || m.BotID != "" || m.SubType != "" || !strings.Contains(m.Text, "Hello") {
		return nil // not a person's greeting: a bot's message (ours too), an edit, a join, …
	}
	thread := m.ThreadTimeStamp
	if thread == "" {
		thread = m.TimeStamp
	}
	api, err := ev.Client(ctx)
	if err != nil {
		return err
	}
	_, _, err = api.PostMessageContext(ctx, m.Channel,
		slack.MsgOptionText("Hi <@"+m.User+">!", false), slack.MsgOptionTS(thread))
	return err
}

// deploy answers /deploy in the command's ack, which Slack needs within 3 s.
func deploy(_ context.Context, ev *switchboard.Event) error {
	cmd, err := ev.SlashCommand()
	if err != nil {
		return err
	}
	return ev.Respond(map[string]string{"response_type": "in_channel", "text": "deploying " + cmd.Text})
}
