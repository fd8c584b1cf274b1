package conformance_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/fakeslack"
)

// TestSocketModeNode runs @slack/socket-mode against fakeslack: it connects, receives and acks
// events, keeps receiving after its socket is dropped without a close frame and after a
// refresh_requested, answers a slash command in its ack, and disconnects cleanly.
func TestSocketModeNode(t *testing.T) {
	t.Parallel()
	srv := startServer(t, fakeslack.Options{SocketMode: fakeslack.SocketModeOptions{CloseGrace: 200 * time.Millisecond}})
	app, ws := srv.Apps()[0], srv.Workspaces()[0]
	n := startNode(t, "socketmode", map[string]string{"SLACK_APP_TOKEN": app.AppToken, "SLACK_API_URL": srv.APIURL()})

	got := map[string]int{} // event text → deliveries seen
	envelopes := map[string]bool{}
	count := func(r report) {
		if r.str("ev") == "envelope" && r.str("event_type") == "message" {
			got[r.str("text")]++
			envelopes[r.str("envelope_id")] = true
		}
	}
	round := func(name string, k int) {
		t.Helper()
		for i := 1; i <= k; i++ {
			ev, _ := json.Marshal(map[string]any{"type": "message", "channel": ws.Channels[0].ID, "user": ws.Users[0].ID, "text": fmt.Sprintf("%s-%d", name, i)})
			if _, err := srv.InjectEvent(app.AppID, ws.TeamID, ev); err != nil {
				t.Fatal(err)
			}
		}
		for i := 1; i <= k; i++ {
			want := fmt.Sprintf("%s-%d", name, i)
			if got[want] > 0 {
				continue
			}
			n.await(5*time.Second, "event "+want, func(r report) bool {
				count(r)
				return got[want] > 0
			}, nil)
		}
	}
	acked := func(total int) {
		t.Helper()
		waitFor(t, 5*time.Second, fmt.Sprintf("%d acks", total), func() bool { return srv.Stats().Acked >= int64(total) })
	}

	n.awaitEv(10*time.Second, "connected")
	round("first", 20)
	acked(20)

	if err := srv.DropConnection(oneConn(t, srv, app.AppID), false); err != nil {
		t.Fatal(err)
	}
	n.await(10*time.Second, "reconnect after a drop", func(r report) bool { return r.str("ev") == "connected" }, count)
	round("after-drop", 5)
	acked(25)

	if err := srv.RefreshConnection(oneConn(t, srv, app.AppID), true); err != nil {
		t.Fatal(err)
	}
	n.await(10*time.Second, "reconnect after refresh_requested", func(r report) bool { return r.str("ev") == "connected" }, count)
	round("after-refresh", 5)
	acked(30)

	inj, err := srv.InjectSlashCommand(app.AppID, fakeslack.SlashCommand{Team: ws.TeamID, Command: "/deploy", Text: "now", Channel: ws.Channels[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	n.await(5*time.Second, "the slash command's ack", func(r report) bool { return r.str("ev") == "acked" && r.str("envelope_id") == inj.EnvelopeID }, count)
	waitFor(t, 5*time.Second, "the command's ack payload", func() bool { _, ok := srv.AckPayload(inj.EnvelopeID); return ok })
	payload, _ := srv.AckPayload(inj.EnvelopeID)
	var p struct{ Text string }
	if json.Unmarshal(payload, &p) != nil || p.Text != "ran /deploy now" {
		t.Errorf("slash command ack payload = %s", payload)
	}

	n.send(map[string]any{"cmd": "stop"})
	for _, r := range n.exitOK(5 * time.Second) {
		count(r)
	}
	for text, k := range got {
		if k != 1 {
			t.Errorf("event %q handled %d times", text, k)
		}
	}
	if len(got) != 30 || len(envelopes) != 30 {
		t.Errorf("handled %d events in %d envelopes, want 30", len(got), len(envelopes))
	}
	if st := srv.Stats(); st.Redelivered != 0 || st.Unacked != 0 {
		t.Errorf("stats %+v: every envelope should be acked in time", st)
	}
	waitFor(t, 5*time.Second, "the client's clean close", func() bool { return len(srv.Connections(app.AppID)) == 0 })
}
