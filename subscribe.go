package switchboard

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/switchboard-go/switchboard/internal/engine"
	"github.com/switchboard-go/switchboard/messages"
)

// Handler handles one event, on its subscription's own actor: events of one subscription (or of
// one key of a keyed subscription) come one at a time, in read order. ctx is the event's own
// (handlerctx.go): it ends when Stop has given the handlers their time (a second before its
// deadline) or at the subscription's HandlerTimeout, and
// carries the event's log fields (LogFrom). An error it returns goes to the OnError hook (the
// listener's, else the runtime's); without one it is logged with the event's team, type and IDs.
// Either way it is counted (Stats.HandlerErrors) and the event is not retried. A panic is
// recovered and becomes a *PanicError carrying its stack, reported the same way and counted in
// Stats.HandlerPanics; the subscription's actor goes on with the next event.
type Handler func(ctx context.Context, ev *Event) error

// Kind is the envelope an event came in: KindEventsAPI, KindSlashCommand, KindInteractive or
// KindRTM.
type Kind = messages.Kind

// Event kinds.
const (
	KindEventsAPI    = messages.KindEventsAPI
	KindSlashCommand = messages.KindSlashCommand
	KindInteractive  = messages.KindInteractive
	KindRTM          = messages.KindRTM
)

// Filter selects events by kind, type, team and channel. An empty field matches everything; a
// field with values matches an event whose value is one of them.
type Filter struct {
	Kinds    []Kind
	Types    []string // inner event type, command, interaction type, or RTM frame type
	Teams    []string
	Channels []string
}

// Overflow says what a subscription's full queue does.
type Overflow = engine.Overflow

// Overflow policies for a subscription's queue. Backpressure, the default, loses nothing: a full
// queue holds every reader back (so Slack's events wait, unacked, in TCP and at Slack) until the
// queue has drained to half. DropNewest and DropOldest keep the readers going and drop, counted
// per subscription (SubscriberStats), in Stats.Dropped, and logged at most every 10 s.
const (
	Backpressure = engine.Backpressure
	DropNewest   = engine.DropNewest
	DropOldest   = engine.DropOldest
)

// Registration errors, for errors.Is.
var (
	// ErrSubscriptionExists: a subscription of that name is registered already.
	ErrSubscriptionExists = errors.New("switchboard: subscription exists")
	// ErrNoSubscription: Unsubscribe of a name that is not registered.
	ErrNoSubscription = errors.New("switchboard: no such subscription")
)

// SubscribeOption tunes one subscription. Every registration (Handle, OnEvent, OnCommand,
// OnInteraction, OnMessage, OnAction, OnViewSubmission, OnViewClosed, OnShortcut, OnOptions,
// OnLifecycle, Subscribe) takes the same options; those of a handler's chain (WithMiddleware,
// OnError, HandlerTimeout, IncludeSelf) fail the registration of an actor or a lifecycle func.
type SubscribeOption func(*listener) error

// Named names the subscription (in logs, stats and Unsubscribe). Default "sub-N".
func Named(name string) SubscribeOption {
	return func(l *listener) error {
		if name == "" {
			return errors.New("switchboard: empty subscription name")
		}
		l.spec.Name = name
		return nil
	}
}

// Queue bounds the events waiting for the subscription (per key when keyed) and says what happens
// when it is full. Default 256, Backpressure. A Backpressure queue may hold a few more than size:
// the events already on their way when it filled (at most 64 per connection). Queue memory grows
// with use and is given back when the queue empties.
func Queue(size int, overflow Overflow) SubscribeOption {
	return func(l *listener) error {
		if size <= 0 {
			return fmt.Errorf("switchboard: queue size %d must be positive", size)
		}
		if overflow < Backpressure || overflow > DropOldest {
			return fmt.Errorf("switchboard: unknown overflow policy %d", int(overflow))
		}
		l.spec.QueueSize, l.spec.Overflow = size, overflow
		return nil
	}
}

// PerTeam runs one actor per workspace, spawned on its first event and stopped after idle
// (default 5m, when idle is 0) without events. At most MaxKeys keys live at once (default 10,000).
func PerTeam(idle time.Duration) SubscribeOption { return keyBy(engine.KeyTeam, idle) }

// PerChannel runs one actor per team and channel, as PerTeam does per team.
func PerChannel(idle time.Duration) SubscribeOption { return keyBy(engine.KeyChannel, idle) }

// PerThread runs one actor per team, channel and thread, as PerTeam does per team.
func PerThread(idle time.Duration) SubscribeOption { return keyBy(engine.KeyThread, idle) }

// MaxKeys caps the live keys of a PerTeam, PerChannel or PerThread subscription (default 10,000).
// At the cap, a new key's actor replaces the least recently used key's actor that has nothing
// queued or in its handler (losing nothing: the replaced key gets a new actor on its next event).
// While every key is busy, events wait in arrival order and the readers hold back, as for a full
// Backpressure queue.
func MaxKeys(n int) SubscribeOption {
	return func(l *listener) error {
		if n <= 0 {
			return fmt.Errorf("switchboard: max keys %d must be positive", n)
		}
		l.spec.MaxKeys = n
		return nil
	}
}

func keyBy(k engine.KeyBy, idle time.Duration) SubscribeOption {
	return func(l *listener) error {
		if idle < 0 {
			return fmt.Errorf("switchboard: idle %v must not be negative", idle)
		}
		l.spec.KeyBy, l.spec.IdleAfter = k, idle
		return nil
	}
}

