package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gorilla/websocket"
	"github.com/sirupsen/logrus"

	"github.com/switchboard-go/switchboard/internal/wire"
	"github.com/switchboard-go/switchboard/messages"
)

// RTMSpec describes one RTM workspace link: one bot (or user) token, one socket.
type RTMSpec struct {
	Link  messages.Link // Transport RTM, Team and Name the team ID
	Token string        // xoxb- (classic app) or xoxp-
	// ConnectMethod is "rtm.connect" or "rtm.start" (richer initial state).
	ConnectMethod string
	// APIURL is the Web API base, ending in "/"; HTTP calls it; Dialer dials the socket. Headers
	// go on both.
	APIURL  string
	HTTP    *http.Client
	Dialer  *websocket.Dialer
	Headers http.Header
	// Client returns the Web API client handlers get from Event.Client.
	Client ClientSource
	// PingInterval is the idle time before a JSON ping; PongTimeout how long its pong may take
	// before the session ends as stale; HelloTimeout how long a new socket may wait for hello.
	PingInterval time.Duration
	PongTimeout  time.Duration
	HelloTimeout time.Duration
	// Writer is the send rate limit and queue.
	Writer RTMWriterConfig
	// NoReconnect stops the link on any failure instead of reconnecting.
	NoReconnect bool
	// Route is where the facade finds the current session's writer; shared by every incarnation.
	Route *RTMRoute
}

// LinkOf names the link.
func (s RTMSpec) LinkOf() messages.Link { return s.Link }

// Props returns the connection actor's Props.
func (s RTMSpec) Props(env *Env, state *LinkState) *actor.Props { return RTMProps(env, s, state) }

// NoRestart reports whether a failed session stops the link instead of restarting it.
func (s RTMSpec) NoRestart() bool { return s.NoReconnect }

// RTMRoute is where sends to one workspace go: the writer of its session while one is up (from
// hello to its end). Safe for concurrent use.
type RTMRoute struct {
	mu     sync.Mutex
	writer *actor.PID
	done   chan struct{} // closed when the session ends
}

// Writer returns the current session's writer and a channel closed when that session ends, or
// nil, nil when no session is up.
func (r *RTMRoute) Writer() (*actor.PID, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.writer, r.done
}

func (r *RTMRoute) up(writer *actor.PID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writer, r.done = writer, make(chan struct{})
}

func (r *RTMRoute) down() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done != nil {
		close(r.done)
	}
	r.writer, r.done = nil, nil
}

// rtm is the connection actor of one RTM workspace. Its life is one session: rtm.connect (or
// rtm.start) in a goroutine, dial, then reader, writer and pinger as children; hello makes it
// Connected. It ends by panicking with what ended it: goodbye (reconnect at once), an error frame,
// a failed read or write, a stale link, a refused connect.
type rtm struct {
	env   *Env
	spec  RTMSpec
	state *LinkState // survives restarts
	log   *logrus.Entry

	sess    *session
	body    []byte // the rtm.connect/rtm.start answer, until hello publishes it
	writer  *actor.PID
	pinger  *actor.PID
	timer   *time.Timer // dial delay, then hello timeout
	attempt int
	helloed bool
	ending  bool
}

// rtmOpened tells the connection that its socket is dialed; body is the Web API answer.
type rtmOpened struct {
	session uint64
	body    []byte
}

// RTMProps returns the Props of an RTM connection actor.
func RTMProps(env *Env, spec RTMSpec, state *LinkState) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &rtm{env: env, spec: spec, state: state}
	}, actor.WithSupervisor(escalateAll))
}

func (c *rtm) Receive(ctx actor.Context) {
	if d, ok := ctx.Message().(Drain); ok {
		// RTM has no acks to flush; sends still waiting are answered when the writer stops.
		d.Reply.Answer(Drained{})
		return
	}
	if c.ending {
		return // the session is over; panicking now would restart a stopping connection
	}
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		c.start(ctx)
	case dialNow:
		if msg.session == c.sess.gen {
			c.dial(ctx)
		}
	case rtmOpened:
		if msg.session == c.sess.gen {
			c.opened(ctx, msg.body)
		}
	case OpenFailed:
		c.fail(msg.Session, msg.Err)
	case RTMFrameRead:
		if msg.Session == c.sess.gen {
			c.frame(ctx, msg)
		}
	case ReadFailed:
		c.fail(msg.Session, msg.Err)
	case WriteFailed:
		c.fail(msg.Session, msg.Err)
	case LinkStale:
		c.fail(msg.Session, fmt.Errorf("%w: no pong, silent for %v", messages.ErrStale, msg.Silent.Round(time.Millisecond)))
	case helloTimeout:
		if msg.session == c.sess.gen && !c.helloed {
			panic(messages.ErrHelloTimeout)
		}
	case Reconnect:
		panic(messages.ErrGoodbye)
	case *actor.Restarting, *actor.Stopping:
		c.end()
	}
}

func (c *rtm) start(ctx actor.Context) {
	var delay time.Duration
	c.sess, c.log, c.attempt, delay = beginSession(c.env, c.state, c.spec.Link,
		logrus.Fields{"team": c.spec.Link.Team, "conn": c.spec.Link.Name})
	if delay > 0 {
		c.timer = c.env.after(delay, ctx.Self(), dialNow{session: c.sess.gen})
		return
	}
	c.dial(ctx)
}

