package fakeslack_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboard-go/switchboard/fakeslack"
)

const rtmWait = 5 * time.Second

// rtmURL calls rtm.connect with token (as slack-go does, in a form field) and returns the URL.
func rtmURL(t testing.TB, srv *fakeslack.Server, token string) string {
	t.Helper()
	r := apiForm(t, srv, "rtm.connect", "", url.Values{"token": {token}})
	wantOK(t, r)
	return r.Body["url"].(string)
}

// rtmDial opens an RTM socket for token and reads its hello.
func rtmDial(t testing.TB, srv *fakeslack.Server, token string) *websocket.Conn {
	t.Helper()
	c := dial(t, rtmURL(t, srv, token))
	if f := readFrame(t, c, rtmWait); f["type"] != "hello" {
		t.Fatalf("first frame = %v, want hello", f)
	}
	return c
}

// rtmSend writes v as a JSON text frame.
func rtmSend(t testing.TB, c *websocket.Conn, v any) {
	t.Helper()
	data, ok := v.(string)
	if !ok {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		data = string(b)
	}
	if err := c.WriteMessage(websocket.TextMessage, []byte(data)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// readUntil reads frames, skipping those keep rejects, and returns the first it accepts.
func readUntil(t testing.TB, c *websocket.Conn, what string, keep func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(rtmWait)
	for time.Now().Before(deadline) {
		if f := readFrame(t, c, time.Until(deadline)); keep(f) {
			return f
		}
	}
	t.Fatalf("no %s within %v", what, rtmWait)
	return nil
}

// replyTo matches the reply to frame id.
func replyTo(id int) func(map[string]any) bool {
	return func(f map[string]any) bool { return f["reply_to"] == float64(id) }
}

// wantClose reads until the socket ends and checks the close code; 1006 (CloseAbnormalClosure)
// means the server closed the TCP connection without a close frame.
func wantClose(t testing.TB, c *websocket.Conn, code int) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(rtmWait))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		var ne interface{ Timeout() bool }
		switch {
		case errors.As(err, &ce):
			if ce.Code != code {
				t.Fatalf("closed with %d %q, want %d", ce.Code, ce.Text, code)
			}
		case errors.As(err, &ne) && ne.Timeout():
			t.Fatalf("socket still open after %v", rtmWait)
		case code != websocket.CloseAbnormalClosure:
			t.Fatalf("read ended with %v, want close code %d", err, code)
		}
		return
	}
}

// wantQuiet checks that nothing but a pong to a marker ping arrives: it sends a ping and expects
// its pong as the next frame.
func wantQuiet(t testing.TB, c *websocket.Conn, marker int) {
	t.Helper()
	rtmSend(t, c, map[string]any{"id": marker, "type": "ping"})
	if f := readFrame(t, c, rtmWait); f["type"] != "pong" || f["reply_to"] != float64(marker) {
		t.Fatalf("frame before the marker pong: %v", f)
	}
}

// onlyConn returns the ID of team's only RTM socket.
func onlyConn(t testing.TB, srv *fakeslack.Server, team string) string {
	t.Helper()
	var conns []fakeslack.ConnInfo
	waitFor(t, rtmWait, "one connection", func() bool {
		conns = srv.Connections(team)
		return len(conns) == 1
	})
	return conns[0].ID
}

