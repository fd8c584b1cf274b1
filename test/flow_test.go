package test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/messages"
)

// The bound on what a session can have acked beyond a full queue: the events that were already
// past the reader's gate when the queue filled (one credit each).
const sessionCredits = 64

// TestBackpressureHoldsTheReaderAndLosesNothing: with the default overflow (Backpressure), a
// stuck handler makes the reader stop reading; what is not in a queue is not acked, and once the
// handler goes on every event arrives, once and in order.
func TestBackpressureHoldsTheReaderAndLosesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeslack.Options{SocketMode: fakeslack.SocketModeOptions{AckTimeout: time.Minute}})
	const n, size = 1000, 8
	release := make(chan struct{})
	var mu sync.Mutex
	var seen []string
	if err := h.rt.Handle(messageEvents, func(_ context.Context, ev *switchboard.Event) error {
		mu.Lock()
		seen = append(seen, textOf(t, ev))
		first := len(seen) == 1
		mu.Unlock()
		if first {
			<-release
		}
		return nil
	}, switchboard.Queue(size, switchboard.Backpressure), switchboard.Named("stuck")); err != nil {
		t.Fatal(err)
	}
	app := h.addApp(1)
	h.awaitConnected(1, 5*time.Second)
	ws := h.srv.Workspaces()[0]
	injected := make(chan error, 1)
	go func() { // owner: this test; waited for below.
		_, err := h.srv.InjectMessages(context.Background(), app.ID, fakeslack.MessageStream{Team: ws.TeamID, Channel: ws.Channels[0].ID, TextPrefix: "m", Count: n})
		injected <- err
	}()
	waitFor(t, 5*time.Second, "the reader held back", func() bool { return h.rt.Stats().Backpressured > 0 })
	waitFor(t, 5*time.Second, "the queue full", func() bool {
		st := subStats(t, h, "stuck")
		return st.Queued >= size
	})
	if acked, bound := h.srv.Stats().Acked, int64(1+size+sessionCredits); acked > bound {
		t.Errorf("server saw %d acks with the handler stuck; at most %d events can be in its queue", acked, bound)
	}
	if d := h.rt.Stats().Dropped; d != 0 {
		t.Errorf("%d events dropped under backpressure", d)
	}
	close(release)
	if err := <-injected; err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "every event handled and acked", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == n && h.srv.Stats().Acked == n
	})
	mu.Lock()
	defer mu.Unlock()
	for i, text := range seen {
		if want := fmt.Sprintf("m%d", i+1); text != want {
			t.Fatalf("event %d is %q, want %q: order or exactly-once lost", i, text, want)
		}
	}
	if st := h.rt.Stats(); st.Dropped != 0 || st.Duplicates != 0 {
		t.Errorf("dropped %d, duplicates %d", st.Dropped, st.Duplicates)
	}
}

// keyActor records the keys it handles and how many of its kind are alive.
type keyActor struct {
	live, maxLive *atomic.Int32
	mu            *sync.Mutex
	got           map[string][]string // channel → texts, in order
	t             *testing.T
}

func (a *keyActor) Receive(ctx actor.Context) {
	switch ev := ctx.Message().(type) {
	case *actor.Started:
		n := a.live.Add(1)
		for {
			m := a.maxLive.Load()
			if n <= m || a.maxLive.CompareAndSwap(m, n) {
				break
			}
		}
	case *actor.Stopped:
		a.live.Add(-1)
	case *messages.Event:
		a.mu.Lock()
		a.got[ev.Channel] = append(a.got[ev.Channel], textOf(a.t, ev))
		a.mu.Unlock()
	}
}

