package engine

import (
	"encoding/json"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gorilla/websocket"
	"github.com/sirupsen/logrus"
	"github.com/slack-go/slack"

	"github.com/switchboard-go/switchboard/messages"
)

// RTMSend asks an RTM writer to send one frame. The writer answers exactly once on Reply, which
// must have room for one answer (buffered, capacity 1), so answering never blocks the writer.
type RTMSend struct {
	Reply    chan<- RTMReply
	Type     string // "message" or "typing"
	Channel  string
	Text     string // message only
	ThreadTS string // message only: reply in this thread
}

// RTMReply answers RTMSend: Err is nil once Slack acknowledged a message (TS and Text set) or the
// socket took a typing frame (Slack answers typing only when it refuses it).
type RTMReply struct {
	ID   int64
	TS   string
	Text string
	Err  error
}

// RTMWriterConfig is the writer's rate limit and queue; zero fields take the defaults named.
type RTMWriterConfig struct {
	// Burst is how many frames may go at once before the 1-per-Refill rate applies. Default 3.
	Burst int
	// Refill is how long the bucket takes to regain one frame. Default 1s (Slack's 1 msg/s).
	Refill time.Duration
	// Queue bounds the frames waiting for the rate; a send finding it full fails with
	// messages.ErrSendQueueFull. Default 64.
	Queue int
}

func (c RTMWriterConfig) withDefaults() RTMWriterConfig {
	if c.Burst <= 0 {
		c.Burst = 3
	}
	if c.Refill <= 0 {
		c.Refill = time.Second
	}
	if c.Queue <= 0 {
		c.Queue = 64
	}
	return c
}

// rtmWriter is the only writer of an RTM session's socket. It gives every frame a unique positive
// id, keeps to Slack's write rate with a token bucket (frames beyond it wait in a bounded queue),
// and answers each RTMSend once: when the matching reply_to arrives, or with a SessionEndedError
// when the session ends first. Blocking writes run on a goroutine it owns; pings bypass the bucket.
// It ends with its connection.
type rtmWriter struct {
	env    *Env
	sess   *session
	parent *actor.PID
	log    *logrus.Entry // the connection's: team, link, session
	cfg    RTMWriterConfig

	q       chan rtmOut   // to the write goroutine
	quit    chan struct{} // closed on stop
	nextID  int64
	pending map[int64]chan<- RTMReply // handed to the socket, awaiting reply_to
	waiting []rtmOut                  // held back by the rate
	tokens  float64
	last    time.Time
	timer   Timer
	stopped bool
	failed  bool
	// running is true while a write goroutine runs: one is started when frames are handed off
	// and ends when the queue is empty, so an idle workspace has none.
	running atomic.Bool
	// broken is set by a write goroutine whose write failed: later ones write nothing.
	broken atomic.Bool
}

type rtmOut struct {
	id     int64
	data   []byte
	sender chan<- RTMReply // nil for pings
	typing bool
}

// rtmPingReq asks the writer for a JSON ping.
type rtmPingReq struct{}

// rtmReplied carries a reply_to frame from the connection to the writer, as slack-go's type.
type rtmReplied struct{ ack slack.AckMessage }

// rtmRefill tells the writer that its bucket has a token again.
type rtmRefill struct{ session uint64 }

func rtmWriterProps(env *Env, sess *session, log *logrus.Entry, parent *actor.PID, cfg RTMWriterConfig) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &rtmWriter{env: env, sess: sess, parent: parent, log: log, cfg: cfg.withDefaults()}
	})
}

func (w *rtmWriter) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		w.start()
	case RTMSend:
		w.send(ctx, msg)
	case rtmPingReq:
		w.ping()
	case rtmReplied:
		w.replied(msg.ack)
	case rtmRefill:
		if msg.session == w.sess.gen {
			w.timer = nil
			w.drain(ctx)
		}
	case *actor.Stopping, *actor.Restarting:
		w.stop(ctx)
	}
	// A handler waiting for a send's reply must not wait for the flow gate too: while any does,
	// the reader reads on.
	w.sess.awaitingReplies.Store(int32(len(w.pending) + len(w.waiting)))
}