func TestRTMHelloAndMessage(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	c := rtmDial(t, srv, ws.ClassicBotToken)

	rtmSend(t, c, map[string]any{"id": 1, "type": "message", "channel": ws.Channels[0].ID, "text": "hello world"})
	reply := readUntil(t, c, "reply", replyTo(1))
	if reply["ok"] != true || reply["text"] != "hello world" || reply["ts"] == "" {
		t.Fatalf("reply = %v", reply)
	}
	ev := readUntil(t, c, "message event", func(f map[string]any) bool { return f["type"] == "message" })
	if ev["ts"] != reply["ts"] || ev["channel"] != ws.Channels[0].ID || ev["user"] != ws.BotUserID {
		t.Errorf("event = %v", ev)
	}
	hist := srv.History(ws.Channels[0].ID)
	if len(hist) != 1 || hist[0].Via != "rtm" || hist[0].Text != "hello world" || hist[0].TS != reply["ts"] || hist[0].User != ws.BotUserID {
		t.Fatalf("history = %+v", hist)
	}
	if !strings.Contains(string(hist[0].Raw), `"id":1`) {
		t.Errorf("history Raw = %s, want the frame", hist[0].Raw)
	}

	// A thread reply, by channel name.
	rtmSend(t, c, map[string]any{"id": 2, "type": "message", "channel": "general", "text": "in thread", "thread_ts": hist[0].TS})
	if r := readUntil(t, c, "reply", replyTo(2)); r["ok"] != true {
		t.Fatalf("reply = %v", r)
	}
	if h := srv.History(ws.Channels[0].ID); len(h) != 2 || h[1].ThreadTS != hist[0].TS {
		t.Fatalf("history = %+v", h)
	}
	// hello and the two message events; the two replies.
	waitFor(t, rtmWait, "RTM counters", func() bool { st := srv.Stats(); return st.RTMReplies == 2 && st.RTMEvents == 3 })
	if n := len(srv.Transcript().Entries(func(e fakeslack.Entry) bool { return e.Kind == fakeslack.KindFrameIn })); n < 2 {
		t.Errorf("transcript has %d frames in", n)
	}
}

func TestRTMUserToken(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	c := rtmDial(t, srv, ws.UserToken)
	rtmSend(t, c, map[string]any{"id": 1, "type": "message", "channel": "general", "text": "from a user"})
	readUntil(t, c, "reply", replyTo(1))
	if h := srv.History(ws.Channels[0].ID); len(h) != 1 || h[0].User != ws.Users[0].ID || h[0].BotID != "" {
		t.Fatalf("history = %+v", h)
	}
}

func TestRTMMessageErrors(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{ChannelsPerWorkspace: 3, RTM: fakeslack.RTMOptions{WriteBurst: 100}})
	ws := srv.Workspaces()[0]
	srv.SetChannelArchived(ws.Channels[2].ID, true)
	c := rtmDial(t, srv, ws.ClassicBotToken)

	for i, tt := range []struct {
		name  string
		frame map[string]any
		code  float64
	}{
		{"missing channel", map[string]any{"type": "message", "text": "x"}, 3},
		{"missing text", map[string]any{"type": "message", "channel": "general"}, 2},
		{"unknown channel", map[string]any{"type": "message", "channel": "C0NOPE", "text": "x"}, 4},
		{"archived channel", map[string]any{"type": "message", "channel": ws.Channels[2].ID, "text": "x"}, 7},
		{"too long", map[string]any{"type": "message", "channel": "general", "text": strings.Repeat("é", 4001)}, 5},
		{"unknown type", map[string]any{"type": "frobnicate"}, 6},
		{"missing type", map[string]any{"text": "x"}, 6},
		{"typing in unknown channel", map[string]any{"type": "typing", "channel": "C0NOPE"}, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id := 100 + i
			tt.frame["id"] = id
			rtmSend(t, c, tt.frame)
			f := readFrame(t, c, rtmWait)
			e, _ := f["error"].(map[string]any)
			if f["ok"] != false || f["reply_to"] != float64(id) || e == nil || e["code"] != tt.code || e["msg"] == "" {
				t.Fatalf("reply = %v, want error code %v", f, tt.code)
			}
		})
	}
	// A text of exactly 4000 characters is fine.
	rtmSend(t, c, map[string]any{"id": 200, "type": "message", "channel": "general", "text": strings.Repeat("é", 4000)})
	if f := readUntil(t, c, "reply", replyTo(200)); f["ok"] != true {
		t.Fatalf("reply = %v", f)
	}
	if n := len(srv.History(ws.Channels[0].ID)); n != 1 {
		t.Fatalf("history has %d messages, want 1", n)
	}
}

