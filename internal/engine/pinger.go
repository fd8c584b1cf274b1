package engine

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// pinger keeps a session alive and declares it stale: every interval it asks the writer for a
// ping, and once no traffic (frames, pings, pongs) has arrived for staleAfter it tells the
// connection. Its timer is stopped when it stops.
type pinger struct {
	env        *Env
	sess       *session
	parent     *actor.PID
	writer     *actor.PID
	interval   time.Duration
	staleAfter time.Duration
	timer      *time.Timer
	lastPing   time.Time
}

type pingTick struct{ session uint64 }

func pingerProps(env *Env, sess *session, parent, writer *actor.PID, interval, staleAfter time.Duration) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &pinger{env: env, sess: sess, parent: parent, writer: writer, interval: interval, staleAfter: staleAfter}
	})
}

func (p *pinger) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		p.lastPing = time.Now()
		p.schedule(ctx)
	case pingTick:
		if msg.session == p.sess.gen {
			p.tick(ctx)
		}
	case *actor.Stopping, *actor.Restarting:
		if p.timer != nil {
			p.timer.Stop()
		}
	}
}

func (p *pinger) tick(ctx actor.Context) {
	now := time.Now()
	if silent := p.sess.silentFor(now); silent > p.staleAfter {
		ctx.Send(p.parent, LinkStale{Session: p.sess.gen, Silent: silent})
		return
	}
	if now.Sub(p.lastPing) >= p.interval {
		ctx.Send(p.writer, SendPing{})
		p.lastPing = now
	}
	p.schedule(ctx)
}

// schedule arms the next tick: often enough to notice staleness within a quarter of the window.
func (p *pinger) schedule(ctx actor.Context) {
	every := min(p.interval, p.staleAfter/4)
	if every <= 0 {
		every = time.Second
	}
	p.timer = p.env.after(every, ctx.Self(), pingTick{session: p.sess.gen})
}
