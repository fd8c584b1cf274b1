package engine

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/switchboard-go/switchboard/internal/redact"
	"github.com/switchboard-go/switchboard/messages"
)

// Handler handles one event on its subscriber's actor. ctx is cancelled when the runtime stops.
type Handler func(ctx context.Context, ev *messages.Event) error

// KeyBy says how a keyed subscription splits events among actors.
type KeyBy int

// Keys.
const (
	KeyNone    KeyBy = iota // one actor for the subscription
	KeyTeam                 // one actor per workspace
	KeyChannel              // one actor per team and channel
	KeyThread               // one actor per team, channel and thread
)

// Filter selects events; an empty field matches everything.
type Filter struct {
	Kinds    []messages.Kind
	Types    []string
	Teams    []string
	Channels []string
	// Where, when set, is asked once the fields above matched: a routing predicate (an action_id,
	// a callback_id, a message's text) run by the dispatcher before the event is queued, so an
	// event it refuses never occupies a queue or the flow gate. It may decode the payload
	// (Event.Interaction and Event.EventsAPI cache what they decode); it must not block.
	Where func(*messages.Event) bool
}

// Match reports whether ev passes the filter.
func (f Filter) Match(ev *messages.Event) bool {
	return match(f.Kinds, ev.Kind) && match(f.Types, ev.Type) && match(f.Teams, ev.Team) && match(f.Channels, ev.Channel) &&
		(f.Where == nil || f.Where(ev))
}

func match[T comparable](set []T, v T) bool {
	if len(set) == 0 {
		return true
	}
	for _, s := range set {
		if s == v {
			return true
		}
	}
	return false
}

// SubscriberSpec describes a subscription. Exactly one of Handler, Props and Lifecycle is set.
type SubscriberSpec struct {
	Name   string
	Filter Filter
	// Handler is a Go func run on the subscription's actor.
	Handler Handler
	// Props is a user actor that receives *messages.Event values.
	Props *actor.Props
	// Lifecycle receives the lifecycle events (Connecting, Connected, …) instead of Slack events.
	Lifecycle func(messages.Lifecycle)
	// QueueSize bounds events waiting for the subscriber (per key when keyed). Default 1024.
	QueueSize int
	// Overflow says what happens at QueueSize: Backpressure (the default) or a drop policy.
	Overflow Overflow
	// KeyBy spawns one actor per key on demand; IdleAfter stops a key's actor once it has had no
	// event for that long (default 5m).
	KeyBy     KeyBy
	IdleAfter time.Duration
	// MaxKeys caps the live keys of a keyed subscription (default DefaultMaxKeys). At the cap a new
	// key takes the place of the least recently used key that has nothing queued or in its
	// handler; while every key is busy, the new key's events wait, holding the readers back.
	MaxKeys int
	// Hosted takes no event from routing: only those forwarded to it (DispatchHosted), the keys of
	// a clustered keyed subscription that live on this member.
	Hosted bool

	// ctx is the handlers' context, set by the dispatcher: it ends when the dispatcher stops (the
	// runtime's Stop gave the handlers their time) or once an unsubscribed subscription stopped.
	ctx context.Context
}

// DefaultMaxKeys is the default cap on a keyed subscription's live keys.
const DefaultMaxKeys = 10000

// subscriber runs one subscription (or one key of it): it drains its queue, calling the handler or
// forwarding to the user's actor one event at a time. A panic restarts it alone; its queue outlives
// the restart.
type subscriber struct {
	env      *Env
	spec     SubscriberSpec
	q        *queue
	child    *actor.PID // the user's actor, for Props subscriptions
	busy     bool       // an event is at the user's actor
	current  item       // the item at the user's actor, while busy
	stopping bool
	retiring bool // unsubscribed: stop once the queue is empty and nothing is in a handler
}

// unsubscribed tells a subscriber (or keyed) that its subscription ended: it takes no new events and
// stops once it has handled those it accepted.
type unsubscribed struct{}

// HandleFailure restarts the user's actor alone.
func (s *subscriber) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason, _ any) {
	restartAlone(s.env, s.spec.Name, s.stopping, sup, child, reason)
}

type wake struct{}
type handled struct{}

func subscriberProps(env *Env, spec SubscriberSpec, q *queue) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &subscriber{env: env, spec: spec, q: q}
	})
}

func (s *subscriber) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		if s.spec.Props != nil {
			s.child = ctx.Spawn(s.spec.Props.Clone(actor.WithReceiverMiddleware(doneMiddleware(s.env, s.spec.Name, ctx.Self()))))
		}
		if s.q.resume() {
			s.drain(ctx)
		}
	case wake:
		s.drain(ctx)
	case unsubscribed:
		s.retiring = true
		s.drain(ctx)
	case handled:
		if s.busy {
			s.busy = false
			release(s.current)
			s.current = item{}
			s.q.finished()
		}
		s.drain(ctx)
	case *actor.Restarting:
		s.busy = false
	case *actor.Stopping:
		s.stopping = true
		s.q.close()
	}
}

// drainBatch bounds how many events one wake handles before yielding to other messages.
const drainBatch = 256