func TestRTMErrorCodesOption(t *testing.T) {
	t.Parallel()
	codes := fakeslack.RTMErrorCodes{NoChannel: 13, ChannelNotFound: 14, TooLong: 15, BadType: 16, Archived: 17, BadFrame: 18}
	srv := start(t, fakeslack.Options{ChannelsPerWorkspace: 3, RTM: fakeslack.RTMOptions{WriteBurst: 100, ErrorCodes: codes}})
	ws := srv.Workspaces()[0]
	srv.SetChannelArchived(ws.Channels[2].ID, true)
	c := rtmDial(t, srv, ws.ClassicBotToken)
	for i, tt := range []struct {
		frame string
		code  float64
	}{
		{`{"type":"message","text":"x"}`, 13},
		{`{"type":"message","channel":"C0NOPE","text":"x"}`, 14},
		{`{"type":"message","channel":"general","text":"` + strings.Repeat("x", 4001) + `"}`, 15},
		{`{"type":"frobnicate"}`, 16},
		{`{"type":"message","channel":"` + ws.Channels[2].ID + `","text":"x"}`, 17},
		{`{"type":"message","text":`, 18},
		{`{"type":"message","channel":"general"}`, 2}, // documented: not configurable
	} {
		rtmSend(t, c, fmt.Sprintf(`{"id":%d,%s`, 300+i, tt.frame[1:]))
		f := readFrame(t, c, rtmWait)
		if e, _ := f["error"].(map[string]any); f["reply_to"] != float64(300+i) || e == nil || e["code"] != tt.code {
			t.Errorf("%s: reply %v, want code %v", tt.frame, f, tt.code)
		}
	}
	if d := fakeslack.DefaultRTMErrorCodes(); d.NoChannel != 3 || d.BadFrame != 8 {
		t.Errorf("DefaultRTMErrorCodes() = %+v", d)
	}
}

func TestRTMBadFramesIgnored(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	c := rtmDial(t, srv, ws.ClassicBotToken)
	rtmSend(t, c, `{"type":"message",`)                                           // malformed
	rtmSend(t, c, `[1,2,3]`)                                                      // not an object
	rtmSend(t, c, `{"type":"message","channel":"general","text":"no id"}`)        // no id: nothing to answer
	rtmSend(t, c, `{"type":"whatever"}`)                                          // unknown, no id
	rtmSend(t, c, `{"id":"abc","type":"message","channel":"general","text":"x"}`) // id not a number
	if err := c.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	wantQuiet(t, c, 9)
	// Broken JSON whose id can still be read gets an error reply.
	rtmSend(t, c, `{"id":42,"type":"message","text":`)
	f := readFrame(t, c, rtmWait)
	if e, _ := f["error"].(map[string]any); f["ok"] != false || f["reply_to"] != float64(42) || e == nil || e["code"] != float64(8) {
		t.Fatalf("reply = %v", f)
	}
	if n := len(srv.History(ws.Channels[0].ID)); n != 0 {
		t.Fatalf("history has %d messages, want 0", n)
	}
}

func TestRTMPing(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	c := rtmDial(t, srv, srv.Workspaces()[0].ClassicBotToken)
	rtmSend(t, c, `{"id":7,"type":"ping","time":1403299273342,"timestamp":1403299273,"s":"x","b":true,"n":null,"obj":{"a":1},"arr":[1]}`)
	f := readFrame(t, c, rtmWait)
	want := map[string]any{"type": "pong", "reply_to": float64(7), "time": float64(1403299273342),
		"timestamp": float64(1403299273), "s": "x", "b": true, "n": nil}
	if len(f) != len(want) {
		t.Fatalf("pong = %v, want %v", f, want)
	}
	for k, v := range want {
		if got, ok := f[k]; !ok || got != v {
			t.Errorf("pong[%s] = %v, want %v", k, got, v)
		}
	}
	if _, ok := f["ok"]; ok {
		t.Errorf("pong has ok: %v", f)
	}
}

func TestRTMURLSingleUseAndExpiry(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{RTM: fakeslack.RTMOptions{URLTTL: 50 * time.Millisecond}})
	ws := srv.Workspaces()[0]
	expired := func(t *testing.T, u string) {
		c := dial(t, u)
		f := readFrame(t, c, rtmWait)
		e, _ := f["error"].(map[string]any)
		if f["type"] != "error" || e == nil || e["code"] != float64(1) || e["msg"] != "Socket URL has expired" {
			t.Fatalf("frame = %v", f)
		}
		wantClose(t, c, websocket.CloseNormalClosure)
	}
	t.Run("reuse", func(t *testing.T) {
		u := rtmURL(t, srv, ws.ClassicBotToken)
		c := dial(t, u)
		if f := readFrame(t, c, rtmWait); f["type"] != "hello" {
			t.Fatalf("first frame = %v", f)
		}
		expired(t, u)
	})
	t.Run("expiry", func(t *testing.T) {
		u := rtmURL(t, srv, ws.ClassicBotToken)
		<-time.After(100 * time.Millisecond) // let the 50 ms URL lifetime pass: the clock is the subject here
		expired(t, u)
	})
	t.Run("unknown ticket", func(t *testing.T) {
		expired(t, strings.Replace(srv.URL(), "http", "ws", 1)+"/websocket/0123456789")
	})
}

