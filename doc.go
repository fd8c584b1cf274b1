// Package switchboard keeps Slack bots connected to many workspaces at once: Socket Mode apps and
// RTM workspaces, each link supervised on its own, their events deduped and handed to your
// handlers, each subscription on its own actor with a bounded queue.
//
// A program makes a Runtime with New and its Options, registers what it handles, adds its links
// and runs until told to stop:
//
//   - OnEvent("message", h), OnCommand("/deploy", h), OnInteraction("block_actions", h) and
//     Handle(filter, h) run a Handler; Subscribe(filter, props) feeds your own protoactor-go
//     actors (see package actors); OnLifecycle(f) gets the links' lifecycle events. Each takes
//     SubscribeOptions (Named, Queue, PerTeam, PerChannel, PerThread, MaxKeys) and fails at once
//     on a bad one; Unsubscribe(ctx, name) ends a subscription.
//   - OnMessage(text or regexp, h), OnAction(actionID, h) (with BlockID), OnViewSubmission,
//     OnViewClosed and OnShortcut (by callback_id), OnOptions(actionID, h) route by what is inside
//     an event, checked before queueing. Use(mw…) and WithMiddleware(mw…) wrap handlers in
//     Middleware; the bot's own messages are dropped unless IncludeSelf. OnError(f), for the
//     runtime or one subscription, gets handlers' errors and recovered panics (*PanicError).
//   - AddApp(ctx, App{Token: "xapp-…", Installations: …}) connects a Socket Mode app (App.ID, a
//     label, defaults to the app ID inside the token); AddWorkspace(ctx, Workspace{…}) an RTM
//     workspace. Both return before the sockets are up.
//   - Run(ctx, stopTimeout) blocks until ctx ends (SIGTERM, with signal.NotifyContext), then
//     calls Stop, which drains acks and handlers and closes every socket.
//
// A Handler is
//
//	func(ctx context.Context, ev *switchboard.Event) error
//
// Its ctx ends at Stop (or HandlerTimeout) and carries the event's log fields (LogFrom). Its
// error goes to OnError, else is logged with the event's IDs, and is counted in
// Stats.HandlerErrors; the event is not retried. An Event carries where it came from and how it routes (Link, Kind, Type, Team,
// Channel, User, ThreadTS, EventID, EnvelopeID, RetryAttempt, Received), Raw as Slack sent it, and
// these methods:
//
//	ev.EventsAPI() (slackevents.EventsAPIEvent, error)  // decode an Events API payload
//	ev.SlashCommand() (slack.SlashCommand, error)       // decode a slash command
//	ev.Interaction() (slack.InteractionCallback, error) // decode an interaction
//	ev.Respond(payload any) error                       // answer in the ack, within 3 s
//	ev.AcceptsResponse() bool                           // whether Respond can
//	ev.Client(ctx) (*slack.Client, error)               // the team's Web API client
//	ev.ResponseURL() string                             // the response_url, or ""
//	ev.Say(ctx, text, opts...) (ts string, err error)   // post in the event's channel (SayInThread: in its thread)
//	ev.Text(), ev.ActionValue(), ev.CallbackID()        // a message's text, an action's value, a view's callback_id
//	ev.StateValue(blockID, actionID)                    // one input of a view's state.values
//
// rt.Reply(ctx, ev, msg) answers a command in its ack while it can, else by its response_url.
//
// # Guarantees
//
// Events API redeliveries are dropped by event ID (per app, across its connections). Events reach
// each subscription in the order they were read. A handler's panic is recovered; a slow one
// never delays acks or other handlers. Fatal Slack errors (invalid_auth, token_revoked,
// link_disabled, …) stop the link and publish a Fatal event with advice; everything else
// reconnects with capped, jittered exponential backoff that honours Retry-After.
//
// # Examples
//
// The package example is a whole bot, compiled and run by go test against the in-process Slack
// stand-in (package fakeslack), as is each method's. go doc prints no examples: read them on
// pkg.go.dev or with go doc -http, in example_test.go, or run them with
//
//	go test -run Example -v github.com/switchboard-go/switchboard
//
// examples/bot is the same bot as a program, the one the README shows.
package switchboard
