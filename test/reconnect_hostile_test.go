package test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sirupsen/logrus"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/messages"
)

// hostile is a purpose-built Slack stand-in that misbehaves in one way per test. Its Web API
// answers apps.connections.open and rtm.connect (with a socket on itself unless open says
// otherwise); its sockets say hello, then do what afterHello says and read until the client goes.
type hostile struct {
	srv   *httptest.Server
	opens atomic.Int64 // apps.connections.open and rtm.connect calls
	// open, when set, answers a socket-opening call itself and reports true.
	open func(w http.ResponseWriter, r *http.Request) bool
	// socketURL, when set, is the socket URL handed out instead of one on this server.
	socketURL string
	// afterHello is what a socket does once hello is written; nil: nothing.
	afterHello func(ws *websocket.Conn, rtm bool)
}

func newHostile(t *testing.T, h *hostile) *hostile {
	t.Helper()
	up := websocket.Upgrader{}
	mux := http.NewServeMux()
	for _, method := range []string{"apps.connections.open", "rtm.connect"} {
		mux.HandleFunc("POST /api/"+method, func(w http.ResponseWriter, r *http.Request) {
			h.opens.Add(1)
			if h.open != nil && h.open(w, r) {
				return
			}
			u := h.socketURL
			if u == "" {
				u = "ws" + strings.TrimPrefix(h.srv.URL, "http") + "/socket/" + method
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "url": u})
		})
	}
	mux.HandleFunc("GET /socket/{method}", func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		rtm := r.PathValue("method") == "rtm.connect"
		hello := `{"type":"hello","num_connections":1,"connection_info":{"app_id":"A0HOSTILE"}}`
		if rtm {
			hello = `{"type":"hello"}`
		}
		if ws.WriteMessage(websocket.TextMessage, []byte(hello)) != nil {
			return
		}
		if h.afterHello != nil {
			h.afterHello(ws, rtm)
		}
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	})
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hostile) apiURL() string { return h.srv.URL + "/api/" }

// hostileRuntime is a runtime pointed at a hostile server, with its logs and lifecycle events.
type hostileRuntime struct {
	t      *testing.T
	rt     *switchboard.Runtime
	logs   *syncBuffer
	events chan messages.Lifecycle
}

func newHostileRuntime(t *testing.T, apiURL string, stopWithin time.Duration, opts ...switchboard.Option) *hostileRuntime {
	t.Helper()
	hr := &hostileRuntime{t: t, logs: &syncBuffer{}, events: make(chan messages.Lifecycle, 4096)}
	log := logrus.New()
	log.SetOutput(hr.logs)
	log.SetLevel(logrus.DebugLevel)
	rt, err := switchboard.New(append([]switchboard.Option{switchboard.WithLogger(log), switchboard.WithAPIURL(apiURL)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	hr.rt = rt
	if err := rt.OnLifecycle(func(ev messages.Lifecycle) {
		select {
		case hr.events <- ev:
		default:
		}
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), stopWithin)
		defer cancel()
		if err := rt.Stop(ctx); err != nil {
			t.Errorf("Stop within %v: %v", stopWithin, err)
		}
	})
	return hr
}

func (hr *hostileRuntime) addApp() {
	hr.t.Helper()
	if err := hr.rt.AddApp(context.Background(), switchboard.App{ID: "A0HOSTILE", Token: "xapp-1-A0HOSTILE-1-secret", Connections: 1}); err != nil {
		hr.t.Fatal(err)
	}
}

func (hr *hostileRuntime) addWorkspace() {
	hr.t.Helper()
	if err := hr.rt.AddWorkspace(context.Background(), switchboard.Workspace{Team: "T0HOSTILE", Token: "xoxb-1-hostile"}); err != nil {
		hr.t.Fatal(err)
	}
}

// await returns the first lifecycle event for which match holds, failing after timeout.
func (hr *hostileRuntime) await(timeout time.Duration, what string, match func(messages.Lifecycle) bool) messages.Lifecycle {
	hr.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev := <-hr.events:
			if match(ev) {
				return ev
			}
		case <-deadline:
			hr.t.Fatalf("timed out after %v waiting for %s", timeout, what)
			return nil
		}
	}
}

// stallingListener accepts TCP connections and reads from them, but never answers: a WebSocket
// handshake to it never completes.
func stallingListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() { // owner: the test. Ends when the listener closes (cleanup); cleanup waits.
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() { // owner: the accept loop. Ends when the conn closes; cleanup waits.
				defer wg.Done()
				buf := make([]byte, 4096)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}