func TestRTMTypingAndPresence(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws, other := srv.Workspaces()[0], srv.Workspaces()[1]
	a := rtmDial(t, srv, ws.ClassicBotToken)
	b := rtmDial(t, srv, ws.UserToken)
	x := rtmDial(t, srv, other.ClassicBotToken)

	rtmSend(t, a, map[string]any{"id": 1, "type": "typing", "channel": ws.Channels[1].ID})
	f := readFrame(t, b, rtmWait)
	if f["type"] != "user_typing" || f["channel"] != ws.Channels[1].ID || f["user"] != ws.BotUserID {
		t.Fatalf("b got %v, want user_typing", f)
	}
	wantQuiet(t, a, 2) // no reply to typing, no echo to the typist
	wantQuiet(t, x, 3) // nothing in another workspace

	rtmSend(t, b, map[string]any{"type": "presence_sub", "ids": []string{ws.Users[1].ID, "U0NOBODY"}})
	f = readFrame(t, b, rtmWait)
	if f["type"] != "presence_change" || f["user"] != ws.Users[1].ID || f["presence"] == "" {
		t.Fatalf("presence_sub answer = %v", f)
	}
	// The whole list again plus one: only the new user gets a presence_change.
	rtmSend(t, b, map[string]any{"type": "presence_sub", "ids": []string{ws.Users[1].ID, ws.Users[2].ID}})
	if f = readFrame(t, b, rtmWait); f["user"] != ws.Users[2].ID {
		t.Fatalf("presence_sub answer = %v", f)
	}
	rtmSend(t, b, map[string]any{"type": "presence_query", "ids": []string{ws.Users[1].ID}})
	if f = readFrame(t, b, rtmWait); f["type"] != "presence_change" || f["user"] != ws.Users[1].ID {
		t.Fatalf("presence_query answer = %v", f)
	}
	wantQuiet(t, b, 4)
}

func TestRTMBatchPresence(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	r := apiForm(t, srv, "rtm.connect", ws.ClassicBotToken, url.Values{"batch_presence_aware": {"1"}})
	wantOK(t, r)
	c := dial(t, r.Body["url"].(string))
	readFrame(t, c, rtmWait) // hello
	rtmSend(t, c, map[string]any{"type": "presence_query", "ids": []string{ws.Users[0].ID, ws.Users[1].ID}})
	f := readFrame(t, c, rtmWait)
	if users, _ := f["users"].([]any); f["type"] != "presence_change" || len(users) != 2 {
		t.Fatalf("batched presence_change = %v", f)
	}
}

func TestRTMSlowDown(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{RTM: fakeslack.RTMOptions{WriteBurst: 2, WriteRefill: time.Hour, MaxViolations: 3}})
	ws := srv.Workspaces()[0]
	c := rtmDial(t, srv, ws.ClassicBotToken)
	for id := 1; id <= 2; id++ {
		rtmSend(t, c, map[string]any{"id": id, "type": "message", "channel": "general", "text": "ok"})
		if f := readUntil(t, c, "reply", replyTo(id)); f["ok"] != true {
			t.Fatalf("reply %d = %v", id, f)
		}
	}
	// Pings are not writes: they are still answered.
	rtmSend(t, c, map[string]any{"id": 50, "type": "ping"})
	readUntil(t, c, "pong", replyTo(50))
	for id := 3; id <= 5; id++ {
		frame := map[string]any{"id": id, "type": "message", "channel": "general", "text": "too fast"}
		if id == 4 {
			frame = map[string]any{"id": id, "type": "typing", "channel": "general"}
		}
		rtmSend(t, c, frame)
		f := readUntil(t, c, "reply", replyTo(id))
		data, _ := json.Marshal(f)
		if want := fmt.Sprintf(`{"error":{"code":-1,"msg":"slow down, too many messages..."},"ok":false,"reply_to":%d}`, id); string(data) != want {
			t.Fatalf("reply = %s, want %s", data, want)
		}
	}
	wantClose(t, c, websocket.ClosePolicyViolation)
	if n := len(srv.History(ws.Channels[0].ID)); n != 2 {
		t.Fatalf("history has %d messages, want 2", n)
	}
}

