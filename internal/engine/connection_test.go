package engine

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gorilla/websocket"
	"github.com/sirupsen/logrus"

	"github.com/switchboard-go/switchboard/messages"
	"github.com/switchboard-go/switchboard/supervisor"
)

// silentSlack is a Socket Mode server whose sockets never say hello.
func silentSlack(t *testing.T) *httptest.Server {
	t.Helper()
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
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestHelloTimeoutOnAFakeClock: the hello timeout and the backoff that follows run on the
// runtime's clock: the test moves it past them and waits for the lifecycle events, never sleeps.
func TestHelloTimeoutOnAFakeClock(t *testing.T) {
	srv := silentSlack(t)
	clock := newFakeClock()
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
	ctx, cancel := context.WithCancel(context.Background())
	log := logrus.New()
	log.SetOutput(io.Discard)
	env := &Env{System: system, Log: logrus.NewEntry(log), Ctx: ctx, WG: &sync.WaitGroup{}, HTTP: srv.Client(),
		APIURL: srv.URL + "/api/", Dialer: &websocket.Dialer{HandshakeTimeout: 5 * time.Second}, Stats: &Stats{},
		Flow: NewFlow(), Clock: clock}
	events := make(chan messages.Lifecycle, 16)
	env.Dispatcher = system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if ev, ok := c.Message().(messages.Lifecycle); ok {
			events <- ev
		}
	}))
	sup := system.Root.Spawn(SupervisorProps(env, supervisor.Policy{Initial: time.Minute, Max: time.Minute}))
	t.Cleanup(func() {
		_ = system.Root.StopFuture(sup).Wait()
		cancel()
		env.WG.Wait()
		system.Shutdown()
	})
	await := func(what string, match func(messages.Lifecycle) bool) messages.Lifecycle {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case ev := <-events:
				if match(ev) {
					return ev
				}
			case <-deadline:
				t.Fatalf("no %s", what)
			}
		}
	}
	link := messages.Link{Transport: "socket_mode", App: "A1", Name: "A1/1"}
	reply := NewReply()
	system.Root.Send(sup, AddLink{Spec: SocketModeSpec{Link: link, AppToken: "xapp-1-A1-1-s", PingInterval: 10 * time.Second,
		StaleAfter: time.Hour, HelloTimeout: 10 * time.Second}, State: NewLinkState(link), Reply: reply})
	if err := <-reply; err != nil {
		t.Fatal(err)
	}
	await("connecting", func(ev messages.Lifecycle) bool { _, ok := ev.(messages.Connecting); return ok })
	clock.awaitTimers(t, 2) // the hello timeout and the pinger's tick: the socket is up
	clock.advance(10 * time.Second)
	d := await("disconnected", func(ev messages.Lifecycle) bool { _, ok := ev.(messages.Disconnected); return ok }).(messages.Disconnected)
	if !errors.Is(d.Reason, messages.ErrHelloTimeout) {
		t.Fatalf("session ended with %v, want ErrHelloTimeout", d.Reason)
	}
	r := await("reconnecting", func(ev messages.Lifecycle) bool { _, ok := ev.(messages.Reconnecting); return ok }).(messages.Reconnecting)
	if r.Delay > time.Minute || r.Attempt != 1 {
		t.Fatalf("reconnecting %+v, want attempt 1 within a minute", r)
	}
	clock.awaitTimers(t, 1) // the backoff
	clock.advance(r.Delay)
	c := await("connecting again", func(ev messages.Lifecycle) bool { _, ok := ev.(messages.Connecting); return ok }).(messages.Connecting)
	if c.Session == d.Session || c.Attempt != 1 {
		t.Errorf("connecting %+v after session %d", c, d.Session)
	}
}
