package fakeslack_test

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/switchboard-go/switchboard/fakeslack"
)

// slackGoSeen is what the slack-go consumer saw, one value per envelope or hello.
type slackGoSeen struct {
	kind  socketmode.EventType
	text  string // inner message text, slash command text, or block action ID
	hello *socketmode.Request
}

// runSlackGo runs slack-go's own Socket Mode client against srv until the test ends. Every
// envelope is acked (a slash command with {"text":"pong <text>"}) and reported on the channel.
func runSlackGo(t *testing.T, srv *fakeslack.Server, debug bool) <-chan slackGoSeen {
	t.Helper()
	app, ws := firstApp(srv)
	opts := []slack.Option{slack.OptionAPIURL(srv.APIURL()), slack.OptionAppLevelToken(app.AppToken)}
	if debug {
		// OptionDebug makes slack-go append &debug_reconnects=true to the socket URL.
		opts = append(opts, slack.OptionDebug(true), slack.OptionLog(log.New(io.Discard, "", 0)))
	}
	api := slack.New(ws.BotToken, opts...)
	client := socketmode.New(api)
	ctx, cancel := context.WithCancel(context.Background())
	seen := make(chan slackGoSeen, 100)
	runDone, consumerDone := make(chan error, 1), make(chan struct{})
	go func() { // owner: this test. Ends when the cleanup cancels ctx; the cleanup waits on runDone.
		runDone <- client.RunContext(ctx)
	}()
	go func() { // owner: this test. Ends when the cleanup cancels ctx; the cleanup waits on consumerDone.
		defer close(consumerDone)
		for {
			var evt socketmode.Event
			select {
			case evt = <-client.Events:
			case <-ctx.Done():
				return
			}
			s := slackGoSeen{kind: evt.Type}
			switch evt.Type {
			case socketmode.EventTypeHello:
				s.hello = evt.Request
			case socketmode.EventTypeEventsAPI:
				if outer, ok := evt.Data.(slackevents.EventsAPIEvent); ok {
					if msg, ok := outer.InnerEvent.Data.(*slackevents.MessageEvent); ok {
						s.text = msg.Text
					}
				}
				client.Ack(*evt.Request)
			case socketmode.EventTypeSlashCommand:
				cmd, _ := evt.Data.(slack.SlashCommand)
				s.text = cmd.Text
				client.Ack(*evt.Request, map[string]any{"text": "pong " + cmd.Text})
			case socketmode.EventTypeInteractive:
				cb, _ := evt.Data.(slack.InteractionCallback)
				if len(cb.ActionCallback.BlockActions) > 0 {
					s.text = cb.ActionCallback.BlockActions[0].ActionID
				}
				client.Ack(*evt.Request)
			default:
				continue
			}
			select {
			case seen <- s:
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-runDone:
		case <-time.After(10 * time.Second):
			t.Error("slack-go RunContext did not return after cancel")
		}
		<-consumerDone
	})
	return seen
}

// expectSeen waits for the next thing of kind the slack-go client saw, skipping hellos unless asked.
func expectSeen(t *testing.T, seen <-chan slackGoSeen, kind socketmode.EventType) slackGoSeen {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case s := <-seen:
			if s.kind == kind {
				return s
			}
		case <-deadline:
			t.Fatalf("slack-go client saw no %s", kind)
			return slackGoSeen{}
		}
	}
}