func TestRTMSlowDownPerChannel(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{RTM: fakeslack.RTMOptions{WriteBurst: 1, WriteRefill: time.Hour, WritePerChannel: true}})
	ws := srv.Workspaces()[0]
	c := rtmDial(t, srv, ws.ClassicBotToken)
	for id, tt := range []struct {
		channel string
		ok      bool
	}{{ws.Channels[0].ID, true}, {ws.Channels[1].ID, true}, {ws.Channels[0].ID, false}} {
		rtmSend(t, c, map[string]any{"id": id + 1, "type": "message", "channel": tt.channel, "text": "x"})
		if f := readUntil(t, c, "reply", replyTo(id+1)); f["ok"] != tt.ok {
			t.Fatalf("write %d to %s = %v, want ok %v", id+1, tt.channel, f, tt.ok)
		}
	}
}

func TestRTMSlowDownRecovers(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{RTM: fakeslack.RTMOptions{WriteBurst: 1, WriteRefill: 20 * time.Millisecond, MaxViolations: 2}})
	c := rtmDial(t, srv, srv.Workspaces()[0].ClassicBotToken)
	rtmSend(t, c, map[string]any{"id": 1, "type": "message", "channel": "general", "text": "a"})
	rtmSend(t, c, map[string]any{"id": 2, "type": "message", "channel": "general", "text": "b"})
	if f := readUntil(t, c, "reply", replyTo(2)); f["ok"] != false {
		t.Fatalf("second write = %v, want slow down", f)
	}
	// After the refill, writes pass again and the violation count starts over.
	var f map[string]any
	for id := 3; f == nil || f["ok"] != true; id++ {
		if id > 1000 {
			t.Fatal("writes never allowed again")
		}
		<-time.After(25 * time.Millisecond) // pace writes under the refill rate: the clock is the subject here
		rtmSend(t, c, map[string]any{"id": id, "type": "message", "channel": "general", "text": "c"})
		f = readUntil(t, c, "reply", replyTo(id))
	}
}

func TestRTMFrameTooLarge(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	c := rtmDial(t, srv, srv.Workspaces()[0].ClassicBotToken)
	rtmSend(t, c, map[string]any{"id": 1, "type": "message", "channel": "general", "text": strings.Repeat("x", 16400)})
	wantClose(t, c, websocket.CloseMessageTooBig)
}

func TestRTMGoodbyeAfterLifetime(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{RTM: fakeslack.RTMOptions{Lifetime: 100 * time.Millisecond}})
	c := rtmDial(t, srv, srv.Workspaces()[0].ClassicBotToken)
	if f := readFrame(t, c, rtmWait); f["type"] != "goodbye" {
		t.Fatalf("frame = %v, want goodbye", f)
	}
	wantClose(t, c, websocket.CloseNormalClosure)
}