// dial calls rtm.connect (or rtm.start) and dials the socket in a goroutine the session owns.
func (c *rtm) dial(ctx actor.Context) {
	c.state.dialing()
	c.env.publish(messages.Connecting{Link: c.spec.Link, Session: c.sess.gen, Attempt: c.attempt})
	gen, spec := c.sess.gen, c.spec
	dialSession(c.env, c.sess, ctx.Self(), spec.Dialer, spec.Headers,
		func(ctx context.Context) (string, []byte, error) { return openRTMURL(ctx, spec) },
		func(body []byte) any { return rtmOpened{session: gen, body: body} })
}

func (c *rtm) opened(ctx actor.Context, body []byte) {
	self := ctx.Self()
	c.body = body
	c.writer = ctx.Spawn(rtmWriterProps(c.env, c.sess, self, c.spec.Writer))
	ctx.Spawn(readerProps(c.env, c.sess, self, decodeRTM(c.sess.gen)))
	c.pinger = ctx.Spawn(rtmPingerProps(c.env, c.sess, self, c.writer, c.spec.PingInterval, c.spec.PongTimeout))
	c.timer = c.env.after(c.spec.HelloTimeout, self, helloTimeout{session: c.sess.gen})
}

func (c *rtm) frame(ctx actor.Context, msg RTMFrameRead) {
	f := msg.Frame
	if !isRTMEvent(f) {
		c.sess.release() // an event's credit comes back once it is placed
	}
	if f.ReplyTo != nil {
		if f.Type == "pong" {
			ctx.Send(c.pinger, rtmPong{session: c.sess.gen})
		} else if f.Type == "" {
			ctx.Send(c.writer, rtmReplied{frame: f})
		}
		return
	}
	switch f.Type {
	case "hello":
		c.hello(ctx, msg.Received)
	case "goodbye":
		c.log.Info("server said goodbye")
		panic(messages.ErrGoodbye)
	case "error":
		e := &messages.RTMReplyError{}
		if f.Error != nil {
			e.Code, e.Msg = f.Error.Code, f.Error.Msg
		}
		panic(e)
	case "reconnect_url":
		// Experimental and unsupported by Slack: every reconnect calls rtm.connect again.
	case "pong":
		ctx.Send(c.pinger, rtmPong{session: c.sess.gen})
	default:
		c.event(msg)
	}
}

func (c *rtm) hello(ctx actor.Context, received time.Time) {
	if c.helloed {
		return
	}
	c.helloed = true
	if c.timer != nil {
		c.timer.Stop()
	}
	c.state.connected()
	c.spec.Route.up(c.writer)
	c.log.Info("connected")
	c.env.publish(messages.Connected{Link: c.spec.Link, Session: c.sess.gen, Attempt: c.attempt, NumConnections: 1})
	ctx.Send(ctx.Parent(), LinkUp{Link: c.spec.Link, PID: ctx.Self()})
	// The initial state goes to subscribers as the session's first event, not kept here.
	ev := messages.NewEvent(&source{clients: c.spec.Client}, &messages.Event{Link: c.spec.Link, Session: c.sess.gen,
		Kind: messages.KindRTM, Type: "open", Team: c.spec.Link.Team, Received: received, Raw: c.body})
	c.body = nil
	c.env.send(c.env.Dispatcher, Dispatch{Event: ev})
}

// event hands an RTM event to the dispatcher.
func (c *rtm) event(msg RTMFrameRead) {
	f := msg.Frame
	c.env.Stats.EventsIn.Add(1)
	ev := messages.NewEvent(&source{clients: c.spec.Client}, &messages.Event{
		Link: c.spec.Link, Session: c.sess.gen, Kind: messages.KindRTM, Type: f.Type, Team: c.spec.Link.Team,
		Channel: string(f.Channel), User: string(f.User), ThreadTS: f.Thread, Received: msg.Received, Raw: msg.Raw,
	})
	if ev.Channel == "" && len(f.Item) > 0 {
		var item struct {
			Channel string `json:"channel"`
		}
		if json.Unmarshal(f.Item, &item) == nil {
			ev.Channel = item.Channel
		}
	}
	c.env.send(c.env.Dispatcher, Dispatch{Event: ev, Placement: NewPlacement(c.sess.release)})
}

// fail ends the session with err if it belongs to the current session.
func (c *rtm) fail(gen uint64, err error) {
	if gen == c.sess.gen {
		panic(err)
	}
}

func (c *rtm) end() {
	c.ending = true
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.helloed {
		c.spec.Route.down()
	}
	if c.sess != nil {
		c.sess.close()
	}
}

// decodeRTM decodes an RTM frame's routing fields, keeping the frame raw.
func decodeRTM(gen uint64) decodeFunc {
	return func(data []byte, now time.Time) (any, bool, error) {
		f, err := wire.DecodeRTMFrame(data)
		if err != nil {
			return nil, false, err
		}
		return RTMFrameRead{Session: gen, Frame: f, Raw: data, Received: now}, isRTMEvent(f), nil
	}
}

// isRTMEvent reports whether an RTM frame goes to the dispatcher (see rtm.frame).
func isRTMEvent(f wire.RTMFrame) bool {
	if f.ReplyTo != nil {
		return false
	}
	switch f.Type {
	case "hello", "goodbye", "error", "reconnect_url", "pong":
		return false
	}
	return true
}
