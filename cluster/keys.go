package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/switchboard-go/switchboard/cluster/clusterpb"
	"github.com/switchboard-go/switchboard/internal/clusterlink"
)

// Clustered keyed subscriptions. Each key of such a subscription (a team, a channel, a thread)
// has one grain in the cluster, of kind KeyKind, placed by protoactor's identity lookup; every
// member sends the key's events to it (SendKeyed), one at a time per key, and the grain hands them
// to its member's runtime (KeyHost.Place), which runs the key's handler there. So a key's events
// run on one member, one at a time, in the order each member read them.
//
// A grain moves when the members change (protoactor stops the ones whose owner changed). The
// key's new grain first asks every other member whether the key still has events queued or in a
// handler there (the keys actor of each member answers KeyIdle), and takes events only once none
// has: the old member finishes what it accepted before the new one begins.

// KeyKind is the grain kind of a clustered subscription's keys.
const KeyKind = "switchboard.key"

// keysActor is the name of each member's actor that answers KeyIdle.
const keysActor = "switchboard-keys"

// Tunables of the key grains.
const (
	// sendTimeout bounds one attempt of SendKeyed; a resend has the same seq, and the grain
	// answers it with the original's answer (a killed member's keys are sent again this soon).
	sendTimeout = 2 * time.Second
	// fenceLimit bounds how long a key's new grain waits for the other members to finish the key.
	fenceLimit = 30 * time.Second
	// fencePoll is how often the new grain asks a member that still has events of the key.
	fencePoll = 20 * time.Millisecond
	// stuckAfter is how long SendKeyed retries before it logs that a key's event is stuck.
	stuckAfter = 5 * time.Second
	// grainIdle stops a grain that had no event for that long (its key's actor idles out on its
	// own, after the subscription's IdleAfter).
	grainIdle = 2 * time.Minute
)

// KeyHost is a runtime's side of the key grains placed on its member: Place queues an event for
// its key and calls done once it sits in the key's queue (or, with acks after handlers, once its
// handlers returned); Idle answers whether a key has nothing queued or in a handler there.
type KeyHost = clusterlink.KeyHost

// ServeKeys makes h the host of the key grains placed on this member. Until it is called, a
// grain rejects events (the sender retries) and the member answers every KeyIdle with idle.
func (m *Membership) ServeKeys(h KeyHost) { m.host.Store(&h) }

func (m *Membership) keyHost() KeyHost {
	if h := m.host.Load(); h != nil {
		return *h
	}
	return nil
}

// KeyIdentity is the grain identity of a subscription's key.
func KeyIdentity(subscription, key string) string {
	return strconv.Itoa(len(subscription)) + ":" + subscription + "/" + key
}

// ErrRejected: a key's grain answered Rejected until the context ended.
var ErrRejected = errors.New("cluster: the key's member rejected the event")