func TestRTMFaults(t *testing.T) {
	t.Parallel()
	t.Run("drop abrupt", func(t *testing.T) {
		t.Parallel()
		srv := start(t, fakeslack.Options{})
		ws := srv.Workspaces()[0]
		c := rtmDial(t, srv, ws.ClassicBotToken)
		if err := srv.DropConnection(onlyConn(t, srv, ws.TeamID), false); err != nil {
			t.Fatal(err)
		}
		wantClose(t, c, websocket.CloseAbnormalClosure)
	})
	t.Run("drop clean", func(t *testing.T) {
		t.Parallel()
		srv := start(t, fakeslack.Options{})
		ws := srv.Workspaces()[0]
		c := rtmDial(t, srv, ws.ClassicBotToken)
		if err := srv.DropConnection(onlyConn(t, srv, ws.TeamID), true); err != nil {
			t.Fatal(err)
		}
		wantClose(t, c, websocket.CloseNormalClosure)
	})
	t.Run("silence", func(t *testing.T) {
		t.Parallel()
		srv := start(t, fakeslack.Options{})
		ws := srv.Workspaces()[0]
		c := rtmDial(t, srv, ws.ClassicBotToken)
		if err := srv.SilenceConnection(onlyConn(t, srv, ws.TeamID)); err != nil {
			t.Fatal(err)
		}
		rtmSend(t, c, map[string]any{"id": 1, "type": "ping"})
		rtmSend(t, c, map[string]any{"id": 2, "type": "message", "channel": "general", "text": "x"})
		if _, err := srv.InjectRTMEvent(ws.TeamID, map[string]any{"type": "pref_change"}); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if _, data, err := c.ReadMessage(); err == nil {
			t.Fatalf("silent socket sent %s", data)
		}
	})
	t.Run("stop answering pings", func(t *testing.T) {
		t.Parallel()
		srv := start(t, fakeslack.Options{})
		ws := srv.Workspaces()[0]
		c := rtmDial(t, srv, ws.ClassicBotToken)
		if err := srv.StopAnsweringPings(onlyConn(t, srv, ws.TeamID)); err != nil {
			t.Fatal(err)
		}
		rtmSend(t, c, map[string]any{"id": 1, "type": "ping"})
		if _, err := srv.InjectRTMEvent(ws.TeamID, map[string]any{"type": "pref_change", "name": "marker"}); err != nil {
			t.Fatal(err)
		}
		// The injected event comes first and alone: the ping got no pong.
		if f := readFrame(t, c, rtmWait); f["type"] != "pref_change" {
			t.Fatalf("frame = %v, want the injected event", f)
		}
		rtmSend(t, c, map[string]any{"id": 2, "type": "message", "channel": "general", "text": "still works"})
		if f := readFrame(t, c, rtmWait); f["reply_to"] != float64(2) || f["ok"] != true {
			t.Fatalf("frame = %v, want the reply to 2", f)
		}
	})
	t.Run("revoke token", func(t *testing.T) {
		t.Parallel()
		srv := start(t, fakeslack.Options{})
		ws := srv.Workspaces()[0]
		c := rtmDial(t, srv, ws.ClassicBotToken)
		srv.RevokeToken(ws.ClassicBotToken)
		wantClose(t, c, websocket.CloseAbnormalClosure)
		wantError(t, apiForm(t, srv, "rtm.connect", "", url.Values{"token": {ws.ClassicBotToken}}), 200, "token_revoked")
	})
	t.Run("revoke between connect and dial", func(t *testing.T) {
		t.Parallel()
		srv := start(t, fakeslack.Options{})
		ws := srv.Workspaces()[0]
		u := rtmURL(t, srv, ws.ClassicBotToken)
		srv.RevokeToken(ws.ClassicBotToken)
		if c, resp, err := websocket.DefaultDialer.Dial(u, nil); err == nil {
			_ = c.Close()
			t.Fatal("dial with a revoked token succeeded")
		} else if resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("dial: %v", err)
		} else {
			_ = resp.Body.Close()
		}
	})
	t.Run("deactivate token", func(t *testing.T) {
		t.Parallel()
		srv := start(t, fakeslack.Options{})
		ws := srv.Workspaces()[0]
		c := rtmDial(t, srv, ws.UserToken)
		srv.DeactivateToken(ws.UserToken)
		wantClose(t, c, websocket.CloseAbnormalClosure)
		wantError(t, apiForm(t, srv, "rtm.connect", ws.UserToken, nil), 200, "account_inactive")
	})
}

