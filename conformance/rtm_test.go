package conformance_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/fakeslack"
)

// TestRTMNode runs @slack/rtm-api against fakeslack: it connects with a classic bot token,
// receives messages, keeps going after its socket is dropped without a close frame and after a
// goodbye, sends messages and gets Slack's replies, and gets the error reply for a message to a
// channel that does not exist. (node/rtm.js works around an SDK bug on reconnect; see there.)
func TestRTMNode(t *testing.T) {
	t.Parallel()
	srv := startServer(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	ch := ws.Channels[0]
	n := startNode(t, "rtm", map[string]string{"SLACK_TOKEN": ws.ClassicBotToken, "SLACK_API_URL": srv.APIURL()})

	got := map[string]int{}
	count := func(r report) {
		if r.str("ev") == "message" && r.str("user") != ws.BotUserID { // Slack echoes the bot's own messages too
			got[r.str("text")]++
		}
	}
	round := func(name string, k int) {
		t.Helper()
		for i := 1; i <= k; i++ {
			if _, err := srv.InjectRTMMessage(ws.TeamID, fakeslack.RTMMessage{Channel: ch.ID, Text: fmt.Sprintf("%s-%d", name, i)}); err != nil {
				t.Fatal(err)
			}
		}
		for i := 1; i <= k; i++ {
			want := fmt.Sprintf("%s-%d", name, i)
			if got[want] > 0 {
				continue
			}
			n.await(5*time.Second, "message "+want, func(r report) bool { count(r); return got[want] > 0 }, nil)
		}
	}
	send := func(text, channel string) report {
		t.Helper()
		n.send(map[string]any{"cmd": "send", "text": text, "channel": channel})
		return n.await(5*time.Second, "the reply to "+text, func(r report) bool {
			return r.str("ev") == "sent" || r.str("ev") == "send_failed"
		}, count)
	}

	ready := n.awaitEv(10*time.Second, "ready")
	if ready.str("self") != ws.BotUserID || ready.str("team") != ws.TeamID {
		t.Errorf("ready as %v, want bot %s of %s", ready, ws.BotUserID, ws.TeamID)
	}
	round("first", 20)
	sends := func() {
		t.Helper()
		if r := send("hello from node", ch.ID); r.str("ev") != "sent" || r["ok"] != true || r.str("ts") == "" || r.str("text") != "hello from node" {
			t.Errorf("send: %v", r)
		}
		if h := srv.History(ch.ID); len(h) == 0 || h[len(h)-1].Text != "hello from node" || h[len(h)-1].Via != "rtm" {
			t.Errorf("history does not end with the sent message: %v", h)
		}
		if r := send("nowhere", "C0NOSUCHCHAN"); r.str("ev") != "send_failed" || r.str("code") != "slack_rtmapi_send_message_platform_error" {
			t.Errorf("send to an unknown channel: %v, want a platform error", r)
		}
	}
	sends()

	if err := srv.DropConnection(oneConn(t, srv, ws.TeamID), false); err != nil {
		t.Fatal(err)
	}
	n.await(10*time.Second, "ready after a drop", func(r report) bool { return r.str("ev") == "ready" }, count)
	round("after-drop", 5)

	if _, err := srv.SendRTMGoodbye(ws.TeamID, ""); err != nil {
		t.Fatal(err)
	}
	n.await(10*time.Second, "ready after goodbye", func(r report) bool { return r.str("ev") == "ready" }, count)
	round("after-goodbye", 5)
	sends()

	n.send(map[string]any{"cmd": "stop"})
	for _, r := range n.exitOK(5 * time.Second) {
		count(r)
	}
	for text, k := range got {
		if k != 1 {
			t.Errorf("message %q received %d times", text, k)
		}
	}
	if len(got) != 30 {
		t.Errorf("received %d messages, want 30", len(got))
	}
}
