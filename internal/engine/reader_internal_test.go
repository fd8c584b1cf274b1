package engine

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gorilla/websocket"
	"github.com/sirupsen/logrus"
)

// TestReaderStaysReadAheadOfItsConnection: a Slack side writes 100 envelopes at once to a socket
// whose connection takes none of them. The reader hands the connection readAhead of them and
// leaves the rest in the socket, paused (so the pingers do not call the link stale); once the
// connection has taken half, it reads and hands on that many more, and it ends when the session
// does, though it was waiting.
func TestReaderStaysReadAheadOfItsConnection(t *testing.T) {
	const sent = 100
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		for i := range sent {
			frame := fmt.Sprintf(`{"envelope_id":"e%d","type":"events_api","accepts_response_payload":false,"payload":{"type":"event_callback","team_id":"T1","event_id":"Ev%d","event":{"type":"message","channel":"C1","text":"hi"}}}`, i, i)
			if ws.WriteMessage(websocket.TextMessage, []byte(frame)) != nil {
				return
			}
		}
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}))
	defer srv.Close()

	sys := NewActorSystem(quietLogs)
	defer sys.Shutdown()
	got := make(chan *envelope, sent)
	parent := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if e, ok := ctx.Message().(*envelope); ok {
			got <- e // never taken: the test plays the connection
		}
	}))
	defer sys.Root.Stop(parent)

	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	sess := newSession(context.Background(), 1)
	if !sess.attach(ws) {
		t.Fatal("session closed")
	}
	var wg sync.WaitGroup
	log := logrus.New()
	log.SetLevel(logrus.PanicLevel)
	env := &Env{System: sys, Log: logrus.NewEntry(log), Ctx: context.Background(), WG: &wg, Stats: &Stats{}, Flow: NewFlow()}
	sys.Root.Spawn(readerProps(env, sess, parent, decodeSocketMode(sess.gen), env.Log))

	handed := 0
	await := func(n int) {
		t.Helper()
		for ; handed < n; handed++ {
			select {
			case e := <-got:
				if want := fmt.Sprintf("e%d", handed); e.ev.EnvelopeID != want {
					t.Fatalf("envelope %s handed on in place of %s", e.ev.EnvelopeID, want)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%d envelopes handed on, want %d", handed, n)
			}
		}
		// Held back: the reader waits for the connection, having handed on no more.
		for deadline := time.Now().Add(10 * time.Second); !sess.paused.Load(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("reader not paused after %d envelopes handed on (%d more waiting)", handed, len(got))
			}
		}
		if extra := len(got); extra != 0 || sess.ahead.Load() != readAhead {
			t.Fatalf("%d more envelopes handed on, %d counted ahead; want none past %d", extra, sess.ahead.Load(), readAhead)
		}
	}
	await(readAhead)
	for range readAhead / 2 {
		sess.taken()
	}
	await(readAhead + readAhead/2)

	sess.close()
	wg.Wait() // the waiting reader ends with its session
}
