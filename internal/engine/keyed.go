package engine

import (
	"container/list"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/switchboard-go/switchboard/messages"
)

// keyed spawns one subscriber per key (team, channel or thread) on demand, each with its own
// queue, and stops a key's subscriber once it has been idle for IdleAfter. Idle checks are timers
// sending generation-tagged messages; all are stopped when keyed stops.
//
// Live keys are capped (MaxKeys). At the cap, a new key takes the place of the least recently used
// key with nothing queued or in its handler (stopping it loses nothing). When every key is busy,
// events wait in parked, in arrival order, and keyed retries shortly: a parked event is not placed
// yet, so it holds its reader's credit and the readers fall back on TCP's backpressure.
type keyed struct {
	env      *Env
	spec     SubscriberSpec
	counts   *subCounts // shared by every key's queue
	keys     map[string]*keyChild
	lru      *list.List // of *keyChild, most recently used at the front
	parked   []keyedEvent
	retrying bool
	leaving  int  // key subscribers stopped and not yet terminated: they count toward the cap
	retiring bool // unsubscribed: every key finishes what it has, then keyed stops
	stopping bool
}

// HandleFailure restarts a key's subscriber alone.
func (k *keyed) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason, _ any) {
	restartAlone(k.env, k.spec.Name, k.stopping, sup, child, reason)
}

type keyChild struct {
	key   string
	pid   *actor.PID
	q     *queue
	last  time.Time
	gen   int
	timer Timer
	elem  *list.Element
}

type keyedEvent struct {
	it    item
	place *Placement
}
type idleCheck struct {
	key string
	gen int
}
type retryParked struct{}

// parkRetry is how often keyed retries placing parked events while every key is busy.
const parkRetry = 5 * time.Millisecond

func keyedProps(env *Env, spec SubscriberSpec, counts *subCounts) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &keyed{env: env, spec: spec, counts: counts, keys: map[string]*keyChild{}, lru: list.New()}
	})
}

func (k *keyed) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case keyedEvent:
		if len(k.parked) > 0 || !k.route(ctx, msg) {
			k.park(ctx, msg)
		}
	case retryParked:
		k.retrying = false
		k.unpark(ctx)
	case unsubscribed:
		k.retiring = true
		for _, c := range k.keys {
			k.retireKey(ctx, c)
		}
		k.stopIfRetired(ctx)
	case idleCheck:
		k.idle(ctx, msg)
	case keyIdle:
		msg.answer(k.keyIsIdle(msg.key))
	case *actor.Terminated:
		if k.leaving > 0 {
			k.leaving--
			if len(k.parked) > 0 {
				k.unpark(ctx)
			}
		}
		k.stopIfRetired(ctx)
	case *actor.Stopping, *actor.Restarting:
		_, k.stopping = msg.(*actor.Stopping)
		for _, c := range k.keys {
			c.timer.Stop()
		}
		k.counts.keys.Add(-int64(len(k.keys)))
		k.keys, k.leaving = map[string]*keyChild{}, 0
		k.lru.Init()
		// Parked events were never placed: their placement is let go so that their acks (and
		// readers) are not held forever; they are counted as dropped.
		for _, ke := range k.parked {
			k.counts.dropped.Add(1)
			k.counts.backlog.Add(-1)
			k.env.Stats.Dropped.Add(1)
			release(ke.it)
			placed(ke.place)
		}
		k.parked = nil
	}
}

// route queues ev for its key, spawning the key's subscriber if needed; false when the key is new,
// the cap is reached and no key can make room.
func (k *keyed) route(ctx actor.Context, ke keyedEvent) bool {
	key := keyOf(k.spec.KeyBy, ke.it.ev)
	c := k.keys[key]
	if c == nil {
		if len(k.keys)+k.leaving >= k.maxKeys() {
			// Make room, and wait (parked) until the replaced key's subscriber has stopped, so
			// that no more than MaxKeys ever live.
			if k.leaving == 0 {
				k.evict(ctx)
			}
			return false
		}
		key = strings.Clone(key) // kept in the map: not the frame's memory
		q := newQueue(k.spec.QueueSize, k.spec.Overflow, k.env.Flow, k.counts)
		spec := k.spec
		spec.Name = k.spec.Name + "/" + key
		c = &keyChild{key: key, pid: ctx.Spawn(subscriberProps(k.env, spec, q)), q: q}
		c.elem = k.lru.PushFront(c)
		k.keys[key] = c
		k.counts.keys.Add(1)
		c.timer = k.env.after(k.spec.IdleAfter, ctx.Self(), idleCheck{key: key, gen: c.gen})
	} else {
		k.lru.MoveToFront(c.elem)
	}
	c.last = k.env.now()
	pushTo(ctx, k.env, c.pid, c.q, ke.it)
	k.counts.backlog.Add(-1) // counted by the dispatcher until now; the key's queue counts it from here
	placed(ke.place)
	if k.retiring { // a parked event placed after the subscription ended
		k.retireKey(ctx, c)
	}
	return true
}

