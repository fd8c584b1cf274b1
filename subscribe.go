package switchboard

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/switchboard-go/switchboard/actors"
	"github.com/switchboard-go/switchboard/messages"
)

// Filter selects events by kind, type, team and channel; an empty field matches everything.
type Filter = actors.Filter

// Overflow policies for a subscription's bounded queue.
const (
	DropNewest = actors.DropNewest
	DropOldest = actors.DropOldest
)

// SubscribeOption tunes one subscription.
type SubscribeOption func(*actors.SubscriberSpec) error

// Named names the subscription (in logs, stats and Unsubscribe). Default "sub-N".
func Named(name string) SubscribeOption {
	return func(s *actors.SubscriberSpec) error { s.Name = name; return nil }
}

// Queue bounds the events waiting for the subscription (per key when keyed) and says what a full
// queue drops. Default 1024, DropNewest. Drops are counted in Stats.Dropped.
func Queue(size int, overflow actors.Overflow) SubscribeOption {
	return func(s *actors.SubscriberSpec) error {
		if size <= 0 {
			return fmt.Errorf("switchboard: queue size %d must be positive", size)
		}
		s.QueueSize, s.Overflow = size, overflow
		return nil
	}
}

// PerTeam, PerChannel and PerThread run one actor per workspace, channel or thread, spawned on its
// first event and stopped after idle (default 5m) without events.
func PerTeam(idle time.Duration) SubscribeOption    { return keyBy(actors.KeyTeam, idle) }
func PerChannel(idle time.Duration) SubscribeOption { return keyBy(actors.KeyChannel, idle) }
func PerThread(idle time.Duration) SubscribeOption  { return keyBy(actors.KeyThread, idle) }

func keyBy(k actors.KeyBy, idle time.Duration) SubscribeOption {
	return func(s *actors.SubscriberSpec) error {
		if idle < 0 {
			return fmt.Errorf("switchboard: idle %v must not be negative", idle)
		}
		s.KeyBy, s.IdleAfter = k, idle
		return nil
	}
}

// Handle runs h for every event that passes f, on the subscription's own actor.
func (rt *Runtime) Handle(f Filter, h Handler, opts ...SubscribeOption) error {
	return rt.subscribe(actors.SubscriberSpec{Filter: f, Handler: h}, opts)
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
	return rt.subscribe(actors.SubscriberSpec{Lifecycle: f}, opts)
}

// Subscribe spawns the actor of props and sends it every event that passes f, as *Event messages,
// one at a time (the next is sent once Receive returned). A panic restarts that actor alone.
func (rt *Runtime) Subscribe(f Filter, props *actor.Props, opts ...SubscribeOption) error {
	return rt.subscribe(actors.SubscriberSpec{Filter: f, Props: props}, opts)
}

// Unsubscribe stops a subscription by name.
func (rt *Runtime) Unsubscribe(ctx context.Context, name string) error {
	return rt.ask(ctx, rt.dispatcher, actors.Unsubscribe{Name: name})
}

func (rt *Runtime) subscribe(spec actors.SubscriberSpec, opts []SubscribeOption) error {
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
	return rt.ask(context.Background(), rt.dispatcher, actors.Subscribe{Spec: spec})
}
