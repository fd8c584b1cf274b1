package engine

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-go/switchboard/internal/wire"
	"github.com/switchboard-go/switchboard/messages"
)

// HTTPEvent is one event delivered to an app's request URL, on its way into the dispatcher like a
// Socket Mode envelope: Payload is what a Socket Mode envelope's payload would be (the
// event_callback, the slash command's fields as a JSON object, the interaction).
type HTTPEvent struct {
	Link         messages.Link
	Kind         messages.Kind
	Payload      []byte
	RetryAttempt int
	RetryReason  string
	Received     time.Time
	Clients      ClientSource
	// Accepts says whether the answer can carry a response (commands, view submissions, block
	// suggestions).
	Accepts bool
	// Deadline bounds the wait at the flow gate and for the ack (the response deadline).
	Deadline time.Duration
	// AckAfterHandlers answers only once every matching handler has returned.
	AckAfterHandlers bool
}

// Errors of InjectHTTP, for errors.Is.
var (
	// ErrBusy: the flow gate stayed pressed, or the event was not placed in every queue, until the
	// deadline; nothing was acked, and the request should fail so that Slack retries.
	ErrBusy = errors.New("switchboard: busy, not accepted")
	// ErrMalformedPayload: the payload does not decode.
	ErrMalformedPayload = errors.New("switchboard: malformed payload")
)

// httpEvent is an HTTPEvent on its way: the event, its ack (which hands the answer to the waiting
// request) and its placement. It is the event's messages.Source.
type httpEvent struct {
	ev      messages.Event
	ack     Ack
	place   Placement
	disp    Dispatch
	clients ClientSource
	answer  chan []byte // the ack's payload, once
	placedF atomic.Bool
	onPlace bool
	msg     messageFields
}

func (e *httpEvent) MessageFields() (text, ts, threadTS, subtype, botID, user string, ok bool) {
	return e.msg.MessageFields()
}

func (e *httpEvent) writeAck(payload []byte) { e.answer <- payload }

func (e *httpEvent) placed() {
	e.placedF.Store(true)
	if e.onPlace {
		e.ack.Send(nil)
	}
}

func (e *httpEvent) AcceptsResponse() bool { return e.ack.accepts }

func (e *httpEvent) Respond(payload []byte) bool { return e.ack.Send(payload) }

func (e *httpEvent) Client(ctx context.Context, team string) (*slack.Client, error) {
	return clientOf(e.clients, ctx, team)
}

// InjectHTTP hands an HTTP-delivered event to the dispatcher and waits for its ack, within
// h.Deadline: it returns the ack's payload (nil for an empty ack). The event waits at the flow gate
// first, as a Socket Mode reader does; when the gate stays pressed until the deadline the event is
// not dispatched and InjectHTTP fails with ErrBusy. Once dispatched, the ack goes when the event
// sits in every queue (or, for an event that takes a response, when a handler responds; with
// AckAfterHandlers, when the handlers have returned). At the deadline an event that takes a
// response and is placed is answered empty (counted in ResponseTimeout); any other unacked event
// fails with ErrBusy, so that Slack retries it and dedupe drops the retry if it did arrive.
func InjectHTTP(ctx context.Context, env *Env, h HTTPEvent) ([]byte, error) {
	r, err := wire.RouteSocketPayload(string(h.Kind), h.Payload)
	if err != nil {
		env.Stats.Malformed.Add(1)
		return nil, errors.Join(ErrMalformedPayload, err)
	}
	wctx, cancel := context.WithTimeout(ctx, h.Deadline)
	defer cancel()
	stop := context.AfterFunc(env.Ctx, cancel) // the runtime stopping answers at once
	defer stop()
	if err := env.Flow.wait(wctx); err != nil {
		return nil, ErrBusy
	}
	env.Stats.EventsIn.Add(1)
	e := &httpEvent{clients: h.Clients, answer: make(chan []byte, 1), onPlace: !h.Accepts && !h.AckAfterHandlers}
	e.ev = messages.Event{
		Link: h.Link, Kind: h.Kind, Type: r.Type, Team: r.Team, Channel: r.Channel, User: r.User,
		ThreadTS: r.ThreadTS, EventID: r.EventID, RetryAttempt: h.RetryAttempt, RetryReason: h.RetryReason,
		Received: h.Received, Raw: h.Payload,
	}
	messages.NewEvent(e, &e.ev)
	if h.Kind == messages.KindEventsAPI {
		e.msg = messageFields{text: r.Text, ts: r.TS, threadTS: r.ThreadTS, subtype: r.Subtype, botID: r.BotID, user: r.User, ok: true}
	}
	e.ack = Ack{accepts: h.Accepts, to: e}
	e.place.to = e
	e.disp = Dispatch{Event: &e.ev, Ack: &e.ack, Placement: &e.place}
	env.send(env.Dispatcher, &e.disp)
	select {
	case p := <-e.answer:
		return p, nil
	case <-wctx.Done():
	}
	if h.Accepts && e.placedF.Load() && e.ack.Send(nil) {
		env.Stats.ResponseTimeout.Add(1)
	}
	if e.ack.Done() { // this call's empty ack, or one that just went: its payload is on its way
		return <-e.answer, nil
	}
	return nil, ErrBusy
}
