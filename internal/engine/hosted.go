package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/slack-go/slack"

	"github.com/switchboard-go/switchboard/messages"
)

// Hosted subscriptions run the keys of a clustered keyed subscription that live on this member:
// they take no event from the dispatcher's routing, only the events another member (or this one)
// forwarded to a key's grain here (DispatchHosted). Spec.Hosted marks one.

// Forwarded is an event a member read, on its way to a hosted subscription of this runtime.
type Forwarded struct {
	Subscription string
	// Event has the reading member's routing fields and Raw; DispatchHosted gives it its source
	// here and keeps it.
	Event *messages.Event
	// Message holds a message event's text, ts, subtype and bot ID, when HasMessage.
	Text, TS, Subtype, BotID string
	HasMessage               bool
	// Clients gives the handlers their team's Web API client.
	Clients ClientSource
	// AfterHandlers calls done only once the handlers returned (the runtime acks after handlers):
	// the forwarding member then keeps the event until it was handled, and sends it again if this
	// member dies first.
	AfterHandlers bool
}

// ErrNotHosted: no hosted subscription of that name runs here (another version of the program, or
// one that has not subscribed yet).
var ErrNotHosted = errors.New("switchboard: no such clustered subscription on this member")

// forwardedEvent is a Forwarded on its way: the event, its placement, and what the forwarding
// member waits for. It is the event's messages.Source; it carries no ack (the reading member
// acked the envelope).
type forwardedEvent struct {
	ev      *messages.Event
	ack     Ack // with AfterHandlers: its last Release calls done
	after   bool
	place   Placement
	clients ClientSource
	msg     messageFields
	once    sync.Once
	done    func(error)
}

func (e *forwardedEvent) finish(err error) { e.once.Do(func() { e.done(err) }) }

func (e *forwardedEvent) placed() {
	if !e.after {
		e.finish(nil)
	}
}

func (e *forwardedEvent) writeAck([]byte) { e.finish(nil) }

func (e *forwardedEvent) MessageFields() (text, ts, threadTS, subtype, botID, user string, ok bool) {
	return e.msg.MessageFields()
}

// AcceptsResponse is false: the envelope was acked by the member that read it.
func (e *forwardedEvent) AcceptsResponse() bool { return false }

func (e *forwardedEvent) Respond([]byte) bool { return false }

func (e *forwardedEvent) Client(ctx context.Context, team string) (*slack.Client, error) {
	return clientOf(e.clients, ctx, team)
}

// hostedDispatch asks the dispatcher to place a forwarded event in its hosted subscription.
type hostedDispatch struct {
	name string
	e    *forwardedEvent
}

// DispatchHosted hands f to the hosted subscription it names and calls done once, from any
// goroutine: nil once the event sits in its key's queue (with AfterHandlers, once its handlers
// returned), ErrNotHosted when no such subscription runs here, or an error when the runtime is
// stopping. A runtime that stops meanwhile may never call it: the forwarding member's timeout
// covers that.
func DispatchHosted(env *Env, f Forwarded, done func(error)) {
	if err := env.Ctx.Err(); err != nil {
		done(fmt.Errorf("switchboard: stopping: %w", err))
		return
	}
	e := &forwardedEvent{ev: f.Event, clients: f.Clients, done: done, after: f.AfterHandlers}
	e.ack.to = e
	messages.NewEvent(e, e.ev)
	if f.HasMessage {
		e.msg = messageFields{text: f.Text, ts: f.TS, threadTS: f.Event.ThreadTS, subtype: f.Subtype, botID: f.BotID, user: f.Event.User, ok: true}
	}
	e.place.to = e
	env.send(env.Dispatcher, hostedDispatch{name: f.Subscription, e: e})
}

// keyIdle asks a keyed subscription whether a key has nothing queued, parked or in a handler.
type keyIdle struct {
	name, key string
	answer    func(bool)
}

// KeyIdle calls answer once, from any goroutine, with whether the key of the hosted subscription
// has nothing queued, waiting or in a handler here (true when no such subscription runs here).
func KeyIdle(env *Env, subscription, key string, answer func(idle bool)) {
	if env.Ctx.Err() != nil {
		answer(true) // stopped: its handlers are done with everything
		return
	}
	env.send(env.Dispatcher, keyIdle{name: subscription, key: key, answer: answer})
}

// KeyOf returns an event's key for a keyed subscription.
func KeyOf(by KeyBy, ev *messages.Event) string { return keyOf(by, ev) }