func (w *rtmWriter) start() {
	w.pending = map[int64]chan<- RTMReply{}
	w.tokens, w.last = float64(w.cfg.Burst), w.env.now()
	w.q = make(chan rtmOut, w.cfg.Burst+4)
	w.quit = make(chan struct{})
}

// kick makes sure a write goroutine drains the queue (see running).
func (w *rtmWriter) kick() {
	if !w.running.CompareAndSwap(false, true) {
		return
	}
	q, quit, sess, env, parent, running, broken := w.q, w.quit, w.sess, w.env, w.parent, &w.running, &w.broken
	env.Go(func() { // owner: rtmWriter. Ends when the queue is empty or quit closed; Env.WG waits.
		var ws *websocket.Conn
		if !broken.Load() {
			ws = sess.conn()
		}
		for {
			select {
			case <-quit:
				failTyping(env, q)
				running.Store(false)
				return
			case o := <-q:
				select {
				case <-quit:
					if o.typing {
						answer(o.sender, RTMReply{ID: o.id, Err: &messages.SessionEndedError{}})
					}
					failTyping(env, q)
					running.Store(false)
					return
				default:
				}
				var err error = errNoSocket
				if ws != nil {
					_ = ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
					err = ws.WriteMessage(websocket.TextMessage, o.data)
				}
				if err != nil && ws != nil {
					env.send(parent, WriteFailed{Session: sess.gen, Err: &messages.SocketError{Op: "write", Err: err}})
					broken.Store(true)
					ws = nil // write nothing more; the session is ending
				}
				if o.typing {
					var r RTMReply
					r.ID = o.id
					if err != nil {
						r.Err = &messages.SessionEndedError{Cause: err}
					}
					answer(o.sender, r)
				}
			default:
				// Empty: end, unless a frame came in between (then its kick saw running set).
				running.Store(false)
				if len(q) == 0 || !running.CompareAndSwap(false, true) {
					return
				}
			}
		}
	})
}

// answer delivers a send's one reply. The channel has room for it; the select only guards the
// writer against ever blocking on a reply channel.
func answer(reply chan<- RTMReply, r RTMReply) {
	select {
	case reply <- r:
	default:
	}
}

var errNoSocket = &messages.SocketError{Op: "write", Err: websocket.ErrCloseSent}

// failTyping answers the typing frames left in q; message frames are answered by stop.
func failTyping(env *Env, q chan rtmOut) {
	for {
		select {
		case o := <-q:
			if o.typing {
				answer(o.sender, RTMReply{ID: o.id, Err: &messages.SessionEndedError{}})
			}
		default:
			return
		}
	}
}

func (w *rtmWriter) send(ctx actor.Context, msg RTMSend) {
	sender := msg.Reply
	if sender == nil {
		return // nobody to answer
	}
	if w.stopped || w.failed {
		answer(sender, RTMReply{Err: &messages.SessionEndedError{}})
		return
	}
	if msg.Type == "message" && utf8.RuneCountInString(msg.Text) > messages.RTMMaxTextChars {
		answer(sender, RTMReply{Err: messages.ErrTextTooLong})
		return
	}
	if len(w.waiting) >= w.cfg.Queue {
		answer(sender, RTMReply{Err: messages.ErrSendQueueFull})
		return
	}
	id := w.nextID + 1
	data, err := rtmFrame(id, msg)
	if err != nil {
		answer(sender, RTMReply{Err: err})
		return
	}
	if len(data) > messages.RTMMaxFrameBytes {
		answer(sender, RTMReply{Err: messages.ErrFrameTooLarge})
		return
	}
	w.nextID = id
	w.waiting = append(w.waiting, rtmOut{id: id, data: data, sender: sender, typing: msg.Type == "typing"})
	w.drain(ctx)
}

