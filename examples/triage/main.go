// Command triage is a triage bot for many workspaces at once, over Socket Mode: /triage opens a
// modal; its submission posts the item in the channel with Take and Close buttons; a button
// updates that message; the App Home tab lists the workspace's open items. Each channel's open
// items live in an actor of their own. It runs on Slack, or on the stand-in when SLACK_API_URL is
// fakeslack's api_url:
//
//	SLACK_APP_TOKEN=xapp-… SLACK_BOT_TOKENS=xoxb-…,xoxb-… go run ./examples/triage
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

	switchboard "github.com/switchboard-go/switchboard"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := config{
		AppToken:  os.Getenv("SLACK_APP_TOKEN"),
		BotTokens: strings.FieldsFunc(os.Getenv("SLACK_BOT_TOKENS"), func(r rune) bool { return r == ',' || r == ' ' }),
		APIURL:    os.Getenv("SLACK_API_URL"),
		Log:       logrus.StandardLogger(),
	}
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "triage:", err)
		os.Exit(1)
	}
}

// config is what the bot needs: its app token and one bot token per workspace it is installed in.
type config struct {
	AppToken  string
	BotTokens []string
	APIURL    string // default Slack's
	Log       *logrus.Logger
	// Ready, when set, is closed once the bot's handlers are registered and its app added.
	Ready chan<- struct{}
}

// Callback and action IDs.
const (
	modalID  = "triage_new"
	takeID   = "triage_take"
	closeID  = "triage_close"
	titleID  = "title"    // block and action of the modal's title input
	levelID  = "priority" // block and action of the modal's priority select
	stopWait = 10 * time.Second
)

// run runs the bot until ctx ends, then stops it gracefully.
func run(ctx context.Context, cfg config) error {
	if cfg.AppToken == "" || len(cfg.BotTokens) == 0 {
		return errors.New("set SLACK_APP_TOKEN (xapp-…, connections:write) and SLACK_BOT_TOKENS (xoxb-…, comma-separated, one per workspace)")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = "https://slack.com/api/"
	}
	// Each bot token's workspace, from auth.test.
	inst := switchboard.Installations{}
	for _, tok := range cfg.BotTokens {
		who, err := slack.New(tok, slack.OptionAPIURL(cfg.APIURL)).AuthTestContext(ctx)
		if err != nil {
			return fmt.Errorf("auth.test with a bot token: %w", err)
		}
		inst[who.TeamID] = tok
	}
	rt, err := switchboard.New(switchboard.WithLogger(cfg.Log), switchboard.WithAPIURL(cfg.APIURL))
	if err != nil {
		return err
	}
	b := newBoard()
	defer b.stop()
	t := &triage{rt: rt, board: b}
	rt.OnError(func(ctx context.Context, _ *switchboard.Event, err error) { // every handler's error and panic
		switchboard.LogFrom(ctx).WithError(err).Warn("triage handler failed")
	})
	err = errors.Join(
		rt.Use(switchboard.LogEvents(nil)),     // global middleware, for listeners before and after
		rt.OnCommand("/triage", t.open),        // opens the modal with the command's trigger_id
		rt.OnViewSubmission(modalID, t.submit), // by callback_id; reads ev.StateValue(block, action)
		rt.OnAction(takeID, t.take),            // by action_id; ev.ActionValue() is the button's value
		rt.OnAction(closeID, t.close),
		rt.OnEvent("app_home_opened", t.home),
		rt.AddApp(ctx, switchboard.App{Token: cfg.AppToken, Installations: inst}),
	)
	if err != nil {
		sctx, cancel := context.WithTimeout(context.Background(), stopWait)
		defer cancel()
		return errors.Join(err, rt.Stop(sctx))
	}
	if cfg.Ready != nil {
		close(cfg.Ready)
	}
	return rt.Run(ctx, stopWait)
}

// triage holds the bot's handlers.
type triage struct {
	rt    *switchboard.Runtime
	board *board
}

// open answers /triage with the modal, which carries the channel in its private_metadata.
func (t *triage) open(ctx context.Context, ev *switchboard.Event) error {
	cmd, err := ev.SlashCommand()
	if err != nil {
		return err
	}
	api, err := ev.Client(ctx)
	if err != nil {
		return err
	}
	_, err = api.OpenViewContext(ctx, cmd.TriggerID, modal(cmd.ChannelID, cmd.Text))
	return err
}

// submit posts the new item in its channel and gives it to the channel's actor. A submission
// without a title is refused in the ack, which keeps the modal open with the error.
func (t *triage) submit(ctx context.Context, ev *switchboard.Event) error {
	title, _ := ev.StateValue(titleID, titleID)
	level, _ := ev.StateValue(levelID, levelID)
	if strings.TrimSpace(title.Value) == "" {
		return ev.Respond(slack.NewErrorsViewSubmissionResponse(map[string]string{titleID: "A title, please"}))
	}
	cb, err := ev.Interaction()
	if err != nil {
		return err
	}
	it := item{ID: t.board.newID(ev.Team), Title: title.Value, Priority: level.SelectedOption.Value, Reporter: ev.User,
		Team: ev.Team, Channel: cb.View.PrivateMetadata}
	if it.Priority == "" {
		it.Priority = "medium"
	}
	api, err := ev.Client(ctx)
	if err != nil {
		return err
	}
	_, ts, err := api.PostMessageContext(ctx, it.Channel, slack.MsgOptionText(summary(it), false), slack.MsgOptionBlocks(itemBlocks(it)...))
	if err != nil {
		return err
	}
	it.TS = ts
	return t.board.add(ctx, it)
}

// take records who took the item and updates its message; close removes the item and updates
// its message, without buttons.
func (t *triage) take(ctx context.Context, ev *switchboard.Event) error {
	it, ok, err := t.board.change(ctx, ev.Team, ev.Channel, takeItem{ev.ActionValue(), ev.User})
	if err != nil || !ok {
		return err
	}
	return t.update(ctx, ev, summary(it), itemBlocks(it))
}

func (t *triage) close(ctx context.Context, ev *switchboard.Event) error {
	it, ok, err := t.board.change(ctx, ev.Team, ev.Channel, closeItem{ev.ActionValue()})
	if err != nil || !ok {
		return err
	}
	text := fmt.Sprintf("Closed by <@%s>: %s", ev.User, it.Title)
	return t.update(ctx, ev, text, []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil)})
}

func (t *triage) update(ctx context.Context, ev *switchboard.Event, text string, blocks []slack.Block) error {
	api, err := ev.Client(ctx)
	if err != nil {
		return err
	}
	_, _, _, err = api.UpdateMessageContext(ctx, ev.Channel, ev.MessageTS(), slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
	return err
}

// home publishes the App Home tab: the workspace's open items.
func (t *triage) home(ctx context.Context, ev *switchboard.Event) error {
	items, err := t.board.open(ctx, ev.Team)
	if err != nil {
		return err
	}
	api, err := ev.Client(ctx)
	if err != nil {
		return err
	}
	_, err = api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: ev.User, View: homeView(items)})
	return err
}