// keyIsIdle reports whether key has nothing queued, in a handler, or parked.
func (k *keyed) keyIsIdle(key string) bool {
	if c := k.keys[key]; c != nil && c.q.unfinished() > 0 {
		return false
	}
	for _, ke := range k.parked {
		if keyOf(k.spec.KeyBy, ke.it.ev) == key {
			return false
		}
	}
	return true
}

// retireKey tells a key's subscriber to stop once it has handled what it has.
func (k *keyed) retireKey(ctx actor.Context, c *keyChild) {
	c.timer.Stop()
	ctx.Send(c.pid, unsubscribed{})
	k.lru.Remove(c.elem)
	delete(k.keys, c.key)
	k.counts.keys.Add(-1)
	k.leaving++
}

// stopIfRetired stops a retired keyed once every key's subscriber ended and nothing is parked.
func (k *keyed) stopIfRetired(ctx actor.Context) {
	if k.retiring && len(k.keys) == 0 && k.leaving == 0 && len(k.parked) == 0 {
		ctx.Stop(ctx.Self())
	}
}

func (k *keyed) maxKeys() int {
	if k.spec.MaxKeys > 0 {
		return k.spec.MaxKeys
	}
	return DefaultMaxKeys
}

// evictScan bounds how many keys, from the least recently used, evict looks at.
const evictScan = 64

// evict stops the least recently used key that has nothing queued or in its handler; false when
// every key it looked at is busy.
func (k *keyed) evict(ctx actor.Context) bool {
	e := k.lru.Back()
	for i := 0; e != nil && i < evictScan; i++ {
		c := e.Value.(*keyChild)
		if c.q.unfinished() == 0 {
			k.stopKey(ctx, c)
			return true
		}
		e = e.Prev()
	}
	return false
}

func (k *keyed) stopKey(ctx actor.Context, c *keyChild) {
	c.timer.Stop()
	ctx.Poison(c.pid)
	k.leaving++
	k.lru.Remove(c.elem)
	delete(k.keys, c.key)
	k.counts.keys.Add(-1)
}

func (k *keyed) park(ctx actor.Context, ke keyedEvent) {
	k.parked = append(k.parked, ke)
	if !k.retrying && k.leaving == 0 {
		k.retrying = true
		k.env.after(parkRetry, ctx.Self(), retryParked{})
	}
}

// unpark places parked events in order until one still cannot be placed.
func (k *keyed) unpark(ctx actor.Context) {
	n := 0
	for n < len(k.parked) && k.route(ctx, k.parked[n]) {
		k.parked[n] = keyedEvent{}
		n++
	}
	k.parked = k.parked[n:]
	if len(k.parked) == 0 {
		k.parked = nil
		return
	}
	if !k.retrying && k.leaving == 0 { // a leaving key's Terminated retries by itself
		k.retrying = true
		k.env.after(parkRetry, ctx.Self(), retryParked{})
	}
}

func (k *keyed) idle(ctx actor.Context, msg idleCheck) {
	c := k.keys[msg.key]
	if c == nil || c.gen != msg.gen {
		return
	}
	c.gen++
	// A key's subscriber is stopped only with nothing queued or in a handler: stopping it while its
	// user actor still has an event in its mailbox would drop that event.
	if quiet := k.env.now().Sub(c.last); quiet < k.spec.IdleAfter || c.q.unfinished() > 0 {
		c.timer = k.env.after(k.spec.IdleAfter-quiet+time.Millisecond, ctx.Self(), idleCheck{key: msg.key, gen: c.gen})
		return
	}
	k.stopKey(ctx, c)
}

// keyOf returns the key of ev. It may share the memory of ev's frame: clone it to keep it.
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

// pushTo queues it for a subscriber, waking it if idle, and accounts for what overflow drops.
func pushTo(ctx actor.Context, env *Env, pid *actor.PID, q *queue, it item) {
	oldest, droppedNew, droppedOld, wakeUp := q.push(it)
	switch {
	case droppedNew:
		release(it)
	case droppedOld:
		release(oldest)
	}
	if droppedNew || droppedOld {
		env.Stats.Dropped.Add(1)
		q.counts.logDrops(env.Log, q.policy, env.now())
	}
	if !droppedNew {
		env.Stats.Dispatched.Add(1)
	}
	if wakeUp {
		ctx.Send(pid, wake{})
	}
}

// placed lets go of the hold on a placement taken for one keyed subscription.
func placed(p *Placement) {
	if p != nil {
		p.Placed()
	}
}
