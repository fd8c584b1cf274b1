package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/switchboard-go/switchboard/messages"
)

// SocketModeSpec describes one Socket Mode app connection.
type SocketModeSpec struct {
	Link     messages.Link
	AppToken string
	// Client returns the Web API client for a team (from the installation store). Handlers call it
	// through Event.Client, on their own goroutine.
	Client ClientSource
	// PingInterval, StaleAfter, HelloTimeout: keepalive and liveness windows.
	PingInterval time.Duration
	StaleAfter   time.Duration
	HelloTimeout time.Duration
	// ResponseDeadline is how long a slash command or interaction waits for a handler's response
	// before an empty ack goes.
	ResponseDeadline time.Duration
	// AckAfterHandlers delays every ack until the subscribers have handled the event.
	AckAfterHandlers bool
}

// socketMode is the connection actor of one Socket Mode app connection. Its life is one session;
// it ends by panicking with what ended it.
type socketMode struct {
	env   *Env
	spec  SocketModeSpec
	state *LinkState // survives restarts
	log   *logrus.Entry

	sess      *session
	writer    *actor.PID
	timer     *time.Timer // dial delay, then hello timeout
	attempt   int         // retries since the last healthy session
	helloed   bool
	refreshed bool // the server asked for a refresh: its closing the socket is a clean goodbye
	ending    bool // Restarting or Stopping came: late messages of the session are ignored
	draining  bool // Drain came: envelopes are no longer dispatched (nor acked; Slack redelivers them)
}

type dialNow struct{ session uint64 }
type helloTimeout struct{ session uint64 }

// SocketModeProps returns the Props of a Socket Mode connection actor.
func SocketModeProps(env *Env, spec SocketModeSpec, state *LinkState) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &socketMode{env: env, spec: spec, state: state}
	}, actor.WithSupervisor(escalateAll))
}

func (c *socketMode) Receive(ctx actor.Context) {
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
			c.opened(ctx)
		}
	case OpenFailed:
		c.fail(msg.Session, msg.Err)
	case FrameRead:
		if msg.Session == c.sess.gen {
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
		c.fail(msg.Session, fmt.Errorf("%w for %v", messages.ErrStale, msg.Silent.Round(time.Millisecond)))
	case helloTimeout:
		if msg.session == c.sess.gen && !c.helloed {
			panic(messages.ErrHelloTimeout)
		}
	case Reconnect:
		panic(messages.ErrGoodbye)
	case Drain:
		c.draining = true
		if c.writer == nil {
			msg.Reply.Answer(Drained{})
			return
		}
		ctx.Send(c.writer, msg)
	case *actor.Restarting:
		c.end(false)
	case *actor.Stopping:
		c.end(true)
	}
}

func (c *socketMode) start(ctx actor.Context) {
	var delay time.Duration
	c.sess, c.log, c.attempt, delay = beginSession(c.env, c.state, c.spec.Link,
		logrus.Fields{"app": c.spec.Link.App, "conn": c.spec.Link.Name})
	if delay > 0 {
		c.timer = c.env.after(delay, ctx.Self(), dialNow{session: c.sess.gen})
		return
	}
	c.dial(ctx)
}

// dial opens the socket URL and dials it in a goroutine the session owns.
func (c *socketMode) dial(ctx actor.Context) {
	c.state.dialing()
	c.env.publish(messages.Connecting{Link: c.spec.Link, Session: c.sess.gen, Attempt: c.attempt})
	env, gen, token := c.env, c.sess.gen, c.spec.AppToken
	dialSession(env, c.sess, ctx.Self(), env.Dialer, nil,
		func(ctx context.Context) (string, []byte, error) {
			url, err := openSocketModeURL(ctx, env, token)
			return url, nil, err
		},
		func([]byte) any { return SocketOpened{Session: gen} })
}

func (c *socketMode) opened(ctx actor.Context) {
	self := ctx.Self()
	c.writer = ctx.Spawn(writerProps(c.env, c.sess, self))
	ctx.Spawn(readerProps(c.env, c.sess, self, decodeSocketMode(c.sess.gen)))
	ctx.Spawn(pingerProps(c.env, c.sess, self, c.writer, c.spec.PingInterval, c.spec.StaleAfter))
	c.timer = c.env.after(c.spec.HelloTimeout, self, helloTimeout{session: c.sess.gen})
}

