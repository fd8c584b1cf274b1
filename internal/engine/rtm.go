package engine

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gorilla/websocket"
	"github.com/sirupsen/logrus"
	"github.com/slack-go/slack"

	"github.com/switchboard-go/switchboard/internal/wire"
	"github.com/switchboard-go/switchboard/messages"
)

// RTMSpec describes one RTM workspace link: one bot (or user) token, one socket. It is the RTM
// transport of the connection actor (connection.go): rtm.connect or rtm.start, JSON pings, the
// rate-limited writer (rtm_writer.go), goodbye and error frames that end the session.
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

// RTMProps returns the Props of an RTM connection actor.
func RTMProps(env *Env, spec RTMSpec, state *LinkState) *actor.Props {
	return connectionProps(env, spec, state)
}

// RetireGrace is how long an old connection lives on once its replacement said hello.
func (s RTMSpec) RetireGrace() time.Duration { return time.Second }

// HasAcks is false: RTM has no acks to flush at stop; sends still waiting are answered when the
// writer stops.
func (s RTMSpec) HasAcks() bool { return false }

func (s RTMSpec) logFields() logrus.Fields {
	return logrus.Fields{"team": s.Link.Team, "link": s.Link.Name}
}

func (s RTMSpec) helloTimeout() time.Duration { return s.HelloTimeout }

func (s RTMSpec) open(ctx context.Context, _ *Env) (string, []byte, error) {
	return openRTMURL(ctx, s)
}

func (s RTMSpec) dialer(*Env) (*websocket.Dialer, http.Header) { return s.Dialer, s.Headers }

func (s RTMSpec) decode(gen uint64) decodeFunc { return decodeRTM(gen) }

func (s RTMSpec) writerProps(c *connection, self *actor.PID) *actor.Props {
	return rtmWriterProps(c.env, c.sess, c.log, self, s.Writer)
}

func (s RTMSpec) probe() probe {
	return &jsonProbe{interval: s.PingInterval, pongTimeout: s.PongTimeout}
}

// connected publishes the session's writer for sends before Connected goes out.
func (s RTMSpec) connected(c *connection, _ frameMsg) int {
	s.Route.up(c.writer)
	return 1
}

// up hands the rtm.connect (or rtm.start) answer to subscribers as the session's first event; it
// is not kept.
func (s RTMSpec) up(c *connection, f frameMsg) {
	e := &rtmEvent{clients: s.Client}
	e.ev = messages.Event{Link: s.Link, Session: c.sess.gen, Kind: messages.KindRTM, Type: "open",
		Team: s.Link.Team, Received: f.(RTMFrameRead).Received, Raw: c.body}
	c.body = nil
	e.disp = Dispatch{Event: messages.NewEvent(e, &e.ev)} // no placement: it holds no credit
	c.env.send(c.env.Dispatcher, &e.disp)
}

func (s RTMSpec) control(c *connection, ctx actor.Context, m frameMsg) {
	f := m.(RTMFrameRead).Frame
	switch m.kindOf() {
	case framePong:
		ctx.Send(c.pinger, pongRead{session: c.sess.gen})
	case frameReply:
		ctx.Send(c.writer, rtmReplied{ack: ackMessage(f)})
	case frameGoodbye:
		c.log.Info("server said goodbye")
		panic(messages.ErrGoodbye)
	case frameError:
		e := &messages.RTMReplyError{}
		if f.Error != nil {
			e.Code, e.Msg = f.Error.Code, f.Error.Msg
		}
		panic(e)
	case frameIgnored:
		// reconnect_url: experimental and unsupported by Slack; every reconnect calls rtm.connect again.
	}
}

// event hands an RTM event to the dispatcher; its credit comes back once it is placed. The
// reader made the event from the frame (newRTMEvent); event gives it what the connection knows.
func (s RTMSpec) event(c *connection, m frameMsg) {
	e := m.(*rtmEvent)
	c.env.Stats.EventsIn.Add(1)
	e.clients, e.sess = s.Client, c.sess
	e.ev.Link, e.ev.Team = s.Link, s.Link.Team
	messages.NewEvent(e, &e.ev)
	e.place.to = e
	e.disp = Dispatch{Event: &e.ev, Placement: &e.place}
	c.env.send(c.env.Dispatcher, &e.disp)
}

// down takes the session's writer off the route.
func (s RTMSpec) down(c *connection) {
	if c.helloed {
		s.Route.down()
	}
}

func (s RTMSpec) closeFrame() bool { return false }

// ackMessage is a reply_to frame as slack-go's AckMessage; a missing ok is a refusal.
func ackMessage(f wire.RTMFrame) slack.AckMessage {
	a := slack.AckMessage{ReplyTo: int(*f.ReplyTo), Timestamp: f.TS, Text: f.Text}
	a.Ok = f.OK != nil && *f.OK
	if f.Error != nil {
		a.Error = &slack.RTMError{Code: f.Error.Code, Msg: f.Error.Msg}
	}
	return a
}

// decodeRTM decodes an RTM frame's routing fields, keeping the frame raw.
func decodeRTM(gen uint64) decodeFunc {
	return func(data []byte, now time.Time) (any, bool, error) {
		f, err := wire.DecodeRTMFrame(data)
		if err != nil {
			return nil, false, err
		}
		if k := rtmKind(f); k != frameEvent {
			return RTMFrameRead{Session: gen, Frame: f, Raw: data, Received: now, kind: k}, false, nil
		}
		return newRTMEvent(gen, &f, data, now), true, nil
	}
}

// newRTMEvent is the event of RTM frame f (its bytes data), read in session gen at received,
// with what the frame says filled in; the connection completes it (RTMSpec.event). It is the
// frame's message to the connection: one allocation per event besides the frame's bytes.
func newRTMEvent(gen uint64, f *wire.RTMFrame, data []byte, received time.Time) *rtmEvent {
	e := &rtmEvent{}
	e.ev = messages.Event{
		Session: gen, Kind: messages.KindRTM, Type: f.Type,
		Channel: f.Channel, User: f.User, ThreadTS: f.Thread, Received: received, Raw: data,
	}
	if e.ev.Channel == "" {
		e.ev.Channel = f.ItemChannel // reactions, pins, stars: the channel of their item
	}
	e.msg = messageFields{text: f.Text, ts: f.TS, threadTS: f.Thread, subtype: f.Subtype, botID: f.BotID, user: f.User, ok: true}
	return e
}

// rtmKind is the kind of an RTM frame: a reply_to is a reply (or the pong of a JSON ping), any
// type the runtime does not act on is an event.
func rtmKind(f wire.RTMFrame) frameKind {
	if f.ReplyTo != nil {
		switch f.Type {
		case "pong":
			return framePong
		case "":
			return frameReply
		}
		return frameIgnored
	}
	switch f.Type {
	case "hello":
		return frameHello
	case "goodbye":
		return frameGoodbye
	case "error":
		return frameError
	case "reconnect_url":
		return frameIgnored
	case "pong":
		return framePong
	}
	return frameEvent
}