// SendKeyed sends ev (its Subscription and Key set) to the grain of its key and returns once the
// grain's member has queued it. It retries, with the same seq, until then or until ctx ends: a
// member that died, a grain that moved, an answer lost. Send a key's events one at a time to keep
// their order.
func (m *Membership) SendKeyed(ctx context.Context, ev *clusterpb.KeyedEvent) error {
	ev.Origin, ev.Seq = m.origin, m.seq.Add(1)
	id := KeyIdentity(ev.Subscription, ev.Key)
	backoff := 5 * time.Millisecond
	var last error
	start, warned := time.Now(), false
	for {
		if pid := m.cluster.Get(id, KeyKind); pid != nil {
			res, err := m.system.Root.RequestFuture(pid, ev, sendTimeout).Result()
			switch r := res.(type) {
			case *clusterpb.Accepted:
				return nil
			case *clusterpb.Rejected:
				last = fmt.Errorf("%w: %s", ErrRejected, r.Reason)
			default:
				if err == nil {
					err = fmt.Errorf("cluster: unexpected answer %T", res)
				}
				last = err
				m.cluster.PidCache.RemoveByValue(id, KeyKind, pid) // dead, or moved: look it up again
			}
		} else {
			last = errors.New("cluster: no member hosts the key")
		}
		if !warned && time.Since(start) > stuckAfter {
			warned = true // a member without the subscription (another version of the program), or none reachable
			m.cfg.Log.WithField("subscription", ev.Subscription).WithField("key", ev.Key).
				Warnf("cluster: a key's event is still not taken after %v, retrying: %v", stuckAfter, last)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: send to key %q of %q: %w (last: %v)", ev.Key, ev.Subscription, ctx.Err(), last)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// keys answers KeyIdle for this member.
type keys struct{ m *Membership }

func (k *keys) Receive(ctx actor.Context) {
	q, ok := ctx.Message().(*clusterpb.KeyIdle)
	if !ok {
		return
	}
	sender := ctx.Sender()
	h := k.m.keyHost()
	if h == nil || sender == nil {
		ctx.Respond(&clusterpb.KeyIdleReply{Idle: true})
		return
	}
	root := ctx.ActorSystem().Root
	h.Idle(q.Subscription, q.Key, func(idle bool) { root.Send(sender, &clusterpb.KeyIdleReply{Idle: idle}) })
}

// keyGrain is one key's grain.
type keyGrain struct {
	m       *Membership
	state   grainState
	waiting []pendingEvent       // events that came while fencing, in arrival order
	seen    map[string]uint64    // origin → highest seq placed or being placed
	busy    map[string]*inFlight // origin → its event the host has not answered yet
	cancel  context.CancelFunc
}

type grainState int

const (
	unfenced grainState = iota // no event yet
	fencing                    // asking the other members whether they finished the key
	open                       // placing events as they come
)

// inFlight is an event the host has not answered yet, and the senders of its resends (a sender
// resends when its attempt timed out: a handler slower than that, with acks after handlers).
type inFlight struct {
	seq     uint64
	waiters []*actor.PID
}

type pendingEvent struct {
	ev     *clusterpb.KeyedEvent
	sender *actor.PID
}

// fenceOver tells a grain that its fence is over; hostAnswered, that the host is done with an
// event (err nil) or could not take it.
type fenceOver struct{}
type hostAnswered struct {
	origin string
	seq    uint64
	err    error
}

func (g *keyGrain) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		g.seen, g.busy = map[string]uint64{}, map[string]*inFlight{}
		ctx.SetReceiveTimeout(grainIdle)
	case *clusterpb.KeyedEvent:
		if msg.Seq <= g.seen[msg.Origin] {
			if b := g.busy[msg.Origin]; b != nil && b.seq == msg.Seq {
				b.waiters = append(b.waiters, ctx.Sender()) // answered with the original
				return
			}
			ctx.Respond(&clusterpb.Accepted{}) // a resend of one the host took already
			return
		}
		g.seen[msg.Origin] = msg.Seq
		g.busy[msg.Origin] = &inFlight{seq: msg.Seq}
		switch g.state {
		case unfenced:
			g.state = fencing
			g.waiting = append(g.waiting, pendingEvent{msg, ctx.Sender()})
			g.fence(ctx, msg.Subscription, msg.Key)
		case fencing:
			g.waiting = append(g.waiting, pendingEvent{msg, ctx.Sender()})
		case open:
			g.place(ctx, msg, ctx.Sender())
		}
	case fenceOver:
		g.state = open
		for _, p := range g.waiting {
			g.place(ctx, p.ev, p.sender)
		}
		g.waiting = nil
	case hostAnswered:
		var answer proto.Message = &clusterpb.Accepted{}
		if msg.err != nil {
			answer = &clusterpb.Rejected{Reason: msg.err.Error()}
			if g.seen[msg.origin] == msg.seq {
				g.seen[msg.origin] = msg.seq - 1 // its resend is placed anew
			}
		}
		if b := g.busy[msg.origin]; b != nil && b.seq == msg.seq {
			for _, w := range b.waiters {
				ctx.Send(w, answer)
			}
			delete(g.busy, msg.origin)
		}
	case *actor.ReceiveTimeout: // protoactor cancels the timeout as it fires
		if g.state == fencing || len(g.busy) > 0 {
			ctx.SetReceiveTimeout(grainIdle) // an event still at the host: a new grain here would not wait for it
			return
		}
		ctx.Stop(ctx.Self())
	case *actor.Stopping:
		if g.cancel != nil {
			g.cancel()
		}
		for _, p := range g.waiting { // never placed: their senders send them again
			no := &clusterpb.Rejected{Reason: "the key's grain stopped"}
			ctx.Send(p.sender, no)
			if b := g.busy[p.ev.Origin]; b != nil && b.seq == p.ev.Seq {
				for _, w := range b.waiters {
					ctx.Send(w, no)
				}
			}
		}
		g.waiting = nil
	}
}

// place hands ev to the host; the answer goes to sender when the host is done with it.
func (g *keyGrain) place(ctx actor.Context, ev *clusterpb.KeyedEvent, sender *actor.PID) {
	root, self := ctx.ActorSystem().Root, ctx.Self()
	h := g.m.keyHost()
	if h == nil {
		ctx.Send(self, hostAnswered{ev.Origin, ev.Seq, errors.New("the member serves no keys yet")})
		ctx.Send(sender, &clusterpb.Rejected{Reason: "the member serves no keys yet"})
		return
	}
	h.Place(ev, func(err error) {
		// The sender is answered directly (the grain may have stopped meanwhile), the grain so
		// that it answers the resends.
		if err != nil {
			root.Send(sender, &clusterpb.Rejected{Reason: err.Error()})
		} else {
			root.Send(sender, &clusterpb.Accepted{})
		}
		root.Send(self, hostAnswered{ev.Origin, ev.Seq, err})
	})
}

// fence asks every other member, until each says the key is idle there (or does not answer: it
// is gone), then sends the grain fenceOver. It runs on its own goroutine, which the grain's
// stopping ends.
func (g *keyGrain) fence(ctx actor.Context, subscription, key string) {
	fctx, cancel := context.WithTimeout(context.Background(), fenceLimit)
	g.cancel = cancel
	root, self := ctx.ActorSystem().Root, ctx.Self()
	others := make([]string, 0, 4)
	for _, mb := range g.m.Members() {
		if mb != g.m.self {
			others = append(others, mb)
		}
	}
	q := &clusterpb.KeyIdle{Subscription: subscription, Key: key}
	go func() { // owner: the grain; ends when every member answered, at fenceLimit, or when the grain stops
		defer cancel()
		var wg sync.WaitGroup
		for _, mb := range others {
			wg.Add(1)
			go func() { // owner: the fence above, which waits for it
				defer wg.Done()
				pid := actor.NewPID(mb, keysActor)
				for fctx.Err() == nil {
					res, err := root.RequestFuture(pid, q, time.Second).Result()
					if r, ok := res.(*clusterpb.KeyIdleReply); err != nil || !ok || r.Idle {
						return // idle, or the member is gone
					}
					select {
					case <-fctx.Done():
					case <-time.After(fencePoll):
					}
				}
			}()
		}
		wg.Wait()
		if errors.Is(fctx.Err(), context.DeadlineExceeded) {
			g.m.cfg.Log.WithField("key", key).Warnf("cluster: key of %q still busy on another member after %v: its new grain takes events now", subscription, fenceLimit)
		}
		if fctx.Err() != context.Canceled {
			root.Send(self, fenceOver{})
		}
	}()
}

// incarnation names this process's run: a member restarted on the same address is a new origin.
func incarnation(self string) string {
	return self + "@" + strconv.FormatInt(time.Now().UnixNano(), 36)
}
