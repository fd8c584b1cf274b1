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

// SocketModeSpec describes one Socket Mode app connection. It is the Socket Mode transport of the
// connection actor (connection.go): apps.connections.open, WebSocket pings, envelopes acked by
// the writer (writer.go), disconnect frames that refresh or end the session.
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

// SocketModeProps returns the Props of a Socket Mode connection actor.
func SocketModeProps(env *Env, spec SocketModeSpec, state *LinkState) *actor.Props {
	return connectionProps(env, spec, state)
}

// LinkOf names the link.
func (s SocketModeSpec) LinkOf() messages.Link { return s.Link }

// Props returns the connection actor's Props.
func (s SocketModeSpec) Props(env *Env, state *LinkState) *actor.Props {
	return SocketModeProps(env, s, state)
}

// NoRestart is false: a Socket Mode link always reconnects unless the failure is fatal.
func (s SocketModeSpec) NoRestart() bool { return false }

// RetireGrace is how long a refreshed connection lives on once its replacement said hello: the
// response deadline plus 100ms, so acks of events still being handled go out.
func (s SocketModeSpec) RetireGrace() time.Duration {
	if s.ResponseDeadline > 0 {
		return s.ResponseDeadline + 100*time.Millisecond
	}
	return time.Second
}

// HasAcks is true: a Socket Mode connection has acks to flush when the runtime stops.
func (s SocketModeSpec) HasAcks() bool { return true }

func (s SocketModeSpec) logFields() logrus.Fields {
	return logrus.Fields{"app": s.Link.App, "link": s.Link.Name}
}

func (s SocketModeSpec) helloTimeout() time.Duration { return s.HelloTimeout }

func (s SocketModeSpec) open(ctx context.Context, env *Env) (string, []byte, error) {
	url, err := openSocketModeURL(ctx, env, s.AppToken)
	return url, nil, err
}

func (s SocketModeSpec) dialer(env *Env) (*websocket.Dialer, http.Header) { return env.Dialer, nil }

func (s SocketModeSpec) decode(gen uint64) decodeFunc { return decodeSocketMode(gen) }

func (s SocketModeSpec) writerProps(c *connection, self *actor.PID) *actor.Props {
	return writerProps(c.env, c.sess, self)
}

func (s SocketModeSpec) probe() probe {
	return &wsProbe{interval: s.PingInterval, staleAfter: s.StaleAfter}
}

func (s SocketModeSpec) connected(_ *connection, f frameMsg) int {
	return f.(FrameRead).Frame.NumConnections
}

func (s SocketModeSpec) up(*connection, frameMsg) {}

func (s SocketModeSpec) control(c *connection, ctx actor.Context, m frameMsg) {
	f := m.(FrameRead).Frame
	switch m.kindOf() {
	case frameDisconnect:
		s.disconnect(c, ctx, f.Reason)
	default:
		c.env.Stats.Malformed.Add(1)
		c.log.WithField("type", f.Type).Warn("unknown frame type ignored")
	}
}

func (s SocketModeSpec) disconnect(c *connection, ctx actor.Context, reason string) {
	c.log.WithField("reason", reason).Info("server asked to disconnect")
	switch reason {
	case "warning", "refresh_requested":
		c.refreshed = reason == "refresh_requested" || c.refreshed
		ctx.Send(ctx.Parent(), RefreshRequested{Link: s.Link, PID: ctx.Self(), Reason: reason})
	case string(messages.ErrLinkDisabled):
		panic(messages.ErrLinkDisabled)
	case string(messages.ErrTooManyWebsockets):
		panic(messages.ErrTooManyWebsockets) // Restarting closes the socket first; the supervisor backs off
	default:
		panic(fmt.Errorf("%w: disconnect %q", messages.ErrGoodbye, reason))
	}
}

// event hands an envelope to the dispatcher and acks it as the ack policy says. The reader made
// the envelope from the frame (newEnvelope); event gives it what the connection knows.
func (s SocketModeSpec) event(c *connection, m frameMsg) {
	e := m.(*envelope)
	env := c.env
	env.Stats.EventsIn.Add(1)
	e.clients, e.env, e.writer = s.Client, env, c.writer
	e.ackOnPlacement = !e.ack.accepts && !s.AckAfterHandlers
	e.ev.Link = s.Link
	messages.NewEvent(e, &e.ev)
	e.ack.to = e
	// By default the ack goes once the event sits in every queue that will deliver it: a full
	// Backpressure queue holds the readers back instead, so nothing is acked and then dropped.
	e.place.to = e
	e.req.Written = c.sess.release
	e.disp = Dispatch{Event: &e.ev, Ack: &e.ack, Placement: &e.place}
	ack := &e.ack
	env.send(env.Dispatcher, &e.disp)
	if ack.accepts {
		env.clock().AfterFunc(s.ResponseDeadline, func() {
			if ack.Send(nil) {
				env.Stats.ResponseTimeout.Add(1)
			}
		})
	}
}

func (s SocketModeSpec) down(*connection) {}

func (s SocketModeSpec) closeFrame() bool { return true }
