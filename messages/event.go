package messages

import (
	"context"
	"encoding/json"
	"fmt"
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
// the same *Event: treat it as read-only. Its strings may share memory with Raw (the frame is read
// once, without copies): to keep one past the event without keeping the whole payload, clone it
// (strings.Clone).
//
// Its fields say where it came from and how it routes; Raw is the payload as Slack sent it, and
// EventsAPI, SlashCommand and Interaction decode it with slack-go's types. Respond answers in the
// envelope's ack (slash commands, view submissions, block suggestions), Client returns the Web API
// client of the event's team, ResponseURL the response_url Slack sent with it.
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
	Raw json.RawMessage

	src Source

	// lazy holds what is decoded from Raw on demand, allocated on first need (lazyState): most
	// events are never decoded, so they pay one pointer for it.
	lazy atomic.Pointer[lazyState]
}

// lazyState is what an Event decodes from Raw on demand, each part once and shared by every
// goroutine that reads the event.
type lazyState struct {
	parseOnce sync.Once
	parsed    any // slackevents.EventsAPIEvent, slack.SlashCommand or slack.InteractionCallback
	parseErr  error

	fieldsOnce sync.Once
	fields     innerFields // a message's text, ts, subtype and author, when the source has none (accessors.go)
}

// state returns e's lazyState, allocating it on first call. Concurrent first calls race to install
// theirs with a CAS; the losers use the winner's, so every caller shares one.
func (e *Event) state() *lazyState {
	if l := e.lazy.Load(); l != nil {
		return l
	}
	l := new(lazyState)
	if e.lazy.CompareAndSwap(nil, l) {
		return l
	}
	return e.lazy.Load()
}

// Source is what an event reaches back to: its envelope's ack and its team's Web API client. The
// runtime gives every event it delivers one; a test of your own subscriber actor can build events
// with a Source of its own (NewEvent).
type Source interface {
	// AcceptsResponse reports whether the envelope's ack can carry a response payload.
	AcceptsResponse() bool
	// Respond sends the ack with payload (JSON), unless the ack went already; it reports whether
	// this call acked.
	Respond(payload []byte) bool
	// Client returns the Web API client of team, or an error that names the team.
	Client(ctx context.Context, team string) (*slack.Client, error)
}

// NewEvent gives e its source and returns it.
func NewEvent(src Source, e *Event) *Event {
	e.src = src
	return e
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
	l := e.state()
	l.parseOnce.Do(func() { l.parsed, l.parseErr = f() })
	return l.parsed, l.parseErr
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
func (e *Event) AcceptsResponse() bool { return e.src != nil && e.src.AcceptsResponse() }

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
	if !e.src.Respond(data) {
		return ErrAlreadyAcked
	}
	return nil
}

// Client returns a Web API client for the event's team: from the app's InstallationStore (Socket
// Mode) or the workspace's own token (RTM). The first call for a team may ask the store, bounded
// by ctx. It never returns a nil client without an error: errors.Is(err, ErrNoClient) when no
// token is known for the team, and the error names it.
func (e *Event) Client(ctx context.Context) (*slack.Client, error) {
	if e.src == nil || e.Team == "" {
		return nil, fmt.Errorf("%w for team %q (%s event)", ErrNoClient, e.Team, e.Kind)
	}
	c, err := e.src.Client(ctx, e.Team)
	if err == nil && c == nil {
		err = fmt.Errorf("%w for team %s", ErrNoClient, e.Team)
	}
	return c, err
}
