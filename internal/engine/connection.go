package engine

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gorilla/websocket"
	"github.com/sirupsen/logrus"

	"github.com/switchboard-go/switchboard/messages"
)

// transport is what a connection's session does differently over Socket Mode and RTM. The specs
// implement it (SocketModeSpec, RTMSpec); the connection actor drives the session the same way
// for both.
type transport interface {
	LinkSpec
	// logFields are the connection's log fields but the session: app or team, and link.
	logFields() logrus.Fields
	// helloTimeout is how long a dialed socket may wait for hello.
	helloTimeout() time.Duration
	// open asks the Web API for the socket URL; body is the answer when the transport keeps it.
	open(ctx context.Context, env *Env) (url string, body []byte, err error)
	// dialer dials the socket with header.
	dialer(env *Env) (d *websocket.Dialer, header http.Header)
	// decode is the reader's decode func for a session.
	decode(gen uint64) decodeFunc
	// writerProps is the session's only writer.
	writerProps(c *connection, self *actor.PID) *actor.Props
	// probe is the pinger's liveness check.
	probe() probe
	// connected runs on hello before Connected is published; it returns num_connections.
	connected(c *connection, f frameMsg) int
	// up runs on hello after the supervisor was told.
	up(c *connection, f frameMsg)
	// event hands an event frame to the dispatcher; its credit comes back once it is placed or
	// its ack written.
	event(c *connection, f frameMsg)
	// control handles any other frame (its credit is already back).
	control(c *connection, ctx actor.Context, f frameMsg)
	// down runs once when the session ends.
	down(c *connection)
	// closeFrame says whether stopping for good sends a close frame before closing the socket.
	closeFrame() bool
}

// connection is the connection actor of one link, over either transport. Its life is one
// session: after the delay its predecessor's failure left in LinkState, a goroutine opens the
// socket URL (apps.connections.open, rtm.connect or rtm.start) and dials it; then reader, writer
// and pinger run as its children, and hello makes it Connected. It ends by panicking with what
// ended it (a typed error the supervisor classifies): a failed open, read or write, a stale link,
// no hello in time, or what the server said (disconnect, goodbye, an error frame). On Restarting
// or Stopping it closes its session and ignores every later message, so a late failure of the
// closed socket cannot restart a stopping connection.
type connection struct {
	env   *Env
	t     transport
	state *LinkState // survives restarts
	log   *logrus.Entry

	sess      *session
	body      []byte // the Web API answer (RTM), until hello hands it on
	writer    *actor.PID
	pinger    *actor.PID
	timer     Timer // dial delay, then hello timeout
	attempt   int   // retries since the last healthy session
	helloed   bool
	refreshed bool // the server asked for a refresh: its closing the socket is a clean goodbye
	ending    bool // Restarting or Stopping came: late messages of the session are ignored
	draining  bool // Drain came: envelopes are no longer dispatched (nor acked; Slack redelivers them)
}

type dialNow struct{ session uint64 }
type helloTimeout struct{ session uint64 }

// connectionProps returns the Props of a connection actor for t.
func connectionProps(env *Env, t transport, state *LinkState) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &connection{env: env, t: t, state: state}
	}, actor.WithSupervisor(escalateAll))
}

func (c *connection) Receive(ctx actor.Context) {
	if c.ending {
		// The session is over: nothing is left to flush, and panicking now would restart a
		// stopping connection.
		if d, ok := ctx.Message().(Drain); ok {
			d.Reply.Answer(Drained{})
		}
		return
	}
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		c.start(ctx)
	case dialNow:
		if msg.session == c.sess.gen {
			c.dial(ctx)
		}
	case SocketOpened:
		if msg.Session == c.sess.gen {
			c.opened(ctx, msg.Body)
		}
	case OpenFailed:
		c.fail(msg.Session, msg.Err)
	case frameMsg:
		if msg.sessionOf() == c.sess.gen {
			c.sess.taken()
			c.frame(ctx, msg)
		}
	case ReadFailed:
		if msg.Session == c.sess.gen && c.refreshed {
			panic(fmt.Errorf("%w: %v", messages.ErrGoodbye, msg.Err))
		}
		c.fail(msg.Session, msg.Err)
	case WriteFailed:
		c.fail(msg.Session, msg.Err)
	case LinkStale:
		c.fail(msg.Session, staleError(msg))
	case helloTimeout:
		if msg.session == c.sess.gen && !c.helloed {
			panic(messages.ErrHelloTimeout)
		}
	case Reconnect:
		panic(messages.ErrGoodbye)
	case Drain:
		c.drain(ctx, msg)
	case *actor.Restarting:
		c.end(false)
	case *actor.Stopping:
		c.end(true)
	}
}

