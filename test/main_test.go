// Package test holds Switchboard's end-to-end tests: the runtime against the fakeslack stand-in,
// over real sockets.
package test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"go.uber.org/goleak"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/messages"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// harness is one fakeslack server and one runtime pointed at it, with the lifecycle events seen.
type harness struct {
	t      *testing.T
	srv    *fakeslack.Server
	rt     *switchboard.Runtime
	logs   *syncBuffer
	events chan messages.Lifecycle
}

func newHarness(t *testing.T, so fakeslack.Options, opts ...switchboard.Option) *harness {
	t.Helper()
	srv, err := fakeslack.New(so)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, srv: srv, logs: &syncBuffer{}, events: make(chan messages.Lifecycle, 1024)}
	log := logrus.New()
	log.SetOutput(h.logs)
	log.SetLevel(logrus.DebugLevel)
	opts = append([]switchboard.Option{switchboard.WithLogger(log), switchboard.WithAPIURL(srv.APIURL()),
		switchboard.WithBackoff(20*time.Millisecond, 200*time.Millisecond, time.Second)}, opts...)
	rt, err := switchboard.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	h.rt = rt
	if err := rt.OnLifecycle(func(ev messages.Lifecycle) {
		select {
		case h.events <- ev:
		default:
		}
	}, switchboard.Named("harness-lifecycle")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := rt.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
		_ = srv.Close()
	})
	return h
}

// app returns the server's first app with its installations.
func (h *harness) app(conns int) switchboard.App {
	a := h.srv.Apps()[0]
	inst := switchboard.Installations{}
	for _, ws := range h.srv.Workspaces() {
		inst[ws.TeamID] = ws.BotToken
	}
	return switchboard.App{ID: a.AppID, Token: a.AppToken, Connections: conns, Installations: inst}
}

func (h *harness) addApp(conns int) switchboard.App {
	h.t.Helper()
	app := h.app(conns)
	if err := h.rt.AddApp(context.Background(), app); err != nil {
		h.t.Fatal(err)
	}
	return app
}

// await returns the first lifecycle event for which match holds, failing after timeout.
func (h *harness) await(timeout time.Duration, what string, match func(messages.Lifecycle) bool) messages.Lifecycle {
	h.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev := <-h.events:
			if match(ev) {
				return ev
			}
		case <-deadline:
			h.t.Fatalf("timed out after %v waiting for %s", timeout, what)
			return nil
		}
	}
}

// awaitConnected waits for n Connected events.
func (h *harness) awaitConnected(n int, timeout time.Duration) {
	h.t.Helper()
	for i := 0; i < n; i++ {
		h.await(timeout, "connected", func(ev messages.Lifecycle) bool { _, ok := ev.(messages.Connected); return ok })
	}
}

// waitFor polls cond until it holds, failing after timeout. The poll is its only sleep.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// collector gathers events a handler saw.
type collector struct {
	mu  sync.Mutex
	evs []*switchboard.Event
}

func (c *collector) add(ev *switchboard.Event) error {
	c.mu.Lock()
	c.evs = append(c.evs, ev)
	c.mu.Unlock()
	return nil
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.evs)
}

func (c *collector) all() []*switchboard.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*switchboard.Event(nil), c.evs...)
}
