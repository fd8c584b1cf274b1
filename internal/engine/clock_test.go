package engine

import (
	"context"
	"fmt"
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

// nextIn waits until the pinger armed its timer and returns how far ahead it is.
func (r *pingerRig) nextIn(t *testing.T) time.Duration {
	t.Helper()
	r.clock.awaitTimers(t, 1)
	r.clock.mu.Lock()
	defer r.clock.mu.Unlock()
	next := r.clock.timers[0].at
	for _, x := range r.clock.timers[1:] {
		if x.at.Before(next) {
			next = x.at
		}
	}
	return next.Sub(r.clock.now)
}

// TestSocketModePingerOnAFakeClock: a WebSocket ping every interval, each check armed for the
// moment it is due; stale once silent for staleAfter exactly, and then no more checks.
func TestSocketModePingerOnAFakeClock(t *testing.T) {
	r := newPingerRig(t, &wsProbe{interval: 10 * time.Second, staleAfter: 30 * time.Second})
	for i, at := range []time.Duration{10 * time.Second, 20 * time.Second} {
		if d := r.nextIn(t); d != 10*time.Second {
			t.Fatalf("check %d armed %v ahead, want the ping's 10s", i, d)
		}
		r.clock.advance(10 * time.Second)
		r.expect(t, fmt.Sprintf("the ping at %v", at), func(m any) bool { _, ok := m.(SendPing); return ok })
	}
	if d := r.nextIn(t); d != 10*time.Second { // silent for 20s: stale in 10s, when the next ping is due
		t.Fatalf("armed %v ahead, want 10s", d)
	}
	r.clock.advance(10 * time.Second)
	r.expect(t, "the link stale", func(m any) bool {
		s, ok := m.(LinkStale)
		return ok && s.Session == 1 && s.Silent == 30*time.Second && !s.NoPong
	})
	r.expectNothing(t)
}

// TestRTMPingerOnAFakeClock: a JSON ping the moment the link has been idle for interval, none
// while its pong is awaited, stale the moment the pong is pongTimeout late; a pong re-arms the
// idle clock, and traffic moves it.
func TestRTMPingerOnAFakeClock(t *testing.T) {
	r := newPingerRig(t, &jsonProbe{interval: 10 * time.Second, pongTimeout: 20 * time.Second})
	if d := r.nextIn(t); d != 10*time.Second {
		t.Fatalf("first check %v ahead, want 10s", d)
	}
	r.clock.advance(4 * time.Second)
	r.sess.touch() // traffic at 4s: idle for 10s at 14s
	r.clock.advance(6 * time.Second)
	if d := r.nextIn(t); d != 4*time.Second {
		t.Fatalf("after traffic the check is %v ahead, want 4s", d)
	}
	r.clock.advance(4 * time.Second)
	r.expect(t, "a ping", func(m any) bool { _, ok := m.(rtmPingReq); return ok })
	if d := r.nextIn(t); d != 20*time.Second {
		t.Fatalf("awaiting the pong, the check is %v ahead, want the 20s timeout", d)
	}
	r.clock.advance(time.Second)
	r.sess.touch() // the pong arrives after 1s
	r.system.Root.Send(r.pinger, pongRead{session: 1})
	waitArmed(t, r, 10*time.Second) // the next ping, 10s after the pong
	r.clock.advance(10 * time.Second)
	r.expect(t, "the second ping", func(m any) bool { _, ok := m.(rtmPingReq); return ok })
	r.clock.advance(19 * time.Second) // no pong for 19s: nothing yet
	r.expectNothing(t)
	r.clock.advance(time.Second)
	r.expect(t, "the link stale", func(m any) bool {
		s, ok := m.(LinkStale)
		return ok && s.Session == 1 && s.NoPong && s.Silent == 30*time.Second
	})
	r.expectNothing(t)
}

// waitArmed waits until the pinger's next check is want ahead (it re-arms after a message).
func waitArmed(t *testing.T, r *pingerRig, want time.Duration) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for r.nextIn(t) != want {
		if time.Now().After(deadline) {
			t.Fatalf("next check %v ahead, want %v", r.nextIn(t), want)
		}
		r.clock.mu.Lock()
		changed := r.clock.changed
		r.clock.mu.Unlock()
		select {
		case <-changed:
		case <-time.After(10 * time.Millisecond):
		}
	}
}
