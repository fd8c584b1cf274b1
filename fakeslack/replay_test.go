package fakeslack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboard-go/switchboard/fakeslack"
)

// syncBuffer is a recording target read after the server closed.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// recordSession runs an RTM and a Socket Mode session on a server recording into buf, and returns
// the RTM frames and Socket Mode envelopes its clients received.
func recordSession(t *testing.T, opts fakeslack.Options) (rtmFrames []string, envelopes []map[string]any) {
	t.Helper()
	srv := start(t, opts)
	app, ws := firstApp(srv)
	c := rtmDial(t, srv, ws.ClassicBotToken)
	sm, _ := smConnect(t, srv, app, "")
	for _, text := range []string{"one", "two", "three"} {
		if _, err := srv.InjectRTMMessage(ws.TeamID, fakeslack.RTMMessage{Channel: "general", Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := srv.InjectRTMEvent(ws.TeamID, map[string]any{"type": "reaction_added", "reaction": "tada"}); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		_, data := readRaw(t, c)
		rtmFrames = append(rtmFrames, string(data))
	}
	rtmSend(t, c, map[string]any{"id": 1, "type": "ping"}) // answered live, not replayed
	readUntil(t, c, "pong", func(f map[string]any) bool { return f["type"] == "pong" })

	if _, err := srv.InjectEvent(app.AppID, ws.TeamID, json.RawMessage(`{"type":"app_mention","text":"hi"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.InjectSlashCommand(app.AppID, fakeslack.SlashCommand{Team: ws.TeamID, Command: "/x", Text: "y"}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		env := sm.nextEnvelope(smWait)
		envelopes = append(envelopes, env)
		sm.ack(env["envelope_id"].(string), nil)
	}
	waitFor(t, smWait, "2 acks", func() bool { return srv.Stats().Acked == 2 })
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	return rtmFrames, envelopes
}

func readRaw(t *testing.T, c *websocket.Conn) (int, []byte) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(rtmWait))
	mt, data, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return mt, data
}

// TestRecordAndReplay records a session (Options.Record), reads it back (ReadRecording) and
// replays its server side (Replay) to new clients of a fresh server: they get the same frames and
// envelopes, and the envelopes' acks are matched again.
func TestRecordAndReplay(t *testing.T) {
	t.Parallel()
	var rec syncBuffer
	frames, envelopes := recordSession(t, fakeslack.Options{Record: &rec, TranscriptSize: 5})
	entries, err := fakeslack.ReadRecording(bytes.NewReader(rec.b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[fakeslack.Kind]int{}
	for i, e := range entries {
		kinds[e.Kind]++
		if i > 0 && e.Seq != entries[i-1].Seq+1 {
			t.Fatalf("recording skips from %d to %d", entries[i-1].Seq, e.Seq)
		}
	}
	if kinds[fakeslack.KindAPI] < 2 || kinds[fakeslack.KindFrameOut] < 8 || kinds[fakeslack.KindAck] != 2 || kinds[fakeslack.KindConn] < 2 {
		t.Errorf("recording holds %v; it should keep everything, whatever TranscriptSize", kinds)
	}

	srv := start(t, fakeslack.Options{})
	app, ws := firstApp(srv)
	c := rtmDial(t, srv, ws.ClassicBotToken)
	sm, _ := smConnect(t, srv, app, "")
	res, err := srv.Replay(context.Background(), entries, fakeslack.ReplayOptions{Speed: -1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Replayed != 6 || res.Skipped != 0 {
		t.Errorf("replay = %+v, want 6 replayed (4 RTM frames, 2 envelopes)", res)
	}
	for i, want := range frames {
		if _, got := readRaw(t, c); string(got) != want {
			t.Errorf("replayed RTM frame %d = %s, want %s", i, got, want)
		}
	}
	for i, want := range envelopes {
		got := sm.nextEnvelope(smWait)
		if got["envelope_id"] != want["envelope_id"] || got["type"] != want["type"] {
			t.Errorf("replayed envelope %d = %v, want %v", i, got, want)
		}
		wp, _ := json.Marshal(want["payload"])
		gp, _ := json.Marshal(got["payload"])
		if !bytes.Equal(wp, gp) {
			t.Errorf("replayed payload %d = %s, want %s", i, gp, wp)
		}
		sm.ack(got["envelope_id"].(string), nil)
	}
	waitFor(t, smWait, "the replayed envelopes acked", func() bool { return srv.Stats().Acked == 2 })

	// The same through the admin route, with the recording as text and no socket: all skipped.
	other := start(t, fakeslack.Options{})
	body, _ := json.Marshal(map[string]any{"entries": rec.b.String(), "speed": -1, "conn_wait": "20ms"})
	resp, err := http.Post(other.AdminURL()+"replay", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&answer)
	if resp.StatusCode != 200 || answer["replayed"] != float64(0) || answer["skipped"] != float64(6) {
		t.Errorf("POST replay with no socket = %d %v", resp.StatusCode, answer)
	}
	if _, err := fakeslack.ReadRecording(strings.NewReader("{\"seq\":1}\nnot json\n")); err == nil {
		t.Error("ReadRecording accepted a bad line")
	}
}