// TestPerChannelKeyCap: at most MaxKeys key actors live at once; keys past the cap take the place
// of idle ones, and no event is lost or reordered on the way.
func TestPerChannelKeyCap(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeslack.Options{ChannelsPerWorkspace: 12})
	var live, maxLive atomic.Int32
	var mu sync.Mutex
	got := map[string][]string{}
	props := actor.PropsFromProducer(func() actor.Actor {
		return &keyActor{live: &live, maxLive: &maxLive, mu: &mu, got: got, t: t}
	})
	if err := h.rt.Subscribe(switchboard.Filter{Types: []string{"message"}}, props,
		switchboard.PerChannel(time.Hour), switchboard.MaxKeys(3), switchboard.Named("capped")); err != nil {
		t.Fatal(err)
	}
	app := h.addApp(1)
	h.awaitConnected(1, 5*time.Second)
	ws := h.srv.Workspaces()[0]
	for round := 0; round < 3; round++ {
		for _, ch := range ws.Channels {
			injectN(t, h, app.ID, ws.TeamID, ch.ID, fmt.Sprintf("r%d-", round), 4)
		}
	}
	total := 3 * 4 * len(ws.Channels)
	waitFor(t, 10*time.Second, "every event handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, texts := range got {
			n += len(texts)
		}
		return n == total
	})
	if m := maxLive.Load(); m > 3 {
		t.Errorf("%d key actors alive at once, cap 3", m)
	}
	if st := subStats(t, h, "capped"); st.Keys > 3 {
		t.Errorf("stats %+v: keys over the cap", st)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, ch := range ws.Channels {
		var want []string
		for round := 0; round < 3; round++ {
			for i := 1; i <= 4; i++ {
				want = append(want, fmt.Sprintf("r%d-%d", round, i))
			}
		}
		if g := strings.Join(got[ch.ID], " "); g != strings.Join(want, " ") {
			t.Errorf("channel %s got %s, want %s", ch.ID, g, strings.Join(want, " "))
		}
	}
	if d := h.rt.Stats().Dropped; d != 0 {
		t.Errorf("%d events dropped", d)
	}
}

// TestKeyCapWaitsWhenEveryKeyIsBusy: at the cap with every key in its handler, a new key's event
// waits, unacked, until a key is free.
func TestKeyCapWaitsWhenEveryKeyIsBusy(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeslack.Options{ChannelsPerWorkspace: 3, SocketMode: fakeslack.SocketModeOptions{AckTimeout: time.Minute}})
	ws := h.srv.Workspaces()[0]
	chA, chB, chC := ws.Channels[0].ID, ws.Channels[1].ID, ws.Channels[2].ID
	release := map[string]chan struct{}{chA: make(chan struct{}), chB: make(chan struct{})}
	var handled sync.Map
	var started atomic.Int32
	if err := h.rt.Handle(messageEvents, func(_ context.Context, ev *switchboard.Event) error {
		handled.Store(ev.Channel, true)
		if r, ok := release[ev.Channel]; ok {
			started.Add(1)
			<-r
		}
		return nil
	}, switchboard.PerChannel(time.Hour), switchboard.MaxKeys(2)); err != nil {
		t.Fatal(err)
	}
	app := h.addApp(1)
	h.awaitConnected(1, 5*time.Second)
	injectN(t, h, app.ID, ws.TeamID, chA, "a", 1)
	injectN(t, h, app.ID, ws.TeamID, chB, "b", 1)
	waitFor(t, 5*time.Second, "A and B in their handlers", func() bool { return started.Load() == 2 })
	injectN(t, h, app.ID, ws.TeamID, chC, "c", 1)
	waitFor(t, 5*time.Second, "C delivered", func() bool { return h.srv.Stats().Delivered == 3 })
	waitFor(t, 5*time.Second, "A and B acked", func() bool { return h.srv.Stats().Acked == 2 })
	if _, ok := handled.Load(chC); ok {
		t.Fatal("C handled while both keys were busy at the cap")
	}
	close(release[chA])
	waitFor(t, 5*time.Second, "C handled once A was free", func() bool { _, ok := handled.Load(chC); return ok })
	waitFor(t, 5*time.Second, "C acked", func() bool { return h.srv.Stats().Acked == 3 })
	close(release[chB])
}