func (c *connection) start(ctx actor.Context) {
	var delay time.Duration
	c.state.setClock(c.env.clock())
	c.sess, c.log, c.attempt, delay = beginSession(c.env, c.state, c.t.LinkOf(), c.t.logFields())
	c.sess.useClock(c.env.clock())
	if delay > 0 {
		c.timer = c.env.after(delay, ctx.Self(), dialNow{session: c.sess.gen})
		return
	}
	c.dial(ctx)
}

// dial opens the socket URL and dials it in a goroutine the session owns (dialSession).
func (c *connection) dial(ctx actor.Context) {
	c.state.dialing()
	c.env.publish(messages.Connecting{Link: c.t.LinkOf(), Session: c.sess.gen, Attempt: c.attempt})
	env, t, gen := c.env, c.t, c.sess.gen
	d, header := t.dialer(env)
	dialSession(env, c.sess, ctx.Self(), d, header,
		func(ctx context.Context) (string, []byte, error) { return t.open(ctx, env) },
		func(body []byte) any { return SocketOpened{Session: gen, Body: body} })
}

func (c *connection) opened(ctx actor.Context, body []byte) {
	self := ctx.Self()
	c.body = body
	c.writer = ctx.Spawn(c.t.writerProps(c, self))
	ctx.Spawn(readerProps(c.env, c.sess, self, c.t.decode(c.sess.gen), c.log))
	c.pinger = ctx.Spawn(pingerProps(c.env, c.sess, self, c.writer, c.t.probe()))
	c.timer = c.env.after(c.t.helloTimeout(), self, helloTimeout{session: c.sess.gen})
}

// frame routes a frame by the kind its decode gave it.
func (c *connection) frame(ctx actor.Context, f frameMsg) {
	switch f.kindOf() {
	case frameEvent:
		if c.draining {
			c.sess.release()
			return // left unacked: Slack redelivers it to the next runtime
		}
		c.t.event(c, f)
	case frameHello:
		c.sess.release()
		c.hello(ctx, f)
	default:
		c.sess.release()
		c.t.control(c, ctx, f)
	}
}

func (c *connection) hello(ctx actor.Context, f frameMsg) {
	if c.helloed {
		return
	}
	c.helloed = true
	stopTimer(c.timer)
	c.state.connected()
	link := c.t.LinkOf()
	n := c.t.connected(c, f)
	c.log.WithField("num_connections", n).Info("connected")
	c.env.publish(messages.Connected{Link: link, Session: c.sess.gen, Attempt: c.attempt, NumConnections: n})
	ctx.Send(ctx.Parent(), LinkUp{Link: link, PID: ctx.Self()})
	c.t.up(c, f)
}

// drain stops dispatching envelopes and flushes the writer's acks; a transport without acks
// (RTM) has nothing to flush: sends still waiting are answered when its writer stops.
func (c *connection) drain(ctx actor.Context, d Drain) {
	if !c.t.HasAcks() {
		d.Reply.Answer(Drained{})
		return
	}
	c.draining = true
	if c.writer == nil {
		d.Reply.Answer(Drained{})
		return
	}
	ctx.Send(c.writer, d)
}

// fail ends the session with err if it belongs to the current session.
func (c *connection) fail(gen uint64, err error) {
	if gen == c.sess.gen {
		panic(err)
	}
}

// end closes the session: abruptly on a restart (the session failed), with a close frame when
// the connection stops for good and the transport sends one; the close frame is written by a
// goroutine, off Receive.
func (c *connection) end(graceful bool) {
	c.ending = true
	stopTimer(c.timer)
	if c.sess == nil {
		return
	}
	c.t.down(c)
	if !graceful || !c.t.closeFrame() || c.sess.conn() == nil {
		c.sess.close()
		return
	}
	sess := c.sess
	c.env.Go(sess.closeGracefully) // owner: this session. Ends within the close frame's 1s deadline; Env.WG waits.
}

// staleError is the failure a LinkStale ends its session with.
func staleError(msg LinkStale) error {
	silent := msg.Silent.Round(time.Millisecond)
	if msg.NoPong {
		return fmt.Errorf("%w: no pong, silent for %v", messages.ErrStale, silent)
	}
	return fmt.Errorf("%w for %v", messages.ErrStale, silent)
}

// escalateAll makes every child failure the connection's own: any child failure ends the session.
var escalateAll = actor.NewOneForOneStrategy(0, 0, func(any) actor.Directive { return actor.EscalateDirective })
