package engine

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/slack-go/slack"

	"github.com/switchboard-go/switchboard/internal/wire"
	"github.com/switchboard-go/switchboard/messages"
)

// Ack is the once-only acknowledgement of one envelope, shared by every goroutine that may send it:
// the connection (on placement), a responding handler, the response deadline, the last handler to
// finish. The first Send wins.
type Ack struct {
	done    atomic.Bool
	accepts bool
	pending atomic.Int32 // handlers still running; see Hold and Release
	to      acker
}

// acker writes an ack: the envelope it belongs to (one allocation holds the event, its ack and
// its placement), or a func in tests.
type acker interface{ writeAck(payload []byte) }

type ackFunc func(payload []byte)

func (f ackFunc) writeAck(payload []byte) { f(payload) }

// NewAck returns an Ack whose first Send calls send with the payload (nil for an empty ack).
// accepts says whether the envelope takes a response payload.
func NewAck(accepts bool, send func(payload []byte)) *Ack {
	return &Ack{accepts: accepts, to: ackFunc(send)}
}

// Send acks with payload (nil for none) unless already acked; it reports whether this call acked.
func (a *Ack) Send(payload []byte) bool {
	if !a.done.CompareAndSwap(false, true) {
		return false
	}
	a.to.writeAck(payload)
	return true
}

// Done reports whether the ack went.
func (a *Ack) Done() bool { return a.done.Load() }

// Hold records n more handlers that must finish (Release) before the ack goes when the event is
// acked after handling.
func (a *Ack) Hold(n int) { a.pending.Add(int32(n)) }

// Release records that a handler finished; the last one sends an empty ack if none went yet.
func (a *Ack) Release() {
	if a.pending.Add(-1) == 0 {
		a.Send(nil)
	}
}

// Placement counts the queues an event is still on its way to. The dispatcher holds it once while
// it routes, and once more for every subscription that places the event later (a keyed one); when
// the last hold is let go the event sits in every queue that will deliver it (or was dropped as a
// duplicate or by an overflow policy the user chose), and the connection's func runs, once: it
// acks the envelope (by default) and returns the reader's flow-control credit.
type Placement struct {
	pending atomic.Int32
	to      placer
}

// placer is told once an event is placed.
type placer interface{ placed() }

// Hold records n more places the event must still reach.
func (p *Placement) Hold(n int) { p.pending.Add(int32(n)) }

// Placed records that one hold is let go; the last one calls done.
func (p *Placement) Placed() {
	if p.pending.Add(-1) == 0 {
		p.to.placed()
	}
}

// ClientSource returns the Web API client of a team, or an error naming the team.
type ClientSource func(ctx context.Context, team string) (*slack.Client, error)

// envelope is one Socket Mode envelope on its way: the event, its ack, its placement, and the
// requests it sends to the writer and the dispatcher, all in one allocation. It is the event's
// messages.Source.
type envelope struct {
	ev      messages.Event
	ack     Ack
	place   Placement
	req     SendAck
	disp    Dispatch
	clients ClientSource
	env     *Env
	writer  *actor.PID
	// ackOnPlacement: the ack goes once the event sits in every queue (the default for envelopes
	// that take no response).
	ackOnPlacement bool
	msg            messageFields
}

// messageFields are a message's fields, read with the frame (messages.MessageFielder).
type messageFields struct {
	text, ts, threadTS, subtype, botID, user string
	ok                                       bool
}

func (m *messageFields) MessageFields() (text, ts, threadTS, subtype, botID, user string, ok bool) {
	return m.text, m.ts, m.threadTS, m.subtype, m.botID, m.user, m.ok
}

func (e *envelope) MessageFields() (text, ts, threadTS, subtype, botID, user string, ok bool) {
	return e.msg.MessageFields()
}

// newEnvelope is the envelope of an events_api, slash_commands or interactive frame f, read in
// session gen at received, with what the frame says filled in; the connection completes it
// (SocketModeSpec.event). It is the frame's message to the connection.
func newEnvelope(gen uint64, f *wire.SocketFrame, received time.Time) *envelope {
	r := &f.Route
	e := &envelope{}
	e.ev = messages.Event{
		Session: gen, Kind: messages.Kind(f.Type), Type: r.Type,
		Team: r.Team, Channel: r.Channel, User: r.User, ThreadTS: r.ThreadTS, EventID: r.EventID,
		EnvelopeID: f.EnvelopeID, RetryAttempt: f.RetryAttempt, RetryReason: f.RetryReason,
		Received: received, Raw: f.Payload,
	}
	if f.Type == string(messages.KindEventsAPI) {
		e.msg = messageFields{text: r.Text, ts: r.TS, threadTS: r.ThreadTS, subtype: r.Subtype, botID: r.BotID, user: r.User, ok: true}
	}
	e.ack.accepts = f.Accepts
	e.req = SendAck{EnvelopeID: f.EnvelopeID, RawID: f.RawEnvelopeID, Received: received}
	return e
}

func (e *envelope) sessionOf() uint64 { return e.ev.Session }
func (e *envelope) kindOf() frameKind { return frameEvent }

func (e *envelope) writeAck(payload []byte) {
	e.req.Payload = payload
	e.env.send(e.writer, &e.req)
}

func (e *envelope) placed() {
	if e.ackOnPlacement {
		e.ack.Send(nil)
	}
}

func (e *envelope) AcceptsResponse() bool { return e.ack.accepts }

func (e *envelope) Respond(payload []byte) bool { return e.ack.Send(payload) }

func (e *envelope) Client(ctx context.Context, team string) (*slack.Client, error) {
	return clientOf(e.clients, ctx, team)
}

// rtmEvent is one RTM event on its way: the event and its placement, which gives the reader's
// credit back.
type rtmEvent struct {
	ev      messages.Event
	place   Placement
	disp    Dispatch
	clients ClientSource
	sess    *session
	msg     messageFields
}

func (e *rtmEvent) MessageFields() (text, ts, threadTS, subtype, botID, user string, ok bool) {
	return e.msg.MessageFields()
}

func (e *rtmEvent) placed() { e.sess.release() }

func (e *rtmEvent) sessionOf() uint64 { return e.ev.Session }
func (e *rtmEvent) kindOf() frameKind { return frameEvent }

func (e *rtmEvent) AcceptsResponse() bool { return false }

func (e *rtmEvent) Respond([]byte) bool { return false }

func (e *rtmEvent) Client(ctx context.Context, team string) (*slack.Client, error) {
	return clientOf(e.clients, ctx, team)
}

func clientOf(clients ClientSource, ctx context.Context, team string) (*slack.Client, error) {
	if clients == nil {
		return nil, fmt.Errorf("%w for team %s: the link has no installation store", messages.ErrNoClient, team)
	}
	return clients(ctx, team)
}
