package conformance_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/fakeslack"
)

// TestBoltSocketModeNode runs a @slack/bolt app on Socket Mode against fakeslack: Bolt's startup
// auth.test, a message listener replying in the thread through chat.postMessage, an app_mention, a
// slash command answered in its ack, a button acked, a dropped socket, and a clean stop.
//
// Bolt on its HTTP receiver, fed by fakeslack's signed HTTP delivery, is TestBoltHTTPReceiverNode.
func TestBoltSocketModeNode(t *testing.T) {
	t.Parallel()
	srv := startServer(t, fakeslack.Options{})
	ws, app := srv.Workspaces()[0], srv.Apps()[0]
	ch := ws.Channels[0]
	n := startNode(t, "bolt", map[string]string{
		"SLACK_API_URL": srv.APIURL(), "SLACK_BOT_TOKEN": ws.BotToken, "SLACK_APP_TOKEN": app.AppToken,
	})
	n.awaitEv(10*time.Second, "started")
	waitFor(t, 5*time.Second, "Bolt's socket", func() bool { return len(srv.Connections(app.AppID)) == 1 })
	if !transcriptHas(srv, func(e fakeslack.Entry) bool {
		return e.Kind == fakeslack.KindAPI && e.Method == "auth.test" && e.Status == "ok"
	}) {
		t.Error("Bolt did not call auth.test at startup")
	}

	inject := func(ev map[string]any) {
		t.Helper()
		data, _ := json.Marshal(ev)
		if _, err := srv.InjectEvent(app.AppID, ws.TeamID, data); err != nil {
			t.Fatal(err)
		}
	}
	hello := func(text string) {
		t.Helper()
		inject(map[string]any{"type": "message", "channel": ch.ID, "user": ws.Users[0].ID, "text": text, "channel_type": "channel"})
		m := n.await(5*time.Second, "Bolt's message listener", func(r report) bool { return r.str("ev") == "message" && r.str("text") == text }, nil)
		r := n.awaitEv(5*time.Second, "replied")
		if r["ok"] != true || r.str("to") != m.str("ts") {
			t.Errorf("reply %v to %v", r, m)
		}
	}
	hello("hello bolt")
	h := srv.History(ch.ID)
	if len(h) == 0 || h[len(h)-1].Via != "chat.postMessage" || h[len(h)-1].Text != "hi <@"+ws.Users[0].ID+">" {
		t.Errorf("history = %+v", h)
	}

	inject(map[string]any{"type": "app_mention", "channel": ch.ID, "user": ws.Users[0].ID, "text": "<@" + ws.BotUserID + "> status"})
	n.await(5*time.Second, "the app_mention", func(r report) bool { return r.str("ev") == "app_mention" }, nil)

	cmd, err := srv.InjectSlashCommand(app.AppID, fakeslack.SlashCommand{Team: ws.TeamID, Command: "/deploy", Text: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	n.awaitEv(5*time.Second, "command")
	waitFor(t, 5*time.Second, "the command's ack", func() bool { _, ok := srv.AckPayload(cmd.EnvelopeID); return ok })
	payload, _ := srv.AckPayload(cmd.EnvelopeID)
	var p struct{ ResponseType, Text string }
	_ = json.Unmarshal(payload, &p)
	if p.Text != "deploying prod" {
		t.Errorf("command ack payload = %s", payload)
	}

	act, err := srv.InjectInteraction(app.AppID, fakeslack.Interaction{Team: ws.TeamID, ActionID: "approve", Value: "yes"})
	if err != nil {
		t.Fatal(err)
	}
	a := n.awaitEv(5*time.Second, "action")
	if a.str("value") != "yes" {
		t.Errorf("action = %v", a)
	}
	waitFor(t, 5*time.Second, "the action's ack", func() bool { _, ok := srv.AckPayload(act.EnvelopeID); return ok })

	if err := srv.DropConnection(oneConn(t, srv, app.AppID), false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "Bolt's socket back", func() bool {
		cs := srv.Connections(app.AppID)
		return len(cs) == 1 && srv.Stats().SocketsOpened >= 2
	})
	hello("hello again")

	n.send(map[string]any{"cmd": "stop"})
	n.exitOK(5 * time.Second)
	if st := srv.Stats(); st.Unacked != 0 || st.Redelivered != 0 {
		t.Errorf("stats %+v: every envelope should be acked in time", st)
	}
}
