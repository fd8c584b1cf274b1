package test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/slack-go/slack"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/messages"
)

func TestInteractionsAreTypedAndAnswered(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeslack.Options{})
	actions := make(chan slack.InteractionCallback, 1)
	noResponse := make(chan error, 1)
	if err := h.rt.OnInteraction("block_actions", func(_ context.Context, ev *switchboard.Event) error {
		cb, err := ev.Interaction()
		if err != nil {
			t.Error(err)
			return nil
		}
		noResponse <- ev.Respond(map[string]string{"text": "not allowed"})
		actions <- cb
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := h.rt.OnInteraction("view_submission", func(_ context.Context, ev *switchboard.Event) error {
		cb, err := ev.Interaction()
		if err != nil || cb.View.CallbackID != "signup" {
			t.Errorf("view_submission decoded as %+v, %v", cb.View, err)
		}
		if err := ev.Respond(map[string]any{"response_action": "errors", "errors": map[string]string{"email": "taken"}}); err != nil {
			t.Error(err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	app := h.addApp(1)
	h.awaitConnected(1, 5*time.Second)
	ws := h.srv.Workspaces()[0]

	if _, err := h.srv.InjectInteraction(app.ID, fakeslack.Interaction{Type: "block_actions", Team: ws.TeamID, ActionID: "approve", Value: "42"}); err != nil {
		t.Fatal(err)
	}
	select {
	case cb := <-actions:
		if len(cb.ActionCallback.BlockActions) != 1 || cb.ActionCallback.BlockActions[0].ActionID != "approve" || cb.ResponseURL == "" {
			t.Errorf("block_actions decoded as %+v (response_url %q)", cb.ActionCallback, cb.ResponseURL)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no block_actions")
	}
	if err := <-noResponse; !errors.Is(err, messages.ErrNoResponse) {
		t.Errorf("Respond on block_actions: %v, want ErrNoResponse", err)
	}

	inj, err := h.srv.InjectInteraction(app.ID, fakeslack.Interaction{Type: "view_submission", Team: ws.TeamID, CallbackID: "signup"})
	if err != nil {
		t.Fatal(err)
	}
	var payload json.RawMessage
	waitFor(t, 5*time.Second, "view_submission ack", func() bool {
		var ok bool
		payload, ok = h.srv.AckPayload(inj.EnvelopeID)
		return ok
	})
	var body struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
	}
	if err := json.Unmarshal(payload, &body); err != nil || body.ResponseAction != "errors" || body.Errors["email"] != "taken" {
		t.Errorf("ack payload %s (%v)", payload, err)
	}
}
