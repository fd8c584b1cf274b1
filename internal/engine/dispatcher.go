package engine

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/switchboard-go/switchboard/messages"
)

// Subscribe asks the dispatcher to add a subscription; the answer is an error or nil.
type Subscribe struct {
	Spec  SubscriberSpec
	Reply Reply
}

// Unsubscribe asks the dispatcher to stop a subscription; the answer is an error or nil. The
// subscription takes no new event from then on, and stops once it has handled the events it
// accepted.
type Unsubscribe struct {
	Name  string
	Reply Reply
}

// SubscriberStats asks for each subscription's queue depth and drops; the answer is
// []SubscriptionStats.
type SubscriberStats struct{ Reply Reply }

// ForgetApp tells the dispatcher that an app was removed: its dedupe memory is freed.
type ForgetApp struct{ App string }

// SubscriptionStats is one subscription's queue state.
type SubscriptionStats struct {
	Name    string
	Queued  int   // accepted and not yet handled: waiting, or in a handler; every key included
	Dropped int64 // by the overflow policy the subscription chose; every key included
	Keys    int   // live keys of a keyed subscription (PerTeam, PerChannel, PerThread); 0 otherwise
}

// DefaultQueueSize is a subscription's queue size when its spec gives none: 256 events (per key
// when keyed). Acked events wait there for their handler, so it is memory the runtime holds on
// Slack's behalf; 1,024 cost 1–3 MiB more of peak RSS on busy sockets, and no throughput.
const DefaultQueueSize = 256

// dispatcher routes events to subscriptions. It drops Events API redeliveries it has seen within
// its window (per app, across the app's connections), keeps each subscription's events in read
// order, and never waits for a subscriber: a full Backpressure queue presses the flow gate (the
// readers hold back), a full drop-policy queue drops. Once an event sits in every queue it goes to
// (keyed subscriptions place it themselves), its placement is let go: that acks it by default.
type dispatcher struct {
	env      *Env
	window   int
	subs     []*subscription
	retiring []*subscription // unsubscribed, finishing what they accepted
	seen     map[seenKey]*idWindow
	stopping bool
}

type subscription struct {
	spec   SubscriberSpec
	pid    *actor.PID
	q      *queue // nil for keyed subscriptions
	counts *subCounts
	cancel context.CancelFunc // ends spec.ctx
}

// DispatcherProps returns the dispatcher's Props; window is how many event IDs per app dedupe
// remembers.
func DispatcherProps(env *Env, window int) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &dispatcher{env: env, window: window, seen: map[seenKey]*idWindow{}}
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
	defer logStackOnPanic(d.env, "dispatcher", ctx.Message())
	switch msg := ctx.Message().(type) {
	case *Dispatch: // a field of the event's envelope: no allocation per send
		d.dispatch(ctx, *msg)
	case hostedDispatch:
		d.dispatchHosted(ctx, msg)
	case keyIdle:
		d.keyIdle(ctx, msg)
	case messages.Lifecycle:
		d.lifecycle(ctx, msg)
	case Subscribe:
		msg.Reply.Answer(d.subscribe(ctx, msg.Spec))
	case Unsubscribe:
		msg.Reply.Answer(d.unsubscribe(ctx, msg.Name))
	case ForgetApp:
		for k := range d.seen { // the app's own window, and its hosted subscriptions'
			if k.app == msg.App {
				delete(d.seen, k)
			}
		}
	case SubscriberStats:
		out := make([]SubscriptionStats, 0, len(d.subs)+len(d.retiring))
		for _, s := range slices.Concat(d.subs, d.retiring) {
			out = append(out, SubscriptionStats{Name: s.spec.Name, Queued: int(s.counts.backlog.Load()), Dropped: s.counts.dropped.Load(), Keys: int(s.counts.keys.Load())})
		}
		msg.Reply.Answer(out)
	case *actor.Terminated:
		for i, s := range d.retiring {
			if s.pid.Equal(msg.Who) {
				s.cancel()
				d.retiring = append(d.retiring[:i], d.retiring[i+1:]...)
				break
			}
		}
	case *actor.Stopping:
		// Stop waited for the handlers first: end their context now, so that one waiting on it
		// returns and the subscribers can stop.
		d.stopping = true
		for _, s := range slices.Concat(d.subs, d.retiring) {
			s.cancel()
		}
	}
}

func (d *dispatcher) dispatch(ctx actor.Context, msg Dispatch) {
	ev, ack, place := msg.Event, msg.Ack, msg.Placement
	if ev.EventID != "" && d.duplicate(seenKey{app: ev.Link.App}, ev.EventID) {
		d.env.Stats.Duplicates.Add(1)
		if ack != nil {
			ack.Send(nil)
		}
		if place != nil {
			place.Hold(1)
			place.Placed()
		}
		return
	}
	// Guards: neither the ack nor the placement completes before every subscriber is counted.
	if ack != nil {
		ack.Hold(1)
	}
	if place != nil {
		place.Hold(1)
	}
	it := item{ev: ev, ack: ack}
	for _, s := range d.subs {
		if s.spec.Lifecycle != nil || s.spec.Hosted || !s.spec.Filter.Match(ev) {
			continue
		}
		d.deliver(ctx, s, it, place)
	}
	if ack != nil {
		ack.Release()
	}
	if place != nil {
		place.Placed()
	}
}

