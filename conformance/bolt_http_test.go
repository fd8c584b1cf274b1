package conformance_test

import (
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/fakeslack"
)

// TestBoltHTTPReceiverNode runs a @slack/bolt app on its HTTP receiver, fed by fakeslack's signed
// HTTP delivery: Bolt's verifier accepts fakeslack's signatures and answers url_verification; a
// message is answered with chat.postMessage in the thread, a slash command in the answer's body
// (which fakeslack posts in the channel), a button acked with an empty 200; requests signed with
// a wrong secret or a stale timestamp are refused by Bolt, and fakeslack records them failed.
func TestBoltHTTPReceiverNode(t *testing.T) {
	t.Parallel()
	srv := startServer(t, fakeslack.Options{HTTP: fakeslack.HTTPOptions{RetryDelays: []time.Duration{}}})
	ws, app := srv.Workspaces()[0], srv.Apps()[0]
	ch := ws.Channels[0]
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	n := startNode(t, "bolt_http", map[string]string{
		"SLACK_API_URL": srv.APIURL(), "SLACK_BOT_TOKEN": ws.BotToken, "SLACK_SIGNING_SECRET": app.SigningSecret,
		"PORT": strconv.Itoa(port),
	})
	n.awaitEv(15*time.Second, "started")
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/slack/events"
	if err := srv.ConfigureApp(app.AppID, fakeslack.AppConfig{RequestURL: url}); err != nil {
		t.Fatal(err)
	}
	if err := srv.VerifyRequestURL(t.Context(), app.AppID); err != nil {
		t.Fatalf("Bolt's url_verification answer: %v", err)
	}

	data, _ := json.Marshal(map[string]any{"type": "message", "channel": ch.ID, "user": ws.Users[0].ID, "text": "hello bolt", "channel_type": "channel"})
	ev, err := srv.InjectEvent(app.AppID, ws.TeamID, data)
	if err != nil {
		t.Fatal(err)
	}
	m := n.await(5*time.Second, "Bolt's message listener", func(r report) bool { return r.str("ev") == "message" }, nil)
	if r := n.awaitEv(5*time.Second, "replied"); r["ok"] != true || r.str("to") != m.str("ts") {
		t.Errorf("reply %v to %v", r, m)
	}
	if d := delivery(t, srv, ev.EnvelopeID); !d.OK || d.Attempts[0].Status != 200 {
		t.Errorf("event delivery %+v", d)
	}

	cmd, err := srv.InjectSlashCommand(app.AppID, fakeslack.SlashCommand{Team: ws.TeamID, Channel: ch.ID, Command: "/deploy", Text: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	n.awaitEv(5*time.Second, "command")
	if d := delivery(t, srv, cmd.EnvelopeID); !d.OK || !strings.Contains(d.Attempts[0].Response, "deploying prod") {
		t.Errorf("command delivery %+v", d)
	}
	waitFor(t, 5*time.Second, "the command's answer in the channel", func() bool {
		for _, h := range srv.History(ch.ID) {
			if h.Text == "deploying prod" {
				return true
			}
		}
		return false
	})

	act, err := srv.InjectInteraction(app.AppID, fakeslack.Interaction{Team: ws.TeamID, ActionID: "approve", Value: "yes"})
	if err != nil {
		t.Fatal(err)
	}
	if a := n.awaitEv(5*time.Second, "action"); a.str("value") != "yes" {
		t.Errorf("action = %v", a)
	}
	if d := delivery(t, srv, act.EnvelopeID); !d.OK {
		t.Errorf("action delivery %+v", d)
	}

	for _, fault := range []string{"wrong_secret", "stale_timestamp"} {
		if err := srv.ConfigureApp(app.AppID, fakeslack.AppConfig{RequestURL: url, SignatureFault: fault}); err != nil {
			t.Fatal(err)
		}
		ev, err := srv.InjectEvent(app.AppID, ws.TeamID, data)
		if err != nil {
			t.Fatal(err)
		}
		if d := delivery(t, srv, ev.EnvelopeID); d.OK || d.Attempts[0].Status/100 != 4 {
			t.Errorf("%s: delivery %+v, want Bolt's refusal", fault, d)
		}
	}

	n.send(map[string]any{"cmd": "stop"})
	n.exitOK(5 * time.Second)
}

// delivery waits until the delivery id is done and returns it.
func delivery(t *testing.T, srv *fakeslack.Server, id string) fakeslack.Delivery {
	t.Helper()
	var out fakeslack.Delivery
	waitFor(t, 10*time.Second, "delivery "+id, func() bool {
		for _, d := range srv.Deliveries("") {
			if d.ID == id && d.Done {
				out = d
				return true
			}
		}
		return false
	})
	return out
}
