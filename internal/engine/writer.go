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
	queue  chan queued
	failed bool
}

// queued is one slot of a writer's queue, 16 bytes: an ack, which is what nearly every slot holds
// and which takes no allocation of its own (the SendAck is its envelope's), or any other frame.
type queued struct {
	ack   *SendAck  // built by the write goroutine into its own buffer
	frame *outFrame // a ping, a frame written as is, or a flush
}

// outFrame is a frame other than an ack.
type outFrame struct {
	data  []byte
	ping  bool
	flush Reply // answered with Drained once the frames before it are written
}

// writeQueueSize bounds frames waiting for the socket: the acks of the envelopes the session
// holds credits for (at most sessionCredits: an ack gives its credit back as it leaves the
// queue), and room for pings and drains. The channel's buffer is allocated whole when the writer
// starts, 16 bytes a slot (2 KiB); it was 80 bytes a slot before acks went in as pointers, and
// 8,192 slots were once 640 KiB per Socket Mode connection.
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
		w.enqueue(queued{ack: msg})
	case SendFrame:
		w.enqueue(queued{frame: &outFrame{data: msg.Data}})
	case SendPing:
		w.enqueue(queued{frame: &outFrame{ping: true}})
	case Drain:
		if w.queue == nil || w.failed {
			msg.Reply.Answer(Drained{})
			return
		}
		w.enqueue(queued{frame: &outFrame{flush: msg.Reply}})
	case *actor.Stopping, *actor.Restarting:
		if w.queue != nil {
			close(w.queue)
			w.queue = nil
		}
	}
}

func (w *writer) start() {
	w.queue = make(chan queued, writeQueueSize)
	q, sess, env, parent := w.queue, w.sess, w.env, w.parent
	env.Go(func() { // owner: writer. Ends when the writer closes q or a write fails; Env.WG waits.
		ws, batch := sess.conn(), sess.batch
		var buf []byte // acks are built here, one at a time (WriteMessage copies)
		for next := range q {
			ack, f := next.ack, next.frame
			if ack != nil && ack.Written != nil {
				ack.Written() // the ack leaves the queue now: written below, or dropped with the session
			}
			if f != nil && f.flush != nil {
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
			case ack != nil:
				buf = appendAck(buf[:0], ack.RawID, ack.EnvelopeID, ack.Payload)
				_ = ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
				err = ws.WriteMessage(websocket.TextMessage, buf)
			case f.ping:
				err = ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(5*time.Second))
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
			if ack != nil {
				env.Stats.Acks.Add(1)
				if !ack.Received.IsZero() {
					env.AckHook.observe(sess.now().Sub(ack.Received))
				}
			}
		}
	})
}

func (w *writer) enqueue(f queued) {
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

// dropped settles a frame that will never be written: an ack's credit comes back, a flush is
// answered.
func (f queued) dropped() {
	if f.ack != nil && f.ack.Written != nil {
		f.ack.Written()
	}
	if f.frame != nil && f.frame.flush != nil {
		f.frame.flush.Answer(Drained{})
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