// Handle runs h for every event that passes f.
func (rt *Runtime) Handle(f Filter, h Handler, opts ...SubscribeOption) error {
	return rt.handle(f.engine(), h, opts, "")
}

// handle registers h behind the middleware chain for events that pass f; route names the
// registration that accepts a BlockID option ("" when none does).
func (rt *Runtime) handle(f engine.Filter, h Handler, opts []SubscribeOption, route string) error {
	if h == nil {
		return errors.New("switchboard: nil handler")
	}
	return rt.subscribe(&listener{spec: engine.SubscriberSpec{Filter: f}, handler: h, route: route}, opts)
}

// OnEvent runs h for Events API events of the inner type eventType ("message", "app_mention",
// "reaction_added", …); "" means every Events API event. Subtype narrows it to one subtype.
func (rt *Runtime) OnEvent(eventType string, h Handler, opts ...SubscribeOption) error {
	return rt.Handle(filterOf(KindEventsAPI, eventType), h, opts...)
}

// OnCommand runs h for the slash command ("/deploy"); "" means every command. h may answer with
// ev.Respond before the response deadline: the answer goes in the ack.
func (rt *Runtime) OnCommand(command string, h Handler, opts ...SubscribeOption) error {
	return rt.Handle(filterOf(KindSlashCommand, command), h, opts...)
}

// OnInteraction runs h for interactions of the type interactionType ("block_actions",
// "view_submission", "shortcut", …); "" means every interaction.
func (rt *Runtime) OnInteraction(interactionType string, h Handler, opts ...SubscribeOption) error {
	return rt.Handle(filterOf(KindInteractive, interactionType), h, opts...)
}

// OnLifecycle runs f for every lifecycle event (Connecting, Connected, Disconnected,
// Reconnecting, Fatal), on its own actor. Lifecycle events are the runtime's own: at the queue's
// size the oldest are dropped, counted, and the readers are never held back.
func (rt *Runtime) OnLifecycle(f func(Lifecycle), opts ...SubscribeOption) error {
	if f == nil {
		return errors.New("switchboard: nil lifecycle func")
	}
	return rt.subscribe(&listener{spec: engine.SubscriberSpec{Lifecycle: f}}, opts)
}

// Subscribe spawns the actor of props and sends it every event that passes f, as *Event messages,
// one at a time (the next is sent once Receive returned). A panic restarts that actor alone. See
// package actors for the contract of such an actor.
func (rt *Runtime) Subscribe(f Filter, props *actor.Props, opts ...SubscribeOption) error {
	if props == nil {
		return errors.New("switchboard: nil props")
	}
	return rt.subscribe(&listener{spec: engine.SubscriberSpec{Filter: f.engine(), Props: props}}, opts)
}

// Unsubscribe ends a subscription by name: it takes no new event from now on, and its actor stops
// once it has handled the events it already accepted (which may be acked); SubscriberStats lists
// it until then. It fails with ErrNoSubscription for an unknown name.
func (rt *Runtime) Unsubscribe(ctx context.Context, name string) error {
	rt.mu.Lock()
	_, ok := rt.subNames[name]
	_, clustered := rt.clustered[name]
	rt.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %q", ErrNoSubscription, name)
	}
	names := []string{name}
	if clustered {
		names = []string{name + forwarderSuffix, name} // the forwarder first: it sends what it accepted to the hosts
	}
	for _, n := range names {
		reply := engine.NewReply()
		if err := rt.ask(ctx, rt.dispatcher, engine.Unsubscribe{Name: n, Reply: reply}, reply, nil); err != nil {
			return err
		}
		rt.mu.Lock()
		delete(rt.subNames, n)
		delete(rt.clustered, n)
		rt.mu.Unlock()
	}
	return nil
}

// subscribe validates l and hands its spec to the dispatcher without waiting: every error a
// subscription can have is found here, and the dispatcher takes the subscription before any event
// sent after this call.
func (rt *Runtime) subscribe(l *listener, opts []SubscribeOption) error {
	for _, o := range opts {
		if o == nil {
			return errors.New("switchboard: nil subscribe option")
		}
		if err := o(l); err != nil {
			return err
		}
	}
	if err := l.check(); err != nil {
		return err
	}
	if err := l.checkClustered(); err != nil {
		return err
	}
	spec := &l.spec
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.stopped {
		return ErrStopped
	}
	if spec.Name == "" {
		for {
			rt.subs++
			spec.Name = fmt.Sprintf("sub-%d", rt.subs)
			if _, taken := rt.subNames[spec.Name]; !taken {
				break
			}
		}
	}
	if _, taken := rt.subNames[spec.Name]; taken {
		return fmt.Errorf("%w: %q", ErrSubscriptionExists, spec.Name)
	}
	if l.clustered && rt.clu != nil {
		return rt.subscribeClustered(l)
	}
	rt.subNames[spec.Name] = struct{}{}
	if l.handler != nil {
		spec.Handler = rt.chain(l)
	}
	rt.system.Root.Send(rt.dispatcher, engine.Subscribe{Spec: *spec})
	return nil
}

func filterOf(k Kind, typ string) Filter {
	f := Filter{Kinds: []Kind{k}}
	if typ != "" {
		f.Types = []string{typ}
	}
	return f
}

func (f Filter) engine() engine.Filter {
	return engine.Filter{Kinds: f.Kinds, Types: f.Types, Teams: f.Teams, Channels: f.Channels}
}