// TestDropPolicyCountedPerSubscription: drops of a keyed drop-policy subscription are counted in
// its own stats, every key included.
func TestDropPolicyCountedPerSubscription(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeslack.Options{})
	release := make(chan struct{})
	var calls atomic.Int32
	if err := h.rt.Handle(messageEvents, func(context.Context, *switchboard.Event) error {
		if calls.Add(1) == 1 {
			<-release
		}
		return nil
	}, switchboard.PerChannel(time.Hour), switchboard.Queue(5, switchboard.DropNewest), switchboard.Named("lossy")); err != nil {
		t.Fatal(err)
	}
	app := h.addApp(1)
	h.awaitConnected(1, 5*time.Second)
	ws := h.srv.Workspaces()[0]
	injectN(t, h, app.ID, ws.TeamID, ws.Channels[0].ID, "first", 1)
	waitFor(t, 5*time.Second, "the first event in its handler", func() bool { return calls.Load() == 1 })
	injectN(t, h, app.ID, ws.TeamID, ws.Channels[0].ID, "m", 29) // 5 queued, 24 dropped
	waitFor(t, 5*time.Second, "drops counted", func() bool {
		return subStats(t, h, "lossy").Dropped == 24 && h.rt.Stats().Dropped == 24
	})
	close(release)
	waitFor(t, 5*time.Second, "every event acked", func() bool { return h.srv.Stats().Acked == 30 })
}

// subStats returns the named subscription's stats.
func subStats(t *testing.T, h *harness, name string) switchboard.SubscriptionStats {
	t.Helper()
	st, err := h.rt.SubscriberStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no subscription %q in %+v", name, st)
	return switchboard.SubscriptionStats{}
}

// TestUnsubscribeFinishesWhatItAccepted: Unsubscribe stops new events at once, but the events the
// subscription already accepted (and that were acked) are still handled; then it is gone.
func TestUnsubscribeFinishesWhatItAccepted(t *testing.T) {
	t.Parallel()
	for _, keyed := range []bool{false, true} {
		t.Run(fmt.Sprintf("keyed=%v", keyed), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, fakeslack.Options{})
			release := make(chan struct{})
			var calls atomic.Int32
			opts := []switchboard.SubscribeOption{switchboard.Named("leaving")}
			if keyed {
				opts = append(opts, switchboard.PerChannel(time.Hour))
			}
			if err := h.rt.Handle(messageEvents, func(context.Context, *switchboard.Event) error {
				if calls.Add(1) == 1 {
					<-release
				}
				return nil
			}, opts...); err != nil {
				t.Fatal(err)
			}
			app := h.addApp(1)
			h.awaitConnected(1, 5*time.Second)
			ws := h.srv.Workspaces()[0]
			injectN(t, h, app.ID, ws.TeamID, ws.Channels[0].ID, "m", 20)
			waitFor(t, 5*time.Second, "20 accepted and acked", func() bool {
				return subStats(t, h, "leaving").Queued == 20 && h.srv.Stats().Acked == 20
			})
			if err := h.rt.Unsubscribe(context.Background(), "leaving"); err != nil {
				t.Fatal(err)
			}
			injectN(t, h, app.ID, ws.TeamID, ws.Channels[0].ID, "late", 5)
			waitFor(t, 5*time.Second, "the late events acked", func() bool { return h.srv.Stats().Acked == 25 })
			close(release)
			waitFor(t, 5*time.Second, "the subscription gone", func() bool {
				st, err := h.rt.SubscriberStats(context.Background())
				if err != nil {
					return false
				}
				for _, s := range st {
					if s.Name == "leaving" {
						return false
					}
				}
				return true
			})
			if n := calls.Load(); n != 20 {
				t.Errorf("handled %d, want the 20 accepted before Unsubscribe (and none after)", n)
			}
		})
	}
}

// hasClient reports whether ev has a Web API client.
func hasClient(ev *switchboard.Event) bool {
	c, err := ev.Client(context.Background())
	return c != nil && err == nil
}