func TestSlackGoSocketMode(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	app, ws := firstApp(srv)
	seen := runSlackGo(t, srv, false)

	hello := expectSeen(t, seen, socketmode.EventTypeHello)
	if hello.hello.NumConnections != 1 || hello.hello.ConnectionInfo.AppID != app.AppID ||
		hello.hello.DebugInfo.ApproximateConnectionTime != 18060 {
		t.Errorf("hello as slack-go parsed it: %+v", hello.hello)
	}

	if _, err := srv.InjectMessages(context.Background(), app.AppID, fakeslack.MessageStream{Team: ws.TeamID, Channel: "general", TextPrefix: "hi ", Count: 3}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if s := expectSeen(t, seen, socketmode.EventTypeEventsAPI); s.text != "hi "+string(rune('0'+i)) {
			t.Errorf("message %d text %q", i, s.text)
		}
	}
	waitFor(t, smWait, "3 acks", func() bool { return srv.Stats().Acked == 3 })

	cmd, err := srv.InjectSlashCommand(app.AppID, fakeslack.SlashCommand{Team: ws.TeamID, Command: "/ping", Text: "now"})
	if err != nil {
		t.Fatal(err)
	}
	if s := expectSeen(t, seen, socketmode.EventTypeSlashCommand); s.text != "now" {
		t.Errorf("slash command text %q", s.text)
	}
	waitFor(t, smWait, "slash ack", func() bool { _, ok := srv.AckPayload(cmd.EnvelopeID); return ok })
	var resp struct{ Text string }
	if p, _ := srv.AckPayload(cmd.EnvelopeID); json.Unmarshal(p, &resp) != nil || resp.Text != "pong now" {
		t.Errorf("slash command response %s", p)
	}

	if _, err := srv.InjectInteraction(app.AppID, fakeslack.Interaction{Team: ws.TeamID, ActionID: "approve"}); err != nil {
		t.Fatal(err)
	}
	if s := expectSeen(t, seen, socketmode.EventTypeInteractive); s.text != "approve" {
		t.Errorf("block action %q", s.text)
	}
	waitFor(t, smWait, "5 acks", func() bool { return srv.Stats().Acked == 5 })

	// A dropped socket: slack-go reconnects and later events reach it.
	conns := srv.Connections(app.AppID)
	if len(conns) != 1 {
		t.Fatalf("%d sockets, want 1", len(conns))
	}
	if err := srv.DropConnection(conns[0].ID, false); err != nil {
		t.Fatal(err)
	}
	expectSeen(t, seen, socketmode.EventTypeHello)
	if _, err := srv.InjectMessages(context.Background(), app.AppID, fakeslack.MessageStream{Team: ws.TeamID, Channel: "general", TextPrefix: "again ", Count: 1}); err != nil {
		t.Fatal(err)
	}
	if s := expectSeen(t, seen, socketmode.EventTypeEventsAPI); s.text != "again 1" {
		t.Errorf("after reconnecting got %q", s.text)
	}
	waitFor(t, smWait, "6 acks", func() bool { return srv.Stats().Acked == 6 })
	if st := srv.Stats(); st.Unacked != 0 || st.Redelivered != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestSlackGoSocketModeDebugReconnects(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{SocketMode: fakeslack.SocketModeOptions{
		DebugLifetime: 300 * time.Millisecond, WarningBefore: 100 * time.Millisecond, CloseGrace: 50 * time.Millisecond,
	}})
	app, ws := firstApp(srv)
	seen := runSlackGo(t, srv, true)
	// slack-go dials with debug_reconnects=true, so the socket lives DebugLifetime; on the warning it
	// reconnects, and the next socket says hello again.
	if h := expectSeen(t, seen, socketmode.EventTypeHello); h.hello.DebugInfo.ApproximateConnectionTime != 0 {
		t.Errorf("approximate_connection_time %d, want 0 (DebugLifetime 300ms)", h.hello.DebugInfo.ApproximateConnectionTime)
	}
	expectSeen(t, seen, socketmode.EventTypeHello)
	if _, err := srv.InjectMessages(context.Background(), app.AppID, fakeslack.MessageStream{Team: ws.TeamID, Channel: "general", TextPrefix: "x", Count: 1}); err != nil {
		t.Fatal(err)
	}
	expectSeen(t, seen, socketmode.EventTypeEventsAPI)
	waitFor(t, smWait, "ack", func() bool { return srv.Stats().Acked >= 1 })
}
