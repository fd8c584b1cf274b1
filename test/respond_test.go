package test

import (
	"context"
	"errors"
	"testing"
	"time"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/webhook"
)

func TestHandlersAnswerThroughResponseURL(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeslack.Options{})
	results := make(chan error, 8)
	if err := h.rt.OnCommand("/report", func(ctx context.Context, ev *switchboard.Event) error {
		r, err := h.rt.Responder(ev)
		if err != nil {
			results <- err
			return nil
		}
		for i := 0; i < 6; i++ {
			_, err := r.Reply(ctx, webhook.Message{Text: "working on it", ResponseType: webhook.InChannel})
			results <- err
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	app := h.addApp(1)
	h.awaitConnected(1, 5*time.Second)
	ws := h.srv.Workspaces()[0]
	if _, err := h.srv.InjectSlashCommand(app.ID, fakeslack.SlashCommand{Team: ws.TeamID, Channel: ws.Channels[0].ID, Command: "/report"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 6; i++ {
		select {
		case err := <-results:
			if i < 5 && err != nil {
				t.Errorf("reply %d: %v", i+1, err)
			}
			if i == 5 && !errors.Is(err, webhook.ErrResponseURLUsedUp) {
				t.Errorf("6th reply: %v, want ErrResponseURLUsedUp", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d replies", i)
		}
	}
	n := 0
	for _, m := range h.srv.History(ws.Channels[0].ID) {
		if m.Via == "response_url" && m.Text == "working on it" {
			n++
		}
	}
	if n != 5 {
		t.Errorf("%d replies in the channel, want 5", n)
	}
	if _, err := h.rt.Responder(&switchboard.Event{}); !errors.Is(err, switchboard.ErrNoResponseURL) {
		t.Errorf("Responder without a response_url: %v", err)
	}
}