func TestRTMInjection(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	a := rtmDial(t, srv, ws.ClassicBotToken)
	b := rtmDial(t, srv, ws.UserToken)

	n, err := srv.InjectRTMEvent(ws.TeamID, json.RawMessage(`{"type":"reaction_added","user":"U1","reaction":"tada","item":{"type":"message","channel":"C1","ts":"1.2"}}`))
	if err != nil || n != 2 {
		t.Fatalf("InjectRTMEvent = %d, %v", n, err)
	}
	for _, c := range []*websocket.Conn{a, b} {
		if f := readFrame(t, c, rtmWait); f["type"] != "reaction_added" || f["reaction"] != "tada" {
			t.Fatalf("frame = %v", f)
		}
	}
	if _, err := srv.InjectRTMEvent("T0NOPE", map[string]any{"type": "x"}); !errors.Is(err, fakeslack.ErrNoWorkspace) {
		t.Errorf("unknown team: %v", err)
	}
	if _, err := srv.InjectRTMEvent(ws.TeamID, []int{1}); !errors.Is(err, fakeslack.ErrNotObject) {
		t.Errorf("array event: %v", err)
	}

	ts, err := srv.InjectRTMMessage(ws.TeamID, fakeslack.RTMMessage{Channel: "general", User: ws.Users[1].ID, Text: "hi bot"})
	if err != nil {
		t.Fatal(err)
	}
	f := readFrame(t, a, rtmWait)
	if f["type"] != "message" || f["ts"] != ts || f["user"] != ws.Users[1].ID || f["text"] != "hi bot" || f["channel"] != ws.Channels[0].ID || f["team"] != ws.TeamID {
		t.Fatalf("message = %v", f)
	}
	if _, ok := f["thread_ts"]; ok {
		t.Errorf("top-level message has thread_ts: %v", f)
	}
	ts2, err := srv.InjectRTMMessage(ws.TeamID, fakeslack.RTMMessage{Channel: ws.Channels[0].ID, Text: "reply", ThreadTS: ts})
	if err != nil {
		t.Fatal(err)
	}
	if f := readFrame(t, a, rtmWait); f["thread_ts"] != ts || f["ts"] != ts2 || f["user"] != ws.Users[0].ID {
		t.Fatalf("thread message = %v", f)
	}
	if h := srv.History(ws.Channels[0].ID); len(h) != 2 || h[0].Via != "injected" || h[1].ThreadTS != ts {
		t.Fatalf("history = %+v", h)
	}
	if _, err := srv.InjectRTMMessage(ws.TeamID, fakeslack.RTMMessage{Channel: "nope", Text: "x"}); !errors.Is(err, fakeslack.ErrNoChannel) {
		t.Errorf("unknown channel: %v", err)
	}

	// A stream arrives whole and in order.
	const count = 500
	sent, err := srv.InjectRTMStream(ws.TeamID, fakeslack.RTMMessage{Channel: "general", Text: "burst-"}, count)
	if err != nil || sent != 2*count {
		t.Fatalf("InjectRTMStream = %d, %v", sent, err)
	}
	for _, c := range []*websocket.Conn{a, b} {
		for i := 1; i <= count; i++ {
			if f := readUntil(t, c, "stream message", func(f map[string]any) bool {
				return f["type"] == "message" && strings.HasPrefix(f["text"].(string), "burst-")
			}); f["text"] != fmt.Sprintf("burst-%d", i) {
				t.Fatalf("stream message %d = %v", i, f)
			}
		}
	}
}

func TestRTMGoodbyeAndReconnectURL(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	a := rtmDial(t, srv, ws.ClassicBotToken)

	if n, err := srv.SendRTMReconnectURL(ws.TeamID); err != nil || n != 1 {
		t.Fatalf("SendRTMReconnectURL = %d, %v", n, err)
	}
	f := readFrame(t, a, rtmWait)
	u, _ := f["url"].(string)
	if f["type"] != "reconnect_url" || !strings.Contains(u, "/websocket/") {
		t.Fatalf("frame = %v", f)
	}
	b := dial(t, u) // the URL works, once
	if f := readFrame(t, b, rtmWait); f["type"] != "hello" {
		t.Fatalf("reconnect_url socket said %v", f)
	}
	var conns []fakeslack.ConnInfo
	waitFor(t, rtmWait, "two connections", func() bool { conns = srv.Connections(ws.TeamID); return len(conns) == 2 })

	if _, err := srv.SendRTMGoodbye(ws.TeamID, "rtm-nope"); !errors.Is(err, fakeslack.ErrNoConnection) {
		t.Errorf("unknown connection: %v", err)
	}
	if _, err := srv.SendRTMGoodbye("T0NOPE", ""); !errors.Is(err, fakeslack.ErrNoWorkspace) {
		t.Errorf("unknown team: %v", err)
	}
	n, err := srv.SendRTMGoodbye(ws.TeamID, "")
	if err != nil || n != 2 {
		t.Fatalf("SendRTMGoodbye = %d, %v", n, err)
	}
	for _, c := range []*websocket.Conn{a, b} {
		if f := readFrame(t, c, rtmWait); f["type"] != "goodbye" {
			t.Fatalf("frame = %v, want goodbye", f)
		}
		wantClose(t, c, websocket.CloseNormalClosure)
	}
}

// adminPost posts a JSON body to an admin path and returns the status and decoded answer.
func adminPost(t testing.TB, srv *fakeslack.Server, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.AdminURL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	r := apiDo(t, req)
	return r.Status, r.Body
}