// rtmFrame encodes a message or typing frame as slack-go's RTM client does:
// {"id":id,"channel":…,"text":…,"type":…,"thread_ts":…}.
func rtmFrame(id int64, msg RTMSend) ([]byte, error) {
	return json.Marshal(slack.OutgoingMessage{ID: int(id), Type: msg.Type, Channel: msg.Channel, Text: msg.Text, ThreadTimestamp: msg.ThreadTS})
}

// drain hands waiting frames to the socket while the bucket has tokens, and arms the refill timer
// when frames are left.
func (w *rtmWriter) drain(ctx actor.Context) {
	now := w.env.now()
	w.tokens = min(float64(w.cfg.Burst), w.tokens+float64(now.Sub(w.last))/float64(w.cfg.Refill))
	w.last = now
	for len(w.waiting) > 0 && w.tokens >= 1 && !w.failed {
		o := w.waiting[0]
		w.waiting[0] = rtmOut{}
		w.waiting = w.waiting[1:]
		w.tokens--
		w.handoff(o)
	}
	if len(w.waiting) == 0 {
		w.waiting = nil // let a burst's backing array go
		return
	}
	if w.timer == nil && !w.failed {
		wait := time.Duration((1 - w.tokens) * float64(w.cfg.Refill))
		w.timer = w.env.after(max(wait, time.Millisecond), ctx.Self(), rtmRefill{session: w.sess.gen})
	}
}

func (w *rtmWriter) handoff(o rtmOut) {
	select {
	case w.q <- o:
		if !o.typing && o.sender != nil {
			w.pending[o.id] = o.sender
		}
		w.kick()
	default: // the socket took nothing for a whole burst: it stalled
		w.failed = true
		if o.sender != nil {
			answer(o.sender, RTMReply{ID: o.id, Err: &messages.SessionEndedError{Cause: messages.ErrWriteStalled}})
		}
		w.env.send(w.parent, WriteFailed{Session: w.sess.gen, Err: messages.ErrWriteStalled})
	}
}

func (w *rtmWriter) ping() {
	if w.stopped || w.failed {
		return
	}
	w.nextID++
	// slack-go's ping: Slack echoes its fields in the pong.
	data, err := json.Marshal(slack.Ping{ID: int(w.nextID), Type: "ping", Timestamp: w.env.now().Unix()})
	if err != nil {
		return
	}
	w.handoff(rtmOut{id: w.nextID, data: data})
}

// replied resolves the send a reply_to answers: ok with its ts and text, anything else (ok false
// or missing) as a refusal.
func (w *rtmWriter) replied(f slack.AckMessage) {
	id := int64(f.ReplyTo)
	sender, ok := w.pending[id]
	if !ok {
		if !f.Ok && f.Error != nil {
			w.log.WithFields(logrus.Fields{"reply_to": id, "code": f.Error.Code}).
				Warn("rtm frame refused after its send was answered")
		}
		return
	}
	delete(w.pending, id)
	if f.Ok {
		answer(sender, RTMReply{ID: id, TS: f.Timestamp, Text: f.Text})
		return
	}
	e := &messages.RTMReplyError{ID: id}
	if f.Error != nil {
		e.Code, e.Msg = f.Error.Code, f.Error.Msg
	}
	if e.Code == -1 { // Slack counts on us to slow down: spend the bucket
		w.tokens, w.last = 0, w.env.now()
	}
	answer(sender, RTMReply{ID: id, Err: e})
}

// stop answers every send still open: handed to the socket (may have been sent) or waiting (not).
func (w *rtmWriter) stop(ctx actor.Context) {
	if w.stopped {
		return
	}
	w.stopped = true
	stopTimer(w.timer)
	if w.quit != nil {
		close(w.quit)
		w.kick() // the goroutine answers the typing frames still queued
	}
	for id, sender := range w.pending {
		answer(sender, RTMReply{ID: id, Err: &messages.SessionEndedError{MaybeSent: true}})
	}
	for _, o := range w.waiting {
		answer(o.sender, RTMReply{ID: o.id, Err: &messages.SessionEndedError{}})
	}
	w.pending, w.waiting = nil, nil
}
