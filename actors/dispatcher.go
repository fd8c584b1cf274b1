package actors

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/switchboard-go/switchboard/messages"
)

// Subscribe asks the dispatcher to add a subscription; the answer is an error or nil.
type Subscribe struct{ Spec SubscriberSpec }

// Unsubscribe asks the dispatcher to stop a subscription; the answer is an error or nil.
type Unsubscribe struct{ Name string }

// SubscriberStats asks for each subscription's queue depth and drops; the answer is
// []SubscriptionStats.
type SubscriberStats struct{}

// SubscriptionStats is one subscription's queue state.
type SubscriptionStats struct {
	Name    string
	Queued  int   // accepted and not yet handled: waiting, or in a handler; every key included
	Dropped int64 // by the overflow policy (unkeyed subscriptions; keyed ones count in Stats.Dropped)
}

// dispatcher routes events to subscriptions. It drops Events API redeliveries it has seen within
// its window (per app, across the app's connections), keeps each subscription's events in read
// order, and never waits for a subscriber: a full queue applies its overflow policy.
type dispatcher struct {
	env      *Env
	window   int
	subs     []*subscription
	seen     map[string]*idWindow // by app
	stopping bool
}

type subscription struct {
	spec    SubscriberSpec
	pid     *actor.PID
	q       *queue        // nil for keyed subscriptions
	backlog *atomic.Int64 // events queued for the subscription, every key included
}

// DispatcherProps returns the dispatcher's Props; window is how many event IDs per app dedupe
// remembers.
func DispatcherProps(env *Env, window int) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &dispatcher{env: env, window: window, seen: map[string]*idWindow{}}
	})
}

// HandleFailure restarts a failed subscription's actor alone.
func (d *dispatcher) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason, _ any) {
	name := child.Id
	for _, s := range d.subs {
		if s.pid.Equal(child) {
			name = s.spec.Name
		}
	}
	restartAlone(d.env, name, d.stopping, sup, child, reason)
}

func (d *dispatcher) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case messages.Dispatch:
		d.dispatch(ctx, msg.Event)
	case messages.Lifecycle:
		d.lifecycle(ctx, msg)
	case Subscribe:
		ctx.Respond(d.subscribe(ctx, msg.Spec))
	case Unsubscribe:
		ctx.Respond(d.unsubscribe(ctx, msg.Name))
	case SubscriberStats:
		out := make([]SubscriptionStats, 0, len(d.subs))
		for _, s := range d.subs {
			st := SubscriptionStats{Name: s.spec.Name, Queued: int(s.backlog.Load())}
			if s.q != nil {
				st.Dropped = s.q.dropped.Load()
			}
			out = append(out, st)
		}
		ctx.Respond(out)
	case *actor.Stopping:
		d.stopping = true
	}
}

func (d *dispatcher) dispatch(ctx actor.Context, ev *messages.Event) {
	ack := ev.AckOf()
	if ev.EventID != "" && d.duplicate(ev.Link.App, ev.EventID) {
		d.env.Stats.Duplicates.Add(1)
		if ack != nil {
			ack.Send(nil)
		}
		return
	}
	if ack != nil {
		ack.Hold(1) // guard: the ack cannot complete before every subscriber is counted
	}
	for _, s := range d.subs {
		if s.spec.Lifecycle != nil || !s.spec.Filter.Match(ev) {
			continue
		}
		if ack != nil {
			ack.Hold(1)
		}
		if s.q == nil {
			s.backlog.Add(1) // until keyed has queued it
			ctx.Send(s.pid, keyedEvent{ev: ev})
			continue
		}
		pushTo(ctx, d.env, s.pid, s.q, ev)
	}
	if ack != nil {
		ack.Release()
	}
}

func (d *dispatcher) lifecycle(ctx actor.Context, ev messages.Lifecycle) {
	for _, s := range d.subs {
		if s.spec.Lifecycle != nil {
			pushTo(ctx, d.env, s.pid, s.q, ev)
		}
	}
}

func (d *dispatcher) subscribe(ctx actor.Context, spec SubscriberSpec) error {
	set := 0
	for _, ok := range []bool{spec.Handler != nil, spec.Props != nil, spec.Lifecycle != nil} {
		if ok {
			set++
		}
	}
	if set != 1 {
		return fmt.Errorf("switchboard: subscription %q needs exactly one of a handler, Props or a lifecycle func", spec.Name)
	}
	for _, s := range d.subs {
		if s.spec.Name == spec.Name {
			return fmt.Errorf("switchboard: subscription %q exists", spec.Name)
		}
	}
	if spec.QueueSize <= 0 {
		spec.QueueSize = 1024
	}
	if spec.IdleAfter <= 0 {
		spec.IdleAfter = 5 * time.Minute
	}
	s := &subscription{spec: spec, backlog: &atomic.Int64{}}
	if spec.KeyBy != KeyNone && spec.Lifecycle == nil {
		s.pid = ctx.Spawn(keyedProps(d.env, spec, s.backlog))
	} else {
		s.q = newQueue(spec.QueueSize, spec.Overflow, s.backlog)
		s.pid = ctx.Spawn(subscriberProps(d.env, spec, s.q))
	}
	d.subs = append(d.subs, s)
	return nil
}

func (d *dispatcher) unsubscribe(ctx actor.Context, name string) error {
	for i, s := range d.subs {
		if s.spec.Name == name {
			ctx.Poison(s.pid)
			d.subs = append(d.subs[:i], d.subs[i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("switchboard: no subscription %q", name)
}

// duplicate records id for app and reports whether it was seen within the window.
func (d *dispatcher) duplicate(app, id string) bool {
	w := d.seen[app]
	if w == nil {
		w = newIDWindow(d.window)
		d.seen[app] = w
	}
	return !w.add(id)
}

// idWindow remembers the last n IDs.
type idWindow struct {
	ring []string
	next int
	set  map[string]struct{}
}

func newIDWindow(n int) *idWindow {
	if n <= 0 {
		n = 10000
	}
	return &idWindow{ring: make([]string, n), set: make(map[string]struct{}, n)}
}

// add records id; false if it was already there.
func (w *idWindow) add(id string) bool {
	if _, ok := w.set[id]; ok {
		return false
	}
	if old := w.ring[w.next]; old != "" {
		delete(w.set, old)
	}
	w.ring[w.next] = id
	w.set[id] = struct{}{}
	w.next = (w.next + 1) % len(w.ring)
	return true
}
