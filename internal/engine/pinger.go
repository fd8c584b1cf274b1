package engine

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// pinger keeps a session alive and declares it stale. On a timer of the runtime's clock it asks
// its probe what to do: send the writer a ping, tell the connection the link is stale (and stop
// ticking), or nothing. Socket Mode's probe (wsProbe) sends WebSocket pings and counts silence;
// RTM's (jsonProbe) sends JSON pings once the link is idle and waits for their pong. Its timer is
// stopped when it stops; it ends with its connection.
type pinger struct {
	env    *Env
	sess   *session
	parent *actor.PID
	writer *actor.PID
	probe  probe
	timer  Timer
}

// probe is a pinger's liveness check of one session.
type probe interface {
	// every is the tick period.
	every() time.Duration
	// start is called once, when the pinger starts.
	start(now time.Time)
	// tick returns the ping to ask the writer for (nil for none) or stale set when the link is.
	tick(now time.Time, sess *session) (ping any, stale *LinkStale)
	// pong records that the pong of the last ping arrived.
	pong()
}

type pingTick struct{ session uint64 }

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
		p.probe.start(p.env.now())
		p.schedule(ctx)
	case pingTick:
		if msg.session == p.sess.gen {
			p.tick(ctx)
		}
	case pongRead:
		if msg.session == p.sess.gen {
			p.probe.pong()
		}
	case *actor.Stopping, *actor.Restarting:
		stopTimer(p.timer)
	}
}

func (p *pinger) tick(ctx actor.Context) {
	ping, stale := p.probe.tick(p.env.now(), p.sess)
	if stale != nil {
		stale.Session = p.sess.gen
		ctx.Send(p.parent, *stale)
		return
	}
	if ping != nil {
		ctx.Send(p.writer, ping)
	}
	p.schedule(ctx)
}

func (p *pinger) schedule(ctx actor.Context) {
	every := p.probe.every()
	if every <= 0 {
		every = time.Second
	}
	p.timer = p.env.after(every, ctx.Self(), pingTick{session: p.sess.gen})
}

// wsProbe is Socket Mode's: a WebSocket ping every interval, and the link is stale once no
// traffic (frames, pings, pongs) has arrived for staleAfter.
type wsProbe struct {
	interval, staleAfter time.Duration
	lastPing             time.Time
}

// every ticks often enough to notice staleness within a quarter of the window.
func (w *wsProbe) every() time.Duration { return min(w.interval, w.staleAfter/4) }

func (w *wsProbe) start(now time.Time) { w.lastPing = now }

func (w *wsProbe) tick(now time.Time, sess *session) (any, *LinkStale) {
	if silent := sess.silentFor(now); silent > w.staleAfter {
		return nil, &LinkStale{Silent: silent}
	}
	if now.Sub(w.lastPing) >= w.interval {
		w.lastPing = now
		return SendPing{}, nil
	}
	return nil, nil
}

func (w *wsProbe) pong() {}

// jsonProbe is RTM's: once nothing has arrived for interval it asks the writer for a
// {"id":n,"type":"ping"}, and if no pong comes within pongTimeout the link is stale. Any inbound
// frame resets the idle clock, so a busy link sends no pings.
type jsonProbe struct {
	interval, pongTimeout time.Duration
	awaiting              bool
	sentAt                time.Time
}

// every ticks twice per interval or pong timeout, whichever is shorter.
func (j *jsonProbe) every() time.Duration { return min(j.interval, j.pongTimeout) / 2 }

func (j *jsonProbe) start(time.Time) {}

func (j *jsonProbe) tick(now time.Time, sess *session) (any, *LinkStale) {
	if j.awaiting {
		if sess.paused.Load() {
			j.sentAt = now // the pong waits behind frames the reader holds back: not a dead link
		} else if now.Sub(j.sentAt) > j.pongTimeout {
			return nil, &LinkStale{Silent: sess.silentFor(now), NoPong: true}
		}
		return nil, nil
	}
	if sess.silentFor(now) >= j.interval {
		j.awaiting, j.sentAt = true, now
		return rtmPingReq{}, nil
	}
	return nil, nil
}

func (j *jsonProbe) pong() { j.awaiting = false }
