package engine

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gorilla/websocket"

	"github.com/switchboard-go/switchboard/messages"
)

// writer is the only writer of a session's socket. Its Receive turns requests into frames and
// queues them for a goroutine it owns, which does the blocking writes. A full queue means the
// socket stalled: the connection is told once and further frames are dropped (the session is
// ending anyway). It ends with its connection.
type writer struct {
	env    *Env
	sess   *session
	parent *actor.PID
	queue  chan outFrame
	failed bool
}

type outFrame struct {
	data  []byte
	ping  bool
	ack   *SendAck // an ack, built by the write goroutine into its own buffer
	flush Reply    // answered with Drained once the frames before it are written
	// written, when set, is called once the frame is written or dropped (the session's credit).
	written func()
	// received is when an acked envelope was read, for Env.AckHook; zero for other frames.
	received time.Time
}

// writeQueueSize bounds frames waiting for the socket: the acks of the envelopes the session
// holds credits for (at most sessionCredits: an ack gives its credit back as it leaves the
// queue), and room for pings and drains. The channel's buffer is allocated whole when the writer
// starts, 80 bytes a slot: 8,192 slots were 640 KiB per Socket Mode connection.
const writeQueueSize = sessionCredits + 64

func writerProps(env *Env, sess *session, parent *actor.PID) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &writer{env: env, sess: sess, parent: parent}
	})
}

func (w *writer) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		w.start()
	case *SendAck:
		w.enqueue(outFrame{ack: msg, received: msg.Received, written: msg.Written})
	case SendFrame:
		w.enqueue(outFrame{data: msg.Data})
	case SendPing:
		w.enqueue(outFrame{ping: true})
	case Drain:
		if w.queue == nil || w.failed {
			msg.Reply.Answer(Drained{})
			return
		}
		w.enqueue(outFrame{flush: msg.Reply})
	case *actor.Stopping, *actor.Restarting:
		if w.queue != nil {
			close(w.queue)
			w.queue = nil
		}
	}
}

func (w *writer) start() {
	w.queue = make(chan outFrame, writeQueueSize)
	q, sess, env, parent := w.queue, w.sess, w.env, w.parent
	env.Go(func() { // owner: writer. Ends when the writer closes q or a write fails; Env.WG waits.
		ws, batch := sess.conn(), sess.batch
		var buf []byte // acks are built here, one at a time (WriteMessage copies)
		for f := range q {
			if f.written != nil {
				f.written() // the frame leaves the queue now: written below, or dropped with the session
			}
			if f.flush != nil {
				if ws != nil {
					if err := batch.release(); err != nil {
						env.send(parent, WriteFailed{Session: sess.gen, Err: &messages.SocketError{Op: "write", Err: err}})
						ws = nil
					}
				}
				f.flush.Answer(Drained{})
				continue
			}
			if ws == nil {
				continue
			}
			// While more frames wait, their bytes go out together in one write.
			if len(q) > 0 {
				batch.hold()
			}
			var err error
			switch {
			case f.ping:
				err = ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(5*time.Second))
			case f.ack != nil:
				buf = appendAck(buf[:0], f.ack.RawID, f.ack.EnvelopeID, f.ack.Payload)
				_ = ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
				err = ws.WriteMessage(websocket.TextMessage, buf)
			default:
				_ = ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
				err = ws.WriteMessage(websocket.TextMessage, f.data)
			}
			if err == nil && len(q) == 0 {
				err = batch.release()
			}
			if err != nil {
				env.send(parent, WriteFailed{Session: sess.gen, Err: &messages.SocketError{Op: "write", Err: err}})
				ws = nil // drain q without writing until the writer stops
				continue
			}
			if f.ack != nil {
				env.Stats.Acks.Add(1)
				if !f.received.IsZero() {
					env.AckHook.observe(sess.now().Sub(f.received))
				}
			}
		}
	})
}

func (w *writer) enqueue(f outFrame) {
	if w.queue == nil || w.failed {
		f.dropped()
		return
	}
	select {
	case w.queue <- f:
	default:
		f.dropped()
		w.failed = true
		w.env.send(w.parent, WriteFailed{Session: w.sess.gen, Err: messages.ErrWriteStalled})
	}
}

// dropped settles a frame that will never be written: its credit comes back, a flush is answered.
func (f outFrame) dropped() {
	if f.written != nil {
		f.written()
	}
	if f.flush != nil {
		f.flush.Answer(Drained{})
	}
}

// appendAck appends the Socket Mode ack to b: {"envelope_id":id} or
// {"envelope_id":id,"payload":payload}. It is built by hand, not from socketmode.Response: an ack
// must echo envelope_id byte for byte as it was received (wire.SocketFrame.RawEnvelopeID, written
// as is when raw is set), which a re-encoded string cannot promise for an ID that is not valid
// UTF-8.
func appendAck(b, raw []byte, id string, payload []byte) []byte {
	b = append(b, `{"envelope_id":`...)
	if len(raw) > 0 {
		b = append(b, raw...)
	} else {
		b = appendJSONString(b, id)
	}
	if len(payload) > 0 {
		b = append(b, `,"payload":`...)
		b = append(b, payload...)
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string, escaping what JSON requires.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
