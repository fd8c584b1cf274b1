package messages

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/slack-go/slack"
)

// ErrNoChannel is returned by Say for an event that names no channel (a view submission, a
// global shortcut, app_home_opened without one).
var ErrNoChannel = errors.New("switchboard: event has no channel")

// innerFields are the few fields of a message event that routing and Say read: from the source
// (MessageFielder) or, without one, decoded once from Raw: the inner event of an Events API
// payload, or the RTM frame.
type innerFields struct {
	Text     string `json:"text"`
	TS       string `json:"ts"`
	ThreadTS string `json:"thread_ts"`
	Subtype  string `json:"subtype"`
	BotID    string `json:"bot_id"`
	User     string `json:"user"`
}

// MessageFielder is an optional interface of a Source: the message fields of its event, read with
// the frame (the runtime's sources have them), which saves decoding the payload again. ok is false
// when it has none. The accessors (Text, MessageTS, …) of an Events API or RTM event ask it on
// every call, from any of the goroutines that share the event: it must be safe for concurrent use
// and give the same answer each time.
type MessageFielder interface {
	MessageFields() (text, ts, threadTS, subtype, botID, user string, ok bool)
}

// fields returns e's message fields: straight from the source when it is a MessageFielder with
// them (no allocation, nothing cached), else decoded from Raw once and shared.
func (e *Event) fields() innerFields {
	if mf, isMF := e.src.(MessageFielder); isMF && (e.Kind == KindEventsAPI || e.Kind == KindRTM) {
		var f innerFields
		var ok bool
		if f.Text, f.TS, f.ThreadTS, f.Subtype, f.BotID, f.User, ok = mf.MessageFields(); ok {
			return f
		}
	}
	l := e.state()
	l.fieldsOnce.Do(func() { l.fields = e.decodeFields() })
	return l.fields
}

// decodeFields decodes e's message fields from Raw.
func (e *Event) decodeFields() innerFields {
	var f innerFields
	switch e.Kind {
	case KindEventsAPI:
		var p struct {
			Event innerFields `json:"event"`
		}
		if json.Unmarshal(e.Raw, &p) == nil {
			f = p.Event
		}
	case KindRTM:
		_ = json.Unmarshal(e.Raw, &f)
	case KindSlashCommand:
		var p struct {
			Text string `json:"text"`
		}
		if json.Unmarshal(e.Raw, &p) == nil {
			f.Text = p.Text
		}
	case KindInteractive:
		if cb, err := e.Interaction(); err == nil {
			f.TS = cb.Container.MessageTs
			if f.TS == "" {
				f.TS = cb.Message.Timestamp
			}
			f.ThreadTS = cb.Container.ThreadTs
			if f.ThreadTS == "" {
				f.ThreadTS = cb.Message.ThreadTimestamp
			}
			f.Text = cb.Message.Text
		}
	}
	return f
}

// Text returns a message event's text (Events API message or app_mention, RTM message), a slash
// command's text, or the text of the message an interaction came from; "" otherwise.
func (e *Event) Text() string { return e.fields().Text }

// Subtype returns a message event's subtype ("bot_message", "message_changed", …), "" for a
// plain message and for other events.
func (e *Event) Subtype() string { return e.fields().Subtype }

// BotID returns the bot_id of a message event posted by a bot, "" otherwise.
func (e *Event) BotID() string { return e.fields().BotID }

// MessageTS returns the ts of the message the event is: a message event's own ts, or for a block
// action or message shortcut the ts of the message it came from; "" otherwise.
func (e *Event) MessageTS() string { return e.fields().TS }

// Say posts text in the event's channel through the team's Web API client (chat.postMessage)
// and returns the new message's ts. opts are slack-go's message options (blocks, a thread,
// metadata, …) applied after the text. It fails with ErrNoChannel when the event has no channel.
func (e *Event) Say(ctx context.Context, text string, opts ...slack.MsgOption) (string, error) {
	if e.Channel == "" {
		return "", fmt.Errorf("%w (%s %s)", ErrNoChannel, e.Kind, e.Type)
	}
	api, err := e.Client(ctx)
	if err != nil {
		return "", err
	}
	all := make([]slack.MsgOption, 0, len(opts)+1)
	all = append(all, slack.MsgOptionText(text, false))
	_, ts, err := api.PostMessageContext(ctx, e.Channel, append(all, opts...)...)
	return ts, err
}

// SayInThread is Say in the event's thread: the thread the message is in, else a new thread
// under the message itself (MessageTS). Without either it posts in the channel, as Say does.
func (e *Event) SayInThread(ctx context.Context, text string, opts ...slack.MsgOption) (string, error) {
	thread := e.ThreadTS
	if thread == "" {
		thread = e.fields().ThreadTS
	}
	if thread == "" {
		thread = e.MessageTS()
	}
	if thread != "" {
		opts = append([]slack.MsgOption{slack.MsgOptionTS(thread)}, opts...)
	}
	return e.Say(ctx, text, opts...)
}

// Action returns the first action of a block_actions interaction (Slack sends one per click).
func (e *Event) Action() (slack.BlockAction, bool) {
	if e.Kind != KindInteractive {
		return slack.BlockAction{}, false
	}
	cb, err := e.Interaction()
	if err != nil || len(cb.ActionCallback.BlockActions) == 0 || cb.ActionCallback.BlockActions[0] == nil {
		return slack.BlockAction{}, false
	}
	return *cb.ActionCallback.BlockActions[0], true
}

// ActionValue returns the value of a block action: a button's value, or the value of the option
// a select or radio chose (the first of several); for a block_suggestion, the typed text. ""
// when there is none.
func (e *Event) ActionValue() string {
	if e.Type == "block_suggestion" {
		cb, _ := e.Interaction()
		return cb.Value
	}
	a, ok := e.Action()
	switch {
	case !ok:
		return ""
	case a.Value != "":
		return a.Value
	case a.SelectedOption.Value != "":
		return a.SelectedOption.Value
	case len(a.SelectedOptions) > 0:
		return a.SelectedOptions[0].Value
	}
	return ""
}

// CallbackID returns the callback_id of an interaction: the view's for view_submission,
// view_closed and block_suggestion in a view, the shortcut's for shortcut and message_action;
// "" otherwise.
func (e *Event) CallbackID() string {
	if e.Kind != KindInteractive {
		return ""
	}
	cb, err := e.Interaction()
	if err != nil {
		return ""
	}
	if cb.CallbackID != "" {
		return cb.CallbackID
	}
	return cb.View.CallbackID
}

// ViewState returns a view's state.values (view_submission, view_closed, and block actions in a
// view): block_id → action_id → the element's value. Nil when there is none.
func (e *Event) ViewState() map[string]map[string]slack.BlockAction {
	if e.Kind != KindInteractive {
		return nil
	}
	cb, err := e.Interaction()
	if err != nil || cb.View.State == nil {
		return nil
	}
	return cb.View.State.Values
}

// StateValue returns one element of a view's state.values by block_id and action_id.
func (e *Event) StateValue(blockID, actionID string) (slack.BlockAction, bool) {
	a, ok := e.ViewState()[blockID][actionID]
	return a, ok
}
