package switchboard

import (
	"context"
	"errors"

	"github.com/switchboard-go/switchboard/messages"
	"github.com/switchboard-go/switchboard/webhook"
)

// ErrNoChannel is returned by ev.Say for an event that names no channel (the same error as
// messages.ErrNoChannel).
var ErrNoChannel = messages.ErrNoChannel

// Acks, and who sends them. Every Socket Mode envelope is acked once:
//
//   - Events API events, and interactions that take no payload in their ack (block_actions,
//     view_closed, shortcut, message_action), are acked by the runtime itself once the event
//     sits in every queue that will deliver it (before any handler runs), or, with
//     WithAckAfterHandlers, once every matching handler returned. A handler cannot change that
//     ack; it answers through the Web API (ev.Say, ev.Client) or the response_url (rt.Reply,
//     rt.Responder).
//   - Slash commands, view_submission and block_suggestion take a payload in their ack: the first
//     handler to call ev.Respond (or rt.Reply, for a command) sends it. Without one by the
//     response deadline (WithResponseDeadline, 2.5 s) the runtime acks empty, which for a view
//     submission closes the view; once every matching handler returned without answering, the
//     ack goes empty at once.
//   - RTM events have no ack.

// Reply answers a slash command or an interaction with a message: in the command's ack while it
// has not gone (Respond), else through the event's response_url with the runtime's webhook
// client, which holds Slack's budget of 5 uses per response_url (a 6th fails with
// webhook.ErrResponseURLUsedUp before any call). msg.ResponseType says in_channel or ephemeral
// (the default); ReplaceOriginal and DeleteOriginal change the message a block action came from.
// It fails with ErrNoResponseURL when the event has neither.
func (rt *Runtime) Reply(ctx context.Context, ev *Event, msg webhook.Message) error {
	if ev.Kind == KindSlashCommand && ev.AcceptsResponse() {
		err := ev.Respond(msg)
		if !errors.Is(err, messages.ErrAlreadyAcked) {
			return err
		}
	}
	r, err := rt.Responder(ev)
	if err != nil {
		return err
	}
	_, err = r.Reply(ctx, msg)
	return err
}
