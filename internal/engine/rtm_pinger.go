package engine

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// rtmPinger keeps an RTM session alive and declares it stale, like pinger does for Socket Mode but
// at the JSON level: once nothing has arrived for interval it asks the writer for a
// {"id":n,"type":"ping"}, and if no pong comes within pongTimeout it tells the connection the link
// is stale. Any inbound frame resets the idle clock, so a busy link sends no pings. Its timer is
// stopped when it stops.
type rtmPinger struct {
	env         *Env
	sess        *session
	parent      *actor.PID
	writer      *actor.PID
	interval    time.Duration
	pongTimeout time.Duration
	timer       *time.Timer
	awaiting    bool
	sentAt      time.Time
}

// rtmPong tells the pinger that a pong arrived.
type rtmPong struct{ session uint64 }

func rtmPingerProps(env *Env, sess *session, parent, writer *actor.PID, interval, pongTimeout time.Duration) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &rtmPinger{env: env, sess: sess, parent: parent, writer: writer, interval: interval, pongTimeout: pongTimeout}
	})
}

func (p *rtmPinger) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		p.schedule(ctx)
	case pingTick:
		if msg.session == p.sess.gen {
			p.tick(ctx)
		}
	case rtmPong:
		if msg.session == p.sess.gen {
			p.awaiting = false
		}
	case *actor.Stopping, *actor.Restarting:
		if p.timer != nil {
			p.timer.Stop()
		}
	}
}

func (p *rtmPinger) tick(ctx actor.Context) {
	now := time.Now()
	if p.awaiting {
		if p.sess.paused.Load() {
			p.sentAt = now // the pong waits behind frames the reader holds back: not a dead link
		} else if waited := now.Sub(p.sentAt); waited > p.pongTimeout {
			ctx.Send(p.parent, LinkStale{Session: p.sess.gen, Silent: p.sess.silentFor(now)})
			return
		}
	} else if p.sess.silentFor(now) >= p.interval {
		ctx.Send(p.writer, rtmPingReq{})
		p.awaiting, p.sentAt = true, now
	}
	p.schedule(ctx)
}

// schedule arms the next tick: twice per interval or pong timeout, whichever is shorter.
func (p *rtmPinger) schedule(ctx actor.Context) {
	every := min(p.interval, p.pongTimeout) / 2
	if every <= 0 {
		every = time.Second
	}
	p.timer = p.env.after(every, ctx.Self(), pingTick{session: p.sess.gen})
}