func (s *subscriber) drain(ctx actor.Context) {
	for i := 0; i < drainBatch; i++ {
		if s.busy {
			return
		}
		it, ok := s.q.pop()
		if !ok {
			if s.retiring {
				ctx.Stop(ctx.Self())
			}
			return
		}
		if s.child != nil {
			s.busy, s.current = true, it
			if it.ev != nil {
				ctx.Send(s.child, it.ev)
			} else {
				ctx.Send(s.child, it.lc)
			}
			continue
		}
		s.handle(it)
	}
	ctx.Send(ctx.Self(), wake{})
}

// handle runs the handler; a panic is logged with its stack and the event, then propagates
// (restarting this actor) after the event's ack hold is released.
func (s *subscriber) handle(it item) {
	defer s.q.finished()
	defer release(it)
	defer func() {
		if r := recover(); r != nil {
			logPanic(s.env, s.spec.Name, it.ev, it.lc, r)
			panic(r) // the supervisor restarts this subscriber alone
		}
	}()
	if it.ev != nil {
		ctx := s.spec.ctx
		if ctx == nil {
			ctx = s.env.Ctx
		}
		if err := s.spec.Handler(ctx, it.ev); err != nil {
			s.env.Stats.HandlerErrors.Add(1)
			s.env.Log.WithError(err).WithFields(eventFields(s.spec.Name, it.ev)).Warn("handler returned an error")
		}
	} else {
		s.spec.Lifecycle(it.lc)
	}
}

// release lets go of the item's hold on its envelope's ack (acked after handlers).
func release(it item) {
	if it.ack != nil {
		it.ack.Release()
	}
}

// doneMiddleware tells the subscriber when its user actor finished an item, even by panicking; a
// panic is logged with its stack and the event, then propagates to the subscriber's supervision.
func doneMiddleware(env *Env, name string, parent *actor.PID) actor.ReceiverMiddleware {
	return func(next actor.ReceiverFunc) actor.ReceiverFunc {
		return func(c actor.ReceiverContext, envelope *actor.MessageEnvelope) {
			switch m := envelope.Message.(type) {
			case *messages.Event:
				defer env.send(parent, handled{})
				defer logPanics(env, name, m, nil)
			case messages.Lifecycle:
				defer env.send(parent, handled{})
				defer logPanics(env, name, nil, m)
			}
			next(c, envelope)
		}
	}
}

// logPanics, deferred, logs a panic of the code handling ev (or lc) and panics again.
func logPanics(env *Env, name string, ev *messages.Event, lc messages.Lifecycle) {
	if r := recover(); r != nil {
		logPanic(env, name, ev, lc, r)
		panic(r)
	}
}

// logPanic logs a handler's panic with its stack (protoactor hands the supervisor the value only),
// the value redacted, and the fields of the event it was handling.
func logPanic(env *Env, name string, ev *messages.Event, lc messages.Lifecycle, r any) {
	var f logrus.Fields
	switch {
	case ev != nil:
		f = eventFields(name, ev)
	case lc != nil:
		f = logrus.Fields{"subscriber": name, "lifecycle": fmt.Sprintf("%T", lc), "link": lc.LinkOf().Name}
	default:
		f = logrus.Fields{"subscriber": name}
	}
	env.Log.WithFields(f).WithField("panic", redact.Value(r)).WithField("stack", string(debug.Stack())).
		Error("handler panicked")
}

// restartAlone is the supervision of subscribers: a failed one (or a user actor) restarts alone,
// counted and logged, unless its parent is stopping, when it stops. The panic itself was logged
// with its stack and event where it happened (logPanic).
func restartAlone(env *Env, name string, parentStopping bool, sup actor.Supervisor, child *actor.PID, reason any) {
	env.Stats.HandlerPanics.Add(1)
	log := env.Log.WithField("subscriber", name).WithField("panic", redact.Value(reason))
	if parentStopping {
		log.Warn("subscriber panicked while stopping")
		sup.StopChildren(child)
		return
	}
	log.Warn("subscriber panicked, restarting it")
	sup.RestartChildren(child)
}

// eventFields are the log fields that identify an event.
func eventFields(subscriber string, ev *messages.Event) logrus.Fields {
	f := logrus.Fields{"subscriber": subscriber, "link": ev.Link.Name, "team": ev.Team, "kind": string(ev.Kind), "type": ev.Type}
	if ev.Link.App != "" {
		f["app"] = ev.Link.App
	}
	if ev.EventID != "" {
		f["event_id"] = ev.EventID
	}
	if ev.EnvelopeID != "" {
		f["envelope_id"] = ev.EnvelopeID
	}
	if ev.Channel != "" {
		f["channel"] = ev.Channel
	}
	return f
}

// logStackOnPanic guards the runtime's top actors (dispatcher, link supervisor): a panic in their
// Receive is logged with its stack, then goes on to the guardian, which restarts the actor. It is
// deferred at the top of Receive (a receiver middleware would wrap every message in an
// envelope, one allocation each, on the hottest actor).
func logStackOnPanic(env *Env, name string, msg any) {
	if r := recover(); r != nil {
		env.Log.WithFields(logrus.Fields{"actor": name, "message": fmt.Sprintf("%T", msg),
			"panic": redact.Value(r), "stack": string(debug.Stack())}).Error("runtime actor panicked")
		panic(r)
	}
}
