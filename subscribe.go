package switchboard

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/switchboard-go/switchboard/internal/engine"
	"github.com/switchboard-go/switchboard/messages"
)

// Filter selects events by kind, type, team and channel; an empty field matches everything.
type Filter = engine.Filter

// Overflow policies for a subscription's queue. Backpressure, the default, loses nothing: a full
// queue holds every reader back (so Slack's events wait, unacked, in TCP and at Slack) until the
// queue has drained to half. DropNewest and DropOldest keep the readers going and drop, counted
// per subscription (SubscriberStats), in Stats.Dropped, and logged at most every 10 s.
const (
	Backpressure = engine.Backpressure
	DropNewest   = engine.DropNewest
	DropOldest   = engine.DropOldest
)

// SubscribeOption tunes one subscription.
type SubscribeOption func(*engine.SubscriberSpec) error

// Named names the subscription (in logs, stats and Unsubscribe). Default "sub-N".
func Named(name string) SubscribeOption {
	return func(s *engine.SubscriberSpec) error { s.Name = name; return nil }
}

// Queue bounds the events waiting for the subscription (per key when keyed) and says what happens
// when it is full. Default 1024, Backpressure. A Backpressure queue may hold a few more than size:
// the events already on their way when it filled (at most 256 per connection). Queue memory grows
// with use and is given back when the queue empties.
func Queue(size int, overflow engine.Overflow) SubscribeOption {
	return func(s *engine.SubscriberSpec) error {
		if size <= 0 {
			return fmt.Errorf("switchboard: queue size %d must be positive", size)
		}
		s.QueueSize, s.Overflow = size, overflow
		return nil
	}
}

// PerTeam, PerChannel and PerThread run one actor per workspace, channel or thread, spawned on its
// first event and stopped after idle (default 5m) without events. At most MaxKeys keys (default
// 10,000) live at once: see MaxKeys.
func PerTeam(idle time.Duration) SubscribeOption    { return keyBy(engine.KeyTeam, idle) }
func PerChannel(idle time.Duration) SubscribeOption { return keyBy(engine.KeyChannel, idle) }
func PerThread(idle time.Duration) SubscribeOption  { return keyBy(engine.KeyThread, idle) }

// MaxKeys caps the live keys of a PerTeam, PerChannel or PerThread subscription (default 10,000).
// At the cap, a new key's actor replaces the least recently used key's actor that has nothing
// queued or in its handler (losing nothing: the replaced key gets a new actor on its next event).
// While every key is busy, events wait in arrival order and the readers hold back, as for a full
// Backpressure queue.
func MaxKeys(n int) SubscribeOption {
	return func(s *engine.SubscriberSpec) error {
		if n <= 0 {
			return fmt.Errorf("switchboard: max keys %d must be positive", n)
		}
		s.MaxKeys = n
		return nil
	}
}

func keyBy(k engine.KeyBy, idle time.Duration) SubscribeOption {
	return func(s *engine.SubscriberSpec) error {
		if idle < 0 {
			return fmt.Errorf("switchboard: idle %v must not be negative", idle)
		}
		s.KeyBy, s.IdleAfter = k, idle
		return nil
	}
}

// Handle runs h for every event that passes f, on the subscription's own actor.
func (rt *Runtime) Handle(f Filter, h Handler, opts ...SubscribeOption) error {
	return rt.subscribe(engine.SubscriberSpec{Filter: f, Handler: h}, opts)
}

// OnEvent runs h for Events API events of the given inner types ("message", "app_mention", …);
// no type means every Events API event.
func (rt *Runtime) OnEvent(h Handler, types ...string) error {
	return rt.Handle(Filter{Kinds: []messages.Kind{messages.KindEventsAPI}, Types: types}, h)
}

// OnCommand runs h for the given slash commands ("/deploy"); none means every command. h may answer
// with ev.Respond before the response deadline.
func (rt *Runtime) OnCommand(h Handler, commands ...string) error {
	return rt.Handle(Filter{Kinds: []messages.Kind{messages.KindSlashCommand}, Types: commands}, h)
}

// OnInteraction runs h for interactions of the given types ("block_actions", "view_submission",
// "shortcut", …); none means every interaction.
func (rt *Runtime) OnInteraction(h Handler, types ...string) error {
	return rt.Handle(Filter{Kinds: []messages.Kind{messages.KindInteractive}, Types: types}, h)
}

// OnLifecycle runs f for every lifecycle event (Connecting, Connected, Disconnected,
// Reconnecting, Fatal), on its own actor.
func (rt *Runtime) OnLifecycle(f func(messages.Lifecycle), opts ...SubscribeOption) error {
	return rt.subscribe(engine.SubscriberSpec{Lifecycle: f}, opts)
}

// Subscribe spawns the actor of props and sends it every event that passes f, as *Event messages,
// one at a time (the next is sent once Receive returned). A panic restarts that actor alone.
func (rt *Runtime) Subscribe(f Filter, props *actor.Props, opts ...SubscribeOption) error {
	return rt.subscribe(engine.SubscriberSpec{Filter: f, Props: props}, opts)
}

// Unsubscribe stops a subscription by name.
func (rt *Runtime) Unsubscribe(ctx context.Context, name string) error {
	return rt.ask(ctx, rt.dispatcher, engine.Unsubscribe{Name: name})
}

func (rt *Runtime) subscribe(spec engine.SubscriberSpec, opts []SubscribeOption) error {
	for _, o := range opts {
		if err := o(&spec); err != nil {
			return err
		}
	}
	if spec.Name == "" {
		rt.mu.Lock()
		rt.subs++
		spec.Name = fmt.Sprintf("sub-%d", rt.subs)
		rt.mu.Unlock()
	}
	return rt.ask(context.Background(), rt.dispatcher, engine.Subscribe{Spec: spec})
}