func (c *socketMode) frame(ctx actor.Context, msg FrameRead) {
	f := msg.Frame
	switch f.Type {
	case "events_api", "slash_commands", "interactive":
		if c.draining {
			c.sess.release()
			return // left unacked: Slack redelivers it to the next runtime
		}
		c.envelope(msg)
		return
	}
	c.sess.release() // an envelope's credit comes back once its ack is written
	switch f.Type {
	case "hello":
		c.hello(ctx, f.NumConnections)
	case "disconnect":
		c.disconnect(ctx, f.Reason)
	default:
		c.env.Stats.Malformed.Add(1)
		c.log.WithField("type", f.Type).Warn("unknown frame type ignored")
	}
}

func (c *socketMode) hello(ctx actor.Context, n int) {
	if c.helloed {
		return
	}
	c.helloed = true
	if c.timer != nil {
		c.timer.Stop()
	}
	c.state.connected()
	c.log.WithField("num_connections", n).Info("connected")
	c.env.publish(messages.Connected{Link: c.spec.Link, Session: c.sess.gen, Attempt: c.attempt, NumConnections: n})
	ctx.Send(ctx.Parent(), LinkUp{Link: c.spec.Link, PID: ctx.Self()})
}

func (c *socketMode) disconnect(ctx actor.Context, reason string) {
	c.log.WithField("reason", reason).Info("server asked to disconnect")
	switch reason {
	case "warning", "refresh_requested":
		c.refreshed = reason == "refresh_requested" || c.refreshed
		ctx.Send(ctx.Parent(), RefreshRequested{Link: c.spec.Link, PID: ctx.Self(), Reason: reason})
	case string(messages.ErrLinkDisabled):
		panic(messages.ErrLinkDisabled)
	case string(messages.ErrTooManyWebsockets):
		panic(messages.ErrTooManyWebsockets) // Restarting closes the socket first; the supervisor backs off
	default:
		panic(fmt.Errorf("%w: disconnect %q", messages.ErrGoodbye, reason))
	}
}

// envelope hands an event to the dispatcher and acks it as the ack policy says.
func (c *socketMode) envelope(msg FrameRead) {
	f, r := msg.Frame, msg.Route
	c.env.Stats.EventsIn.Add(1)
	env, writer, id, raw, received, credit := c.env, c.writer, f.EnvelopeID, f.RawEnvelopeID, msg.Received, c.sess.release
	ack := NewAck(f.Accepts, func(payload []byte) {
		env.send(writer, SendAck{EnvelopeID: id, RawID: raw, Payload: payload, Received: received, Written: credit})
	})
	ev := messages.NewEvent(&source{ack: ack, clients: c.spec.Client}, &messages.Event{
		Link: c.spec.Link, Session: c.sess.gen, Kind: messages.Kind(f.Type), Type: r.Type,
		Team: r.Team, Channel: r.Channel, User: r.User, ThreadTS: r.ThreadTS, EventID: r.EventID,
		EnvelopeID: f.EnvelopeID, RetryAttempt: f.RetryAttempt, RetryReason: f.RetryReason,
		Received: msg.Received, Raw: f.Payload,
	})
	// By default the ack goes once the event sits in every queue that will deliver it: a full
	// Backpressure queue holds the readers back instead, so nothing is acked and then dropped.
	ackOnPlacement := !f.Accepts && !c.spec.AckAfterHandlers
	place := NewPlacement(func() {
		if ackOnPlacement {
			ack.Send(nil)
		}
	})
	env.send(env.Dispatcher, Dispatch{Event: ev, Ack: ack, Placement: place})
	if f.Accepts {
		time.AfterFunc(c.spec.ResponseDeadline, func() {
			if ack.Send(nil) {
				env.Stats.ResponseTimeout.Add(1)
			}
		})
	}
}

// fail ends the session with err if it belongs to the current session.
func (c *socketMode) fail(gen uint64, err error) {
	if gen == c.sess.gen {
		panic(err)
	}
}

// end closes the session: abruptly on a restart (the session failed), with a close frame when
// the connection stops for good; the close frame is written by a goroutine, off Receive.
func (c *socketMode) end(graceful bool) {
	c.ending = true
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.sess == nil {
		return
	}
	if !graceful || c.sess.conn() == nil {
		c.sess.close()
		return
	}
	sess := c.sess
	c.env.Go(sess.closeGracefully) // owner: this session. Ends within the close frame's 1s deadline; Env.WG waits.
}

// escalateAll makes every child failure the connection's own: any child failure ends the session.
var escalateAll = actor.NewOneForOneStrategy(0, 0, func(any) actor.Directive { return actor.EscalateDirective })
