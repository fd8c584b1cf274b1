package actors

import (
	"context"
	"net/http"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gorilla/websocket"
	"github.com/sirupsen/logrus"

	"github.com/switchboard-go/switchboard/internal/redact"
	"github.com/switchboard-go/switchboard/messages"
)

// maxFrameBytes bounds one frame read from Slack; a larger one ends the session.
const maxFrameBytes = 64 << 20

// beginSession starts a connection incarnation's session: a new generation, the logger carrying
// it, and what the predecessor's failure left in state. It publishes Reconnecting when there was
// a failure, and returns the attempt number and the delay to wait before dialing.
func beginSession(env *Env, state *LinkState, link messages.Link, fields logrus.Fields) (*session, *logrus.Entry, int, time.Duration) {
	gen := env.nextSession()
	sess := newSession(env.Ctx, gen)
	fields["session"] = gen
	log := env.Log.WithFields(fields)
	delay, attempt, cause := state.begin(gen)
	if cause != nil {
		env.publish(messages.Reconnecting{Link: link, Session: gen, Attempt: attempt, Delay: delay, Cause: cause})
		log.WithError(cause).WithField("delay", delay).Warn("session ended, reconnecting")
	}
	return sess, log, attempt, delay
}

// dialSession opens a session's socket on a goroutine the session owns: open asks the Web API for
// the URL (and returns the answer's body), then the socket is dialed and attached. The connection
// (self) receives opened(body), or OpenFailed. A dial that ends after the session closed closes its
// socket itself.
func dialSession(env *Env, sess *session, self *actor.PID, dialer *websocket.Dialer, header http.Header,
	open func(context.Context) (url string, body []byte, err error), opened func(body []byte) any) {
	env.Go(func() { // owner: the session. Ends when the dial ends or the session closes; Env.WG waits.
		url, body, err := open(sess.ctx)
		if err != nil {
			env.send(self, messages.OpenFailed{Session: sess.gen, Err: err})
			return
		}
		ws, resp, err := dialer.DialContext(sess.ctx, url, header)
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		if err != nil {
			env.send(self, messages.OpenFailed{Session: sess.gen, Err: &messages.SocketError{Op: "dial " + redact.URL(url), Err: err}})
			return
		}
		ws.SetReadLimit(maxFrameBytes)
		if !sess.attach(ws) {
			_ = ws.Close()
			return
		}
		env.send(self, opened(body))
	})
}
