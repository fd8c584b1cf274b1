package engine

import (
	"io"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gorilla/websocket"
	"github.com/sirupsen/logrus"

	"github.com/switchboard-go/switchboard/internal/wire"
	"github.com/switchboard-go/switchboard/messages"
)

// reader owns the goroutine that reads a session's socket: it decodes each frame and sends it to
// the connection, tagged with the session. The goroutine ends when the connection closes the
// session's socket; a read error is reported once. Malformed frames are counted, logged and
// skipped. Server pings are answered and, like pongs, count as traffic for the pinger.
//
// Flow control: each frame takes one of the session's credits (given back once the frame is
// handled, or, for an event, once it sits in every queue and its ack is written), and an event
// frame waits at the runtime's flow gate while a Backpressure queue is full. While it waits the
// socket is not read, so TCP pushes back on Slack, and nothing is acked that could not be queued.
// A reader also waits while its connection has readAhead frames it has not taken yet.
type reader struct {
	env    *Env
	sess   *session
	parent *actor.PID
	decode decodeFunc
	log    *logrus.Entry // the connection's: app or team, link, session
}

// decodeFunc decodes one frame into the message for the connection; event says whether the frame
// carries an event for the dispatcher (and so waits at the flow gate).
type decodeFunc func(data []byte, now time.Time) (msg any, event bool, err error)

func readerProps(env *Env, sess *session, parent *actor.PID, decode decodeFunc, log *logrus.Entry) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &reader{env: env, sess: sess, parent: parent, decode: decode, log: log}
	})
}

func (r *reader) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*actor.Started); ok {
		r.start()
	}
}

func (r *reader) start() {
	env, sess, parent, decode := r.env, r.sess, r.parent, r.decode
	ws := sess.conn()
	if ws == nil {
		return
	}
	ws.SetPingHandler(func(data string) error {
		sess.touch()
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(5*time.Second))
		if err == websocket.ErrCloseSent {
			return nil
		}
		return err
	})
	ws.SetPongHandler(func(string) error { sess.touch(); return nil })
	log := r.log
	env.Go(func() { // owner: reader. Ends when the session closes the socket; Env.WG waits.
		for {
			mt, data, err := readFrame(ws)
			if err != nil {
				env.send(parent, ReadFailed{Session: sess.gen, Err: &messages.SocketError{Op: "read", Err: err}})
				return
			}
			now := sess.now()
			sess.touch()
			if mt != websocket.TextMessage {
				env.Stats.Malformed.Add(1)
				log.Warn("binary frame ignored")
				continue
			}
			msg, event, err := decode(data, now)
			if err != nil {
				env.Stats.Malformed.Add(1)
				log.WithError(err).WithField("bytes", len(data)).Warn("malformed frame skipped")
				continue
			}
			if sess.acquire() != nil {
				return // the session ended while the reader held back
			}
			if event && sess.awaitingReplies.Load() == 0 && env.Flow.Pressed() {
				sess.paused.Store(true)
				err := env.Flow.wait(sess.ctx)
				sess.resume()
				if err != nil {
					return
				}
			}
			if sess.sent() != nil {
				return // the session ended while its connection had readAhead frames to take
			}
			env.send(parent, msg)
		}
	})
}

// decodeSocketMode decodes a Socket Mode frame and, for envelopes, its routing fields. An envelope
// becomes its *envelope right here, the one allocation its event needs besides the frame's bytes
// (the connection completes it); any other frame is a FrameRead.
func decodeSocketMode(gen uint64) decodeFunc {
	return func(data []byte, now time.Time) (any, bool, error) {
		f, err := wire.DecodeSocketFrame(data)
		if err != nil {
			return nil, false, err
		}
		if kind := socketModeKind(f.Type); kind != frameEvent {
			return FrameRead{Session: gen, Frame: f, Received: now, kind: kind}, false, nil
		}
		return newEnvelope(gen, &f, now), true, nil
	}
}

// socketModeKind is the kind of a Socket Mode frame type.
func socketModeKind(typ string) frameKind {
	switch typ {
	case "events_api", "slash_commands", "interactive":
		return frameEvent
	case "hello":
		return frameHello
	case "disconnect":
		return frameDisconnect
	}
	return frameUnknown
}

// frameScratch holds the buffers frames are read into before readFrame copies each into one of
// exactly its size (the event keeps it as Raw). Shared by every reader, so an idle link holds
// none.
var frameScratch = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// readFrame reads one message like ws.ReadMessage, in one allocation of the message's size
// instead of the doubling growth of io.ReadAll.
func readFrame(ws *websocket.Conn) (int, []byte, error) {
	mt, r, err := ws.NextReader()
	if err != nil {
		return mt, nil, err
	}
	bp := frameScratch.Get().(*[]byte)
	defer frameScratch.Put(bp)
	buf := (*bp)[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return mt, nil, err
		}
	}
	if cap(buf) <= 1<<20 { // a huge frame's buffer is not kept
		*bp = buf
	}
	return mt, append([]byte(nil), buf...), nil
}
