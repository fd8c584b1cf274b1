package actors

import (
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/switchboard-go/switchboard/messages"
)

// keyed spawns one subscriber per key (team, channel or thread) on demand, each with its own
// bounded queue, and stops a key's subscriber once it has been idle for IdleAfter. Idle checks are
// timers sending generation-tagged messages; all are stopped when keyed stops.
type keyed struct {
	env      *Env
	spec     SubscriberSpec
	backlog  *atomic.Int64 // shared by every key's queue
	keys     map[string]*keyChild
	stopping bool
}

// HandleFailure restarts a key's subscriber alone.
func (k *keyed) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason, _ any) {
	restartAlone(k.env, k.spec.Name, k.stopping, sup, child, reason)
}

type keyChild struct {
	pid   *actor.PID
	q     *queue
	last  time.Time
	gen   int
	timer *time.Timer
}

type keyedEvent struct{ ev *messages.Event }
type idleCheck struct {
	key string
	gen int
}

func keyedProps(env *Env, spec SubscriberSpec, backlog *atomic.Int64) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &keyed{env: env, spec: spec, backlog: backlog, keys: map[string]*keyChild{}}
	})
}

func (k *keyed) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case keyedEvent:
		k.route(ctx, msg.ev)
	case idleCheck:
		k.idle(ctx, msg)
	case *actor.Stopping, *actor.Restarting:
		_, k.stopping = msg.(*actor.Stopping)
		for _, c := range k.keys {
			c.timer.Stop()
		}
		k.keys = map[string]*keyChild{}
	}
}

func (k *keyed) route(ctx actor.Context, ev *messages.Event) {
	key := keyOf(k.spec.KeyBy, ev)
	c := k.keys[key]
	if c == nil {
		q := newQueue(k.spec.QueueSize, k.spec.Overflow, k.backlog)
		spec := k.spec
		spec.Name = k.spec.Name + "/" + key
		c = &keyChild{pid: ctx.Spawn(subscriberProps(k.env, spec, q)), q: q}
		k.keys[key] = c
		c.timer = k.env.after(k.spec.IdleAfter, ctx.Self(), idleCheck{key: key, gen: c.gen})
	}
	c.last = time.Now()
	pushTo(ctx, k.env, c.pid, c.q, ev)
	k.backlog.Add(-1) // counted by the dispatcher until now; the key's queue counts it from here
}

func (k *keyed) idle(ctx actor.Context, msg idleCheck) {
	c := k.keys[msg.key]
	if c == nil || c.gen != msg.gen {
		return
	}
	c.gen++
	// A key's subscriber is stopped only with nothing queued or in a handler: stopping it while its
	// user actor still has an event in its mailbox would drop that event.
	if quiet := time.Since(c.last); quiet < k.spec.IdleAfter || c.q.unfinished() > 0 {
		c.timer = k.env.after(k.spec.IdleAfter-quiet+time.Millisecond, ctx.Self(), idleCheck{key: msg.key, gen: c.gen})
		return
	}
	ctx.Poison(c.pid)
	delete(k.keys, msg.key)
}

func keyOf(by KeyBy, ev *messages.Event) string {
	switch by {
	case KeyTeam:
		return ev.Team
	case KeyChannel:
		return ev.Team + "/" + ev.Channel
	default:
		return ev.Team + "/" + ev.Channel + "/" + ev.ThreadTS
	}
}

// pushTo queues item for a subscriber, waking it if idle, and accounts for what overflow drops.
func pushTo(ctx actor.Context, env *Env, pid *actor.PID, q *queue, item any) {
	dropped, wakeUp := q.push(item)
	if dropped != nil {
		env.Stats.Dropped.Add(1)
		release(dropped)
	}
	if dropped != item {
		env.Stats.Dispatched.Add(1)
	}
	if wakeUp {
		ctx.Send(pid, wake{})
	}
}