func TestRTMAdminRoutes(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	c := rtmDial(t, srv, ws.ClassicBotToken)
	team := "teams/" + ws.TeamID + "/rtm/"

	status, body := adminPost(t, srv, team+"events", `{"type":"channel_marked","channel":"C1","ts":"1.0"}`)
	if status != 200 || body["ok"] != true || body["sent"] != float64(1) {
		t.Fatalf("events: %d %v", status, body)
	}
	if f := readFrame(t, c, rtmWait); f["type"] != "channel_marked" {
		t.Fatalf("frame = %v", f)
	}

	status, body = adminPost(t, srv, team+"messages", `{"channel":"general","user":"`+ws.Users[2].ID+`","text":"over http"}`)
	if status != 200 || body["ts"] == "" {
		t.Fatalf("messages: %d %v", status, body)
	}
	if f := readFrame(t, c, rtmWait); f["text"] != "over http" || f["ts"] != body["ts"] || f["user"] != ws.Users[2].ID {
		t.Fatalf("frame = %v", f)
	}

	status, body = adminPost(t, srv, team+"stream", `{"channel":"general","text":"s","count":3}`)
	if status != 200 || body["sent"] != float64(3) {
		t.Fatalf("stream: %d %v", status, body)
	}
	for i := 1; i <= 3; i++ {
		if f := readFrame(t, c, rtmWait); f["text"] != fmt.Sprintf("s%d", i) {
			t.Fatalf("stream frame %d = %v", i, f)
		}
	}

	status, body = adminPost(t, srv, team+"reconnect-url", ``)
	if status != 200 || body["sent"] != float64(1) {
		t.Fatalf("reconnect-url: %d %v", status, body)
	}
	if f := readFrame(t, c, rtmWait); f["type"] != "reconnect_url" {
		t.Fatalf("frame = %v", f)
	}

	for _, tt := range []struct {
		path, body string
		status     int
	}{
		{team + "events", `[1]`, 400},
		{team + "events", `{"type":`, 400},
		{team + "events", ``, 400},
		{"teams/T0NOPE/rtm/events", `{"type":"x"}`, 404},
		{team + "messages", `{"text":"no channel"}`, 400},
		{team + "messages", `{"channel":"nope","text":"x"}`, 404},
		{"teams/T0NOPE/rtm/messages", `{"channel":"general","text":"x"}`, 404},
		{team + "stream", `{"channel":"general","text":"x","count":0}`, 400},
		{team + "stream", `{"channel":"nope","text":"x","count":2}`, 404},
		{team + "goodbye", `{"conn":"rtm-nope"}`, 404},
		{team + "goodbye", `{"conn":`, 400},
		{"teams/T0NOPE/rtm/goodbye", ``, 404},
		{"teams/T0NOPE/rtm/reconnect-url", ``, 404},
	} {
		status, body := adminPost(t, srv, tt.path, tt.body)
		if status != tt.status || body["ok"] != false || body["error"] == "" {
			t.Errorf("POST %s %s: %d %v, want %d", tt.path, tt.body, status, body, tt.status)
		}
	}

	status, body = adminPost(t, srv, team+"goodbye", `{"conn":"`+onlyConn(t, srv, ws.TeamID)+`"}`)
	if status != 200 || body["sent"] != float64(1) {
		t.Fatalf("goodbye: %d %v", status, body)
	}
	if f := readFrame(t, c, rtmWait); f["type"] != "goodbye" {
		t.Fatalf("frame = %v", f)
	}
	wantClose(t, c, websocket.CloseNormalClosure)
}

// BenchmarkRTMInjectStream measures how fast an injected stream reaches one raw gorilla client.
func BenchmarkRTMInjectStream(b *testing.B) {
	srv := start(b, fakeslack.Options{TranscriptSize: -1})
	ws := srv.Workspaces()[0]
	c := rtmDial(b, srv, ws.ClassicBotToken)
	done := make(chan error, 1)
	n := b.N
	b.ResetTimer()
	go func() { // owner: the benchmark; ends after n frames or a read error; waited below.
		for i := 0; i < n; i++ {
			if _, _, err := c.ReadMessage(); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	if _, err := srv.InjectRTMStream(ws.TeamID, fakeslack.RTMMessage{Channel: "general", Text: "bench-"}, n); err != nil {
		b.Fatal(err)
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}
