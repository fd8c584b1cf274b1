package switchboard

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/switchboard-go/switchboard/internal/engine"
)

// Routes by what is inside an event: each registration below is a subscription like OnEvent's,
// with its own actor, queue and options, whose predicate the dispatcher checks before queueing —
// an event it does not match never waits in that subscription's queue nor holds the readers back.
// A pattern is a string or a *regexp.Regexp; any other type (or a nil regexp) fails the
// registration. An ID pattern's string matches the whole ID ("" matches every ID); a message
// pattern's string matches anywhere in the text.

// matcher matches an ID or a text.
type matcher func(string) bool

// patternOf turns a string or a *regexp.Regexp into a matcher; whole says whether a string must
// equal the value (IDs) or be within it (text).
func patternOf(what string, p any, whole bool) (matcher, error) {
	switch p := p.(type) {
	case string:
		switch {
		case p == "":
			return func(string) bool { return true }, nil
		case whole:
			return func(s string) bool { return s == p }, nil
		default:
			return func(s string) bool { return strings.Contains(s, p) }, nil
		}
	case *regexp.Regexp:
		if p == nil {
			return nil, fmt.Errorf("switchboard: nil regexp for %s", what)
		}
		return p.MatchString, nil
	}
	return nil, fmt.Errorf("switchboard: %s pattern is a %T, want a string or a *regexp.Regexp", what, p)
}

// BlockID narrows OnAction and OnOptions to the actions of blocks whose block_id matches pattern
// (a string, whole, or a *regexp.Regexp); other registrations refuse it.
func BlockID(pattern any) SubscribeOption {
	return func(l *listener) error {
		m, err := patternOf("block_id", pattern, true)
		if err != nil {
			return err
		}
		l.blockID = m
		return nil
	}
}

// Subtype narrows a subscription to message events of that subtype ("bot_message",
// "message_changed", "file_share", …); "" means plain messages only (no subtype).
func Subtype(subtype string) SubscribeOption {
	return func(l *listener) error {
		l.subtype = &subtype
		return nil
	}
}

// OnMessage runs h for message events — Events API and RTM — whose text matches pattern: a
// string found anywhere in the text ("" matches every message) or a *regexp.Regexp, as Bolt's
// app.message. Edits and other subtypes whose text is not at the top (message_changed) do not
// match a non-empty pattern.
func (rt *Runtime) OnMessage(pattern any, h Handler, opts ...SubscribeOption) error {
	m, err := patternOf("message", pattern, false)
	if err != nil {
		return err
	}
	f := engine.Filter{Kinds: []Kind{KindEventsAPI, KindRTM}, Types: []string{"message"},
		Where: func(ev *Event) bool { return m(ev.Text()) }}
	return rt.handle(f, h, opts, "")
}

// OnAction runs h for block_actions whose action_id matches actionID (and, with BlockID, whose
// block_id matches too), as slack-go's HandleInteractionBlockAction and Bolt's app.action. An
// interaction carries one action per click; any of them matching is enough.
func (rt *Runtime) OnAction(actionID any, h Handler, opts ...SubscribeOption) error {
	m, err := patternOf("action_id", actionID, true)
	if err != nil {
		return err
	}
	l := &listener{handler: h, route: "OnAction"}
	l.spec.Filter = engine.Filter{Kinds: []Kind{KindInteractive}, Types: []string{"block_actions"},
		Where: func(ev *Event) bool {
			cb, err := ev.Interaction()
			if err != nil {
				return false
			}
			for _, a := range cb.ActionCallback.BlockActions {
				if a != nil && m(a.ActionID) && (l.blockID == nil || l.blockID(a.BlockID)) {
					return true
				}
			}
			return false
		}}
	return rt.register(l, opts)
}

// OnOptions runs h for block_suggestion (an external select asking for its options) whose
// action_id matches actionID (and, with BlockID, whose block_id matches), as Bolt's app.options.
// Answer with ev.Respond(map[string]any{"options": …}) before the response deadline.
func (rt *Runtime) OnOptions(actionID any, h Handler, opts ...SubscribeOption) error {
	m, err := patternOf("action_id", actionID, true)
	if err != nil {
		return err
	}
	l := &listener{handler: h, route: "OnOptions"}
	l.spec.Filter = engine.Filter{Kinds: []Kind{KindInteractive}, Types: []string{"block_suggestion"},
		Where: func(ev *Event) bool {
			cb, err := ev.Interaction()
			return err == nil && m(cb.ActionID) && (l.blockID == nil || l.blockID(cb.BlockID))
		}}
	return rt.register(l, opts)
}

// OnViewSubmission runs h for view_submission of views whose callback_id matches callbackID, as
// slack-go's HandleViewSubmission and Bolt's app.view. Its ack may carry a response_action
// (ev.Respond: "errors", "update", "push", "clear"); an empty ack closes the view.
func (rt *Runtime) OnViewSubmission(callbackID any, h Handler, opts ...SubscribeOption) error {
	return rt.onCallback("view_submission", callbackID, h, opts, "view_submission")
}

// OnViewClosed runs h for view_closed of views whose callback_id matches callbackID (sent only
// for views opened with notify_on_close).
func (rt *Runtime) OnViewClosed(callbackID any, h Handler, opts ...SubscribeOption) error {
	return rt.onCallback("view_closed", callbackID, h, opts, "view_closed")
}

// OnShortcut runs h for global shortcuts (shortcut) and message shortcuts (message_action)
// whose callback_id matches callbackID, as slack-go's HandleShortcut and Bolt's app.shortcut.
// A shortcut's trigger_id opens a modal within 3 s.
func (rt *Runtime) OnShortcut(callbackID any, h Handler, opts ...SubscribeOption) error {
	return rt.onCallback("shortcut", callbackID, h, opts, "shortcut", "message_action")
}

func (rt *Runtime) onCallback(what string, callbackID any, h Handler, opts []SubscribeOption, types ...string) error {
	m, err := patternOf(what+" callback_id", callbackID, true)
	if err != nil {
		return err
	}
	f := engine.Filter{Kinds: []Kind{KindInteractive}, Types: types,
		Where: func(ev *Event) bool { return m(ev.CallbackID()) }}
	return rt.handle(f, h, opts, "")
}

// register is handle for a listener built by its route.
func (rt *Runtime) register(l *listener, opts []SubscribeOption) error {
	if l.handler == nil {
		return errors.New("switchboard: nil handler")
	}
	return rt.subscribe(l, opts)
}
