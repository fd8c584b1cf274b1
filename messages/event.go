package messages

import (
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// Kind is the envelope an event came in.
type Kind string

// Event kinds.
const (
	KindEventsAPI    Kind = "events_api"     // Socket Mode Events API envelope
	KindSlashCommand Kind = "slash_commands" // Socket Mode slash command
	KindInteractive  Kind = "interactive"    // Socket Mode interaction (block_actions, view_submission, shortcut, …)
	KindRTM          Kind = "rtm"            // an RTM frame
)

// MaxResponseSize is the largest ack frame Slack accepts; larger acks are silently dropped by Slack,
// so Respond refuses them.
const MaxResponseSize = 20 * 1024

// Event is one event from Slack, as handlers and subscriber actors receive it. Subscribers share
// the same *Event: treat it as read-only.
type Event struct {
	Link         Link
	Session      uint64
	Kind         Kind
	Type         string // inner event type ("message"), the command ("/deploy"), or the interaction type ("block_actions")
	Team         string // team ID the event belongs to
	Channel      string // channel ID, when the event has one
	User         string // user ID, when the event has one
	ThreadTS     string // thread the event belongs to, when it is in one
	EventID      string // Events API event_id ("" for commands and interactions)
	EnvelopeID   string
	RetryAttempt int    // 0 on first delivery
	RetryReason  string // "timeout" on redeliveries
	Received     time.Time
	// Raw is the payload as Slack sent it: the event_callback, the slash command, the interaction,
	// or the RTM frame.
	Raw     json.RawMessage
	ack     *Ack
	placed  *Placement
	clients func(team string) *slack.Client

	clientOnce sync.Once
	client     *slack.Client

	parseOnce sync.Once
	parsed    any
	parseErr  error
}

// EventsAPI decodes an Events API payload with slack-go; InnerEvent.Data holds the typed event
// (*slackevents.MessageEvent, *slackevents.AppMentionEvent, …). The result is decoded once and shared.
func (e *Event) EventsAPI() (slackevents.EventsAPIEvent, error) {
	v, err := e.parse(func() (any, error) {
		return slackevents.ParseEvent(e.Raw, slackevents.OptionNoVerifyToken())
	})
	ev, _ := v.(slackevents.EventsAPIEvent)
	return ev, err
}

// SlashCommand decodes a slash command payload.
func (e *Event) SlashCommand() (slack.SlashCommand, error) {
	v, err := e.parse(func() (any, error) {
		var c slack.SlashCommand
		err := json.Unmarshal(e.Raw, &c)
		return c, err
	})
	c, _ := v.(slack.SlashCommand)
	return c, err
}

// Interaction decodes an interactive payload (block_actions, view_submission, shortcut, …).
func (e *Event) Interaction() (slack.InteractionCallback, error) {
	v, err := e.parse(func() (any, error) {
		var c slack.InteractionCallback
		err := json.Unmarshal(e.Raw, &c)
		return c, err
	})
	c, _ := v.(slack.InteractionCallback)
	return c, err
}

func (e *Event) parse(f func() (any, error)) (any, error) {
	e.parseOnce.Do(func() { e.parsed, e.parseErr = f() })
	return e.parsed, e.parseErr
}

// ResponseURL returns the response_url Slack sent with a slash command, a message shortcut or a
// block action (for a view submission, the first of its response_urls), or "" when there is none.
func (e *Event) ResponseURL() string {
	if e.Kind != KindSlashCommand && e.Kind != KindInteractive {
		return ""
	}
	var p struct {
		ResponseURL  string `json:"response_url"`
		ResponseURLs []struct {
			ResponseURL string `json:"response_url"`
		} `json:"response_urls"`
	}
	if json.Unmarshal(e.Raw, &p) != nil {
		return ""
	}
	if p.ResponseURL == "" && len(p.ResponseURLs) > 0 {
		return p.ResponseURLs[0].ResponseURL
	}
	return p.ResponseURL
}

// AcceptsResponse reports whether Respond can put a payload in this event's ack (slash commands,
// view submissions, block suggestions).
func (e *Event) AcceptsResponse() bool { return e.ack != nil && e.ack.accepts }

// Respond answers the event in its Socket Mode ack: a slash command's message, a view_submission's
// response_action, a block_suggestion's options. payload is marshalled to JSON. It fails with
// ErrNoResponse if the event takes none, ErrResponseTooLarge over 20 KiB, and ErrAlreadyAcked once
// the ack went (another handler answered, or the response deadline passed).
func (e *Event) Respond(payload any) error {
	if !e.AcceptsResponse() {
		return ErrNoResponse
	}
	data, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	if len(data)+len(e.EnvelopeID)+32 >= MaxResponseSize {
		return ErrResponseTooLarge
	}
	if !e.ack.Send(data) {
		return ErrAlreadyAcked
	}
	return nil
}

// Client returns a Web API client for the event's team, from the installation store, or nil when
// no token is known for the team. It is resolved on first use, on the caller's goroutine.
func (e *Event) Client() *slack.Client {
	e.clientOnce.Do(func() {
		if e.clients != nil && e.Team != "" {
			e.client = e.clients(e.Team)
		}
	})
	return e.client
}

// AttachClients gives the event its source of Web API clients; the connection actor calls it.
func (e *Event) AttachClients(f func(team string) *slack.Client) { e.clients = f }

// AttachAck gives the event its ack; the connection actor calls it before dispatch.
func (e *Event) AttachAck(a *Ack) { e.ack = a }

// AckOf returns the event's ack, nil for events that need none (RTM).
func (e *Event) AckOf() *Ack { return e.ack }

// AttachPlacement gives the event its placement; the connection actor calls it before dispatch.
func (e *Event) AttachPlacement(p *Placement) { e.placed = p }

// PlacementOf returns the event's placement, nil when nobody waits for it.
func (e *Event) PlacementOf() *Placement { return e.placed }

// Placement counts the queues an event is still on its way to. The dispatcher holds it once while
// it routes, and once more for every subscription that places the event later (a keyed one); when
// the last hold is let go the event sits in every queue that will deliver it (or was dropped as a
// duplicate or by an overflow policy the user chose), and the connection's func runs, once: it
// acks the envelope (by default) and returns the reader's flow-control credit.
type Placement struct {
	pending atomic.Int32
	done    func()
}

// NewPlacement returns a Placement that calls done once every hold is let go.
func NewPlacement(done func()) *Placement { return &Placement{done: done} }

// Hold records n more places the event must still reach.
func (p *Placement) Hold(n int) { p.pending.Add(int32(n)) }

// Placed records that one hold is let go; the last one calls done.
func (p *Placement) Placed() {
	if p.pending.Add(-1) == 0 {
		p.done()
	}
}

// Ack is the once-only acknowledgement of one envelope, shared by every goroutine that may send it:
// the connection (on receipt), a responding handler, the response deadline, the last handler to
// finish. The first Send wins.
type Ack struct {
	done    atomic.Bool
	accepts bool
	pending atomic.Int32 // handlers still running; see Hold and Release
	send    func(payload []byte)
}

// NewAck returns an Ack whose first Send calls send with the payload (nil for an empty ack).
// accepts says whether the envelope takes a response payload.
func NewAck(accepts bool, send func(payload []byte)) *Ack {
	return &Ack{accepts: accepts, send: send}
}

// Send acks with payload (nil for none) unless already acked; it reports whether this call acked.
func (a *Ack) Send(payload []byte) bool {
	if !a.done.CompareAndSwap(false, true) {
		return false
	}
	a.send(payload)
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
