package engine

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// pinger keeps a session alive and declares it stale. It asks its probe what to do, and when to
// ask next, on one timer of the runtime's clock armed for exactly that moment (no periodic tick:
// an idle RTM link wakes once per ping): send the writer a ping, tell the connection the link is
// stale (and stop), or nothing. Socket Mode's probe (wsProbe) sends WebSocket pings and counts
// silence; RTM's (jsonProbe) sends JSON pings once the link is idle and waits for their pong. Its
// timer is stopped when it stops; it ends with its connection.
type pinger struct {
	env    *Env
	sess   *session
	parent *actor.PID
	writer *actor.PID
	probe  probe
	timer  Timer
	gen    int // of the armed timer: a tick of an older one is ignored
}

// probe is a pinger's liveness check of one session.
type probe interface {
	// start is called once, when the pinger starts; it returns when to check first.
	start(now time.Time, sess *session) (next time.Duration)
	// check returns the ping to ask the writer for (nil for none), or stale set when the link
	// is, and otherwise when to check next.
	check(now time.Time, sess *session) (ping any, stale *LinkStale, next time.Duration)
	// pong records that the pong of the last ping arrived; it returns when to check next, or 0
	// to keep the timer as it is.
	pong(now time.Time, sess *session) (next time.Duration)
}

// minCheck bounds how soon a pinger checks again.
const minCheck = 10 * time.Millisecond

type pingTick struct {
	session uint64
	gen     int
}

// pongRead tells the pinger that a pong arrived.
type pongRead struct{ session uint64 }

func pingerProps(env *Env, sess *session, parent, writer *actor.PID, p probe) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &pinger{env: env, sess: sess, parent: parent, writer: writer, probe: p}
	})
}

func (p *pinger) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		p.schedule(ctx, p.probe.start(p.env.now(), p.sess))
	case pingTick:
		if msg.session == p.sess.gen && msg.gen == p.gen {
			p.check(ctx)
		}
	case pongRead:
		if msg.session == p.sess.gen {
			if next := p.probe.pong(p.env.now(), p.sess); next > 0 {
				p.schedule(ctx, next)
			}
		}
	case *actor.Stopping, *actor.Restarting:
		stopTimer(p.timer)
	}
}

func (p *pinger) check(ctx actor.Context) {
	ping, stale, next := p.probe.check(p.env.now(), p.sess)
	if stale != nil {
		stale.Session = p.sess.gen
		ctx.Send(p.parent, *stale)
		return
	}
	if ping != nil {
		ctx.Send(p.writer, ping)
	}
	p.schedule(ctx, next)
}

// schedule arms the one timer for next (replacing the armed one).
func (p *pinger) schedule(ctx actor.Context, next time.Duration) {
	stopTimer(p.timer)
	p.gen++
	p.timer = p.env.after(max(next, minCheck), ctx.Self(), pingTick{session: p.sess.gen, gen: p.gen})
}

// wsProbe is Socket Mode's: a WebSocket ping every interval, and the link is stale once no
// traffic (frames, pings, pongs) has arrived for staleAfter.
type wsProbe struct {
	interval, staleAfter time.Duration
	lastPing             time.Time
}

func (w *wsProbe) start(now time.Time, sess *session) time.Duration {
	w.lastPing = now
	return w.next(now, sess)
}

func (w *wsProbe) check(now time.Time, sess *session) (any, *LinkStale, time.Duration) {
	if silent := sess.silentFor(now); silent >= w.staleAfter {
		return nil, &LinkStale{Silent: silent}, 0
	}
	var ping any
	if now.Sub(w.lastPing) >= w.interval {
		w.lastPing = now
		ping = SendPing{}
	}
	return ping, nil, w.next(now, sess)
}

// next is the sooner of the next ping and the moment the link would have been silent for
// staleAfter.
func (w *wsProbe) next(now time.Time, sess *session) time.Duration {
	return min(w.lastPing.Add(w.interval).Sub(now), w.staleAfter-sess.silentFor(now))
}

func (w *wsProbe) pong(time.Time, *session) time.Duration { return 0 }

// jsonProbe is RTM's: once nothing has arrived for interval it asks the writer for a
// {"id":n,"type":"ping"}, and if no pong comes within pongTimeout the link is stale: a dead link
// is noticed at most interval+pongTimeout after its last frame. Any inbound frame resets the
// idle clock, so a busy link sends no pings.
type jsonProbe struct {
	interval, pongTimeout time.Duration
	awaiting              bool
	sentAt                time.Time
}

func (j *jsonProbe) start(now time.Time, sess *session) time.Duration {
	return j.interval - sess.silentFor(now)
}

func (j *jsonProbe) check(now time.Time, sess *session) (any, *LinkStale, time.Duration) {
	if j.awaiting {
		if sess.paused.Load() {
			j.sentAt = now // the pong waits behind frames the reader holds back: not a dead link
		} else if now.Sub(j.sentAt) >= j.pongTimeout {
			return nil, &LinkStale{Silent: sess.silentFor(now), NoPong: true}, 0
		}
		return nil, nil, j.sentAt.Add(j.pongTimeout).Sub(now)
	}
	if silent := sess.silentFor(now); silent < j.interval {
		return nil, nil, j.interval - silent
	}
	j.awaiting, j.sentAt = true, now
	return rtmPingReq{}, nil, j.pongTimeout
}

func (j *jsonProbe) pong(now time.Time, sess *session) time.Duration {
	j.awaiting = false
	return max(j.interval-sess.silentFor(now), minCheck)
}
