package engine

import (
	"context"
	"io"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// fakeClock is a Clock that moves only when a test advances it.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*fakeTimer
	changed chan struct{} // closed and replaced whenever a timer is armed
}

type fakeTimer struct {
	c  *fakeClock
	at time.Time
	f  func()
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Unix(1_700_000_000, 0), changed: make(chan struct{})}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	close(c.changed)
	c.changed = make(chan struct{})
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	for i, x := range t.c.timers {
		if x == t {
			t.c.timers = append(t.c.timers[:i], t.c.timers[i+1:]...)
			return true
		}
	}
	return false
}

// awaitTimers waits until n timers are armed.
func (c *fakeClock) awaitTimers(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		c.mu.Lock()
		armed, changed := len(c.timers), c.changed
		c.mu.Unlock()
		if armed >= n {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("%d timers armed, want %d", armed, n)
		}
	}
}

// advance moves the clock by d and runs the timers that came due, in order.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due, rest []*fakeTimer
	for _, t := range c.timers {
		if !t.at.After(c.now) {
			due = append(due, t)
		} else {
			rest = append(rest, t)
		}
	}
	c.timers = rest
	c.mu.Unlock()
	sort.Slice(due, func(i, j int) bool { return due[i].at.Before(due[j].at) })
	for _, t := range due {
		t.f()
	}
}

// pingerRig runs one pinger on a fake clock; what it sends to its connection and writer comes
// out of got.
type pingerRig struct {
	clock  *fakeClock
	sess   *session
	got    chan any
	system *actor.ActorSystem
	pinger *actor.PID
}

func newPingerRig(t *testing.T, p probe) *pingerRig {
	t.Helper()
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
	t.Cleanup(system.Shutdown)
	r := &pingerRig{clock: newFakeClock(), got: make(chan any, 16)}
	env := &Env{System: system, Ctx: context.Background(), WG: &sync.WaitGroup{}, Clock: r.clock}
	r.sess = newSession(env.Ctx, 1)
	r.sess.useClock(r.clock)
	t.Cleanup(r.sess.close)
	sink := system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		switch m := c.Message().(type) {
		case LinkStale, SendPing, rtmPingReq:
			r.got <- m
		}
	}))
	r.system, r.pinger = system, system.Root.Spawn(pingerProps(env, r.sess, sink, sink, p))
	t.Cleanup(func() { _ = system.Root.StopFuture(r.pinger).Wait() })
	return r
}

// step advances the clock by one tick once the pinger armed its timer.
func (r *pingerRig) step(t *testing.T, d time.Duration) {
	t.Helper()
	r.clock.awaitTimers(t, 1)
	r.clock.advance(d)
}

func (r *pingerRig) expect(t *testing.T, what string, match func(any) bool) {
	t.Helper()
	select {
	case m := <-r.got:
		if !match(m) {
			t.Fatalf("got %#v, want %s", m, what)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s", what)
	}
}

func (r *pingerRig) expectNothing(t *testing.T) {
	t.Helper()
	select {
	case m := <-r.got:
		t.Fatalf("unexpected %#v", m)
	default:
	}
}

// TestSocketModePingerOnAFakeClock: a WebSocket ping every interval; stale once silent for
// longer than staleAfter, and then no more ticks.
func TestSocketModePingerOnAFakeClock(t *testing.T) {
	r := newPingerRig(t, &wsProbe{interval: 10 * time.Second, staleAfter: 30 * time.Second})
	tick := 7500 * time.Millisecond // a quarter of the stale window
	r.step(t, tick)                 // 7.5s: nothing yet
	r.step(t, tick)                 // 15s: the first ping
	r.expect(t, "a ping", func(m any) bool { _, ok := m.(SendPing); return ok })
	r.step(t, tick) // 22.5s
	r.step(t, tick) // 30s: silent for exactly the window, not longer
	r.expect(t, "the second ping", func(m any) bool { _, ok := m.(SendPing); return ok })
	r.step(t, tick) // 37.5s
	r.expect(t, "the link stale", func(m any) bool {
		s, ok := m.(LinkStale)
		return ok && s.Session == 1 && s.Silent == 37500*time.Millisecond && !s.NoPong
	})
	r.expectNothing(t)
}

// TestRTMPingerOnAFakeClock: a JSON ping once idle for interval, none while its pong is awaited,
// and stale when the pong does not come within pongTimeout; a pong and traffic keep it alive.
func TestRTMPingerOnAFakeClock(t *testing.T) {
	r := newPingerRig(t, &jsonProbe{interval: 10 * time.Second, pongTimeout: 20 * time.Second})
	tick := 5 * time.Second
	r.step(t, tick) // 5s idle
	r.step(t, tick) // 10s idle: ping
	r.expect(t, "a ping", func(m any) bool { _, ok := m.(rtmPingReq); return ok })
	r.step(t, tick) // awaiting the pong: no second ping
	r.sess.touch()  // the pong arrives: traffic
	r.system.Root.Send(r.pinger, pongRead{session: 1})
	r.step(t, tick) // 5s since the pong
	r.step(t, tick) // 10s idle again: ping
	r.expect(t, "the second ping", func(m any) bool { _, ok := m.(rtmPingReq); return ok })
	for i := 0; i < 4; i++ { // 20s without a pong: not yet longer than the timeout
		r.step(t, tick)
	}
	r.expectNothing(t)
	r.step(t, tick) // 25s
	r.expect(t, "the link stale", func(m any) bool {
		s, ok := m.(LinkStale)
		return ok && s.Session == 1 && s.NoPong
	})
}
