package test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/slack-go/slack/slackevents"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
)

func TestSocketModeEventsArriveInOrderAndAcked(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeslack.Options{Workspaces: 2})
	var got collector
	if err := h.rt.OnEvent("message", func(_ context.Context, ev *switchboard.Event) error { got.add(ev); return nil }); err != nil {
		t.Fatal(err)
	}
	app := h.addApp(1)
	h.awaitConnected(1, 5*time.Second)

	ws := h.srv.Workspaces()[0]
	const n = 200
	sent, err := h.srv.InjectMessages(context.Background(), app.ID, fakeslack.MessageStream{Team: ws.TeamID, Channel: ws.Channels[0].ID, TextPrefix: "msg ", Count: n})
	if err != nil || sent != n {
		t.Fatalf("InjectMessages = %d, %v", sent, err)
	}
	waitFor(t, 10*time.Second, "all events handled", func() bool { return got.len() == n })
	waitFor(t, 5*time.Second, "all acked", func() bool { return h.srv.Stats().Acked == n })
	for i, ev := range got.all() {
		e, err := ev.EventsAPI()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		msg, ok := e.InnerEvent.Data.(*slackevents.MessageEvent)
		if !ok {
			t.Fatalf("event %d is %T", i, e.InnerEvent.Data)
		}
		if want := fmt.Sprintf("msg %d", i+1); msg.Text != want {
			t.Fatalf("event %d text %q, want %q: out of order", i, msg.Text, want)
		}
		if ev.Team != ws.TeamID || ev.Channel != ws.Channels[0].ID || !hasClient(ev) {
			t.Fatalf("event %d routed as team %q channel %q, client %v", i, ev.Team, ev.Channel, hasClient(ev))
		}
	}
	if st := h.srv.Stats(); st.Redelivered != 0 || st.Unacked != 0 {
		t.Errorf("server stats %+v: want no redelivery", st)
	}
}

func TestSlashCommandResponseTravelsInAck(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeslack.Options{})
	if err := h.rt.OnCommand("/deploy", func(_ context.Context, ev *switchboard.Event) error {
		cmd, err := ev.SlashCommand()
		if err != nil {
			t.Error(err)
			return nil
		}
		if err := ev.Respond(map[string]any{"response_type": "in_channel", "text": "deploying " + cmd.Text}); err != nil {
			t.Error(err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	app := h.addApp(1)
	h.awaitConnected(1, 5*time.Second)
	ws := h.srv.Workspaces()[0]
	inj, err := h.srv.InjectSlashCommand(app.ID, fakeslack.SlashCommand{Team: ws.TeamID, Command: "/deploy", Text: "v2"})
	if err != nil {
		t.Fatal(err)
	}
	var payload json.RawMessage
	waitFor(t, 5*time.Second, "ack payload", func() bool {
		var ok bool
		payload, ok = h.srv.AckPayload(inj.EnvelopeID)
		return ok
	})
	var body struct{ ResponseType, Text string }
	if err := json.Unmarshal(payload, &body); err != nil {
		t.Fatalf("ack payload %s: %v", payload, err)
	}
	if body.Text != "deploying v2" {
		t.Errorf("ack payload = %s, want the handler's response", payload)
	}
}
