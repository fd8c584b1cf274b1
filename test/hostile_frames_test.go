package test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	switchboard "github.com/switchboard-go/switchboard"
)

// frameServer is a Socket Mode server that writes the frames a test gives it, byte for byte, after
// hello, and hands back every frame the client writes.
type frameServer struct {
	srv    *httptest.Server
	frames [][]byte
	gen    func(i int) []byte // after frames: gen(0), gen(1), … until it returns nil
	got    chan []byte
}

func newFrameServer(t testing.TB, frames ...[]byte) *frameServer {
	t.Helper()
	return newGenServer(t, nil, frames...)
}

// newGenServer is newFrameServer whose socket goes on with the frames gen makes.
func newGenServer(t testing.TB, gen func(int) []byte, frames ...[]byte) *frameServer {
	t.Helper()
	fs := &frameServer{frames: frames, gen: gen, got: make(chan []byte, 64)}
	up := websocket.Upgrader{}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/apps.connections.open", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true,"url":"ws://` + r.Host + `/link"}`))
	})
	mux.HandleFunc("/link", func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello","num_connections":1}`))
		for _, f := range fs.frames {
			_ = ws.WriteMessage(websocket.TextMessage, f)
		}
		if fs.gen != nil {
			go func() { // owner: this handler's socket; ends with the last frame or a failed write.
				for i := 0; ; i++ {
					f := fs.gen(i)
					if f == nil || ws.WriteMessage(websocket.TextMessage, f) != nil {
						return
					}
				}
			}()
		}
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			select {
			case fs.got <- data:
			default:
			}
		}
	})
	fs.srv = httptest.NewServer(mux)
	t.Cleanup(fs.srv.Close)
	return fs
}

func eventEnvelope(envelopeIDToken, eventID string) []byte {
	return []byte(`{"type":"events_api","envelope_id":` + envelopeIDToken + `,"accepts_response_payload":false,` +
		`"payload":{"type":"event_callback","team_id":"T1","event_id":"` + eventID + `",` +
		`"event":{"type":"message","channel":"C1","user":"U1","text":"hi","ts":"1.000001"}}}`)
}

// TestAckEchoesEnvelopeIDExactly: an envelope_id that is not valid UTF-8 is acked with the very
// bytes received, so the server can match it; escapes are echoed as sent too.
func TestAckEchoesEnvelopeIDExactly(t *testing.T) {
	t.Parallel()
	bad := []byte("\"bad-\xff-id\"")
	escaped := []byte(`"esc-\u00e9-\"q\""`)
	fs := newFrameServer(t, eventEnvelope(string(bad), "Ev1"), eventEnvelope(string(escaped), "Ev2"))
	rt, err := switchboard.New(switchboard.WithAPIURL(fs.srv.URL + "/api/"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopRuntime(t, rt) })
	var handled atomic.Int32
	if err := rt.Handle(messageEvents, func(context.Context, *switchboard.Event) error { handled.Add(1); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := rt.AddApp(context.Background(), switchboard.App{ID: "A1", Token: "xapp-1-A1-1-s"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range [][]byte{bad, escaped} {
		select {
		case ack := <-fs.got:
			if wantAck := append(append([]byte(`{"envelope_id":`), want...), '}'); !bytes.Equal(ack, wantAck) {
				t.Errorf("ack %q, want %q", ack, wantAck)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no ack for %q", want)
		}
	}
	waitFor(t, 5*time.Second, "both events handled", func() bool { return handled.Load() == 2 })
}

// TestOverlongIDsAreMalformed: an event_id or envelope_id longer than Slack's could ever be is a
// malformed frame: counted, skipped, never remembered by dedupe; the next good frame goes on.
func TestOverlongIDsAreMalformed(t *testing.T) {
	t.Parallel()
	fs := newFrameServer(t,
		eventEnvelope(`"e1"`, strings.Repeat("E", 1<<20)),
		eventEnvelope(`"`+strings.Repeat("x", 1<<16)+`"`, "Ev2"),
		eventEnvelope(`"e3"`, "Ev3"))
	rt, err := switchboard.New(switchboard.WithAPIURL(fs.srv.URL + "/api/"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopRuntime(t, rt) })
	var handled atomic.Int32
	if err := rt.Handle(messageEvents, func(context.Context, *switchboard.Event) error { handled.Add(1); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := rt.AddApp(context.Background(), switchboard.App{ID: "A1", Token: "xapp-1-A1-1-s"}); err != nil {
		t.Fatal(err)
	}
	select {
	case ack := <-fs.got:
		if string(ack) != `{"envelope_id":"e3"}` {
			t.Errorf("first ack %q, want the good envelope's", ack)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the good envelope after two malformed ones was not acked")
	}
	waitFor(t, 5*time.Second, "the good event handled", func() bool { return handled.Load() == 1 })
	if st := rt.Stats(); st.Malformed != 2 {
		t.Errorf("malformed %d, want 2", st.Malformed)
	}
}

func stopRuntime(t *testing.T, rt *switchboard.Runtime) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rt.Stop(ctx); err != nil {
		t.Errorf("Stop: %v", err)
	}
}

// TestRemovedAppForgetsItsEventIDs: RemoveApp frees the app's dedupe memory, so an app added again
// under the same ID starts with none (the same event ID is delivered again, not dropped).
func TestRemovedAppForgetsItsEventIDs(t *testing.T) {
	t.Parallel()
	fs := newFrameServer(t, eventEnvelope(`"e1"`, "Ev1"))
	rt, err := switchboard.New(switchboard.WithAPIURL(fs.srv.URL + "/api/"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopRuntime(t, rt) })
	var handled atomic.Int32
	if err := rt.Handle(messageEvents, func(context.Context, *switchboard.Event) error { handled.Add(1); return nil }); err != nil {
		t.Fatal(err)
	}
	app := switchboard.App{ID: "A1", Token: "xapp-1-A1-1-s"}
	if err := rt.AddApp(context.Background(), app); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the event handled", func() bool { return handled.Load() == 1 })
	if err := rt.RemoveApp(context.Background(), app.ID); err != nil {
		t.Fatal(err)
	}
	if err := rt.AddApp(context.Background(), app); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the same event ID handled again by the re-added app", func() bool { return handled.Load() == 2 })
	if d := rt.Stats().Duplicates; d != 0 {
		t.Errorf("%d duplicates: the removed app's event IDs were remembered", d)
	}
}