// deliver queues it for s (or hands it to s's keyed actor, which queues it for its key).
func (d *dispatcher) deliver(ctx actor.Context, s *subscription, it item, place *Placement) {
	if it.ack != nil {
		it.ack.Hold(1)
	}
	if s.q == nil {
		s.counts.backlog.Add(1) // until keyed has queued it
		if place != nil {
			place.Hold(1) // let go by keyed once the key's queue has it
		}
		ctx.Send(s.pid, keyedEvent{it: it, place: place})
		return
	}
	pushTo(ctx, d.env, s.pid, s.q, it)
}

// dispatchHosted places a forwarded event in its hosted subscription. Every copy of an event for
// a key comes to the key's one member (a redelivery read by another member than the original
// too), so a window per app and hosted subscription, here, drops the redeliveries of what it
// placed already.
func (d *dispatcher) dispatchHosted(ctx actor.Context, msg hostedDispatch) {
	for _, s := range d.subs {
		if s.spec.Hosted && s.spec.Name == msg.name {
			if ev := msg.e.ev; ev.EventID != "" && d.duplicate(seenKey{app: ev.Link.App, hosted: msg.name}, ev.EventID) {
				d.env.Stats.Duplicates.Add(1)
				msg.e.finish(nil)
				return
			}
			place := &msg.e.place
			it := item{ev: msg.e.ev}
			if msg.e.after {
				it.ack = &msg.e.ack
				it.ack.Hold(1)
			}
			place.Hold(1)
			d.deliver(ctx, s, it, place)
			place.Placed()
			if it.ack != nil {
				it.ack.Release()
			}
			return
		}
	}
	msg.e.finish(fmt.Errorf("%w: %q", ErrNotHosted, msg.name))
}

// keyIdle answers whether a hosted subscription's key is idle here; a subscription that ended and
// is still finishing what it accepted counts too.
func (d *dispatcher) keyIdle(ctx actor.Context, msg keyIdle) {
	for _, s := range slices.Concat(d.subs, d.retiring) {
		if s.spec.Hosted && s.spec.Name == msg.name && s.q == nil {
			ctx.Send(s.pid, msg)
			return
		}
	}
	msg.answer(true)
}

func (d *dispatcher) lifecycle(ctx actor.Context, ev messages.Lifecycle) {
	for _, s := range d.subs {
		if s.spec.Lifecycle != nil {
			pushTo(ctx, d.env, s.pid, s.q, item{lc: ev})
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
		spec.QueueSize = DefaultQueueSize
	}
	if spec.IdleAfter <= 0 {
		spec.IdleAfter = 5 * time.Minute
	}
	base := d.env.Ctx
	if base == nil {
		base = context.Background()
	}
	var cancel context.CancelFunc
	spec.ctx, cancel = context.WithCancel(base)
	s := &subscription{spec: spec, counts: &subCounts{name: spec.Name}, cancel: cancel}
	if spec.KeyBy != KeyNone && spec.Lifecycle == nil {
		s.pid = ctx.Spawn(keyedProps(d.env, spec, s.counts))
	} else {
		flow := d.env.Flow
		if spec.Lifecycle != nil {
			flow = nil // lifecycle events are the runtime's own: they never hold the readers back
		}
		s.q = newQueue(spec.QueueSize, spec.Overflow, flow, s.counts)
		s.pid = ctx.Spawn(subscriberProps(d.env, spec, s.q))
	}
	d.subs = append(d.subs, s)
	return nil
}

func (d *dispatcher) unsubscribe(ctx actor.Context, name string) error {
	for i, s := range d.subs {
		if s.spec.Name == name {
			// No new events; the subscription stops once it has handled what it accepted (those
			// may be acked already), and counts in SubscriberStats until then.
			ctx.Send(s.pid, unsubscribed{})
			d.subs = append(d.subs[:i], d.subs[i+1:]...)
			d.retiring = append(d.retiring, s)
			return nil
		}
	}
	return fmt.Errorf("switchboard: no subscription %q", name)
}

// seenKey names a dedupe window: an app's, or an app's in one hosted subscription.
type seenKey struct{ app, hosted string }

// duplicate records id in window k and reports whether it was seen within the window.
func (d *dispatcher) duplicate(k seenKey, id string) bool {
	w := d.seen[k]
	if w == nil {
		w = newIDWindow(d.window)
		d.seen[k] = w
	}
	return !w.add(id)
}
