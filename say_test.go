package switchboard_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/webhook"
)

// Say and SayInThread post in the event's channel through the team's client; Reply answers in a
// command's ack while it can, then through the response_url, whose 6th use fails.
func TestSayAndReply(t *testing.T) {
	t.Parallel()
	e := newAppEnv(t, 1)
	results := make(chan error, 16)
	if err := e.rt.OnMessage("say", func(ctx context.Context, ev *switchboard.Event) error {
		if _, err := ev.Say(ctx, "said"); err != nil {
			return err
		}
		_, err := ev.SayInThread(ctx, "threaded")
		results <- err
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.rt.OnCommand("/reply", func(ctx context.Context, ev *switchboard.Event) error {
		results <- e.rt.Reply(ctx, ev, webhook.Message{Text: "in the ack"})
		results <- e.rt.Reply(ctx, ev, webhook.Message{Text: "by response_url", ResponseType: webhook.InChannel})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.rt.OnAction("button", func(ctx context.Context, ev *switchboard.Event) error {
		for i := 0; i < 6; i++ {
			results <- e.rt.Reply(ctx, ev, webhook.Message{Text: "from the button " + ev.ActionValue(), ResponseType: webhook.InChannel})
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.rt.OnViewSubmission("", func(ctx context.Context, ev *switchboard.Event) error {
		_, err := ev.Say(ctx, "nowhere")
		results <- err
		results <- e.rt.Reply(ctx, ev, webhook.Message{Text: "no url"})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	e.start()
	await := func(what string) error {
		t.Helper()
		select {
		case err := <-results:
			return err
		case <-time.After(10 * time.Second):
			t.Fatalf("no result for %s", what)
		}
		return nil
	}
	ch := e.ws[0].Channels[0].ID
	msg := e.event(map[string]any{"text": "say something", "ts": "1700000000.000100"})
	if err := await("say"); err != nil {
		t.Fatalf("Say: %v", err)
	}
	_ = msg
	var said, threaded bool
	for _, m := range e.srv.History(ch) {
		said = said || m.Text == "said" && m.ThreadTS == "" && m.Via == "chat.postMessage"
		threaded = threaded || m.Text == "threaded" && m.ThreadTS == "1700000000.000100"
	}
	if !said || !threaded {
		t.Errorf("history has said %v, threaded %v: %+v", said, threaded, e.srv.History(ch))
	}

	cmd := e.command(fakeslack.SlashCommand{Command: "/reply", Channel: ch})
	for i := 0; i < 2; i++ {
		if err := await("reply"); err != nil {
			t.Errorf("Reply %d: %v", i+1, err)
		}
	}
	if ack, ok := e.srv.AckPayload(cmd.EnvelopeID); !ok || !strings.Contains(string(ack), "in the ack") {
		t.Errorf("ack payload %s (%v), want the first reply", ack, ok)
	}
	e.interaction(fakeslack.Interaction{ActionID: "button", Value: "v1", Channel: ch})
	for i := 0; i < 6; i++ {
		err := await("button reply")
		if i < 5 && err != nil {
			t.Errorf("button reply %d: %v", i+1, err)
		}
		if i == 5 && !errors.Is(err, webhook.ErrResponseURLUsedUp) {
			t.Errorf("6th button reply: %v, want ErrResponseURLUsedUp", err)
		}
	}
	waitUntil(t, "the replies in the channel", func() bool {
		n, byURL := 0, false
		for _, m := range e.srv.History(ch) {
			if m.Via == "response_url" && m.Text == "from the button v1" {
				n++
			}
			byURL = byURL || m.Via == "response_url" && m.Text == "by response_url"
		}
		return n == 5 && byURL
	})

	e.interaction(fakeslack.Interaction{Type: "view_submission", CallbackID: "v"})
	if err := await("say without a channel"); !errors.Is(err, switchboard.ErrNoChannel) {
		t.Errorf("Say on a view submission: %v, want ErrNoChannel", err)
	}
	if err := await("reply without a response_url"); !errors.Is(err, switchboard.ErrNoResponseURL) {
		t.Errorf("Reply on a view submission: %v, want ErrNoResponseURL", err)
	}
}
