// Package switchboard keeps Slack bots connected to many workspaces at once. A Runtime runs a
// supervision tree of actors: one connection per Socket Mode app connection, each with a reader,
// writer and pinger; a supervisor whose strategy is the reconnection policy; a dispatcher that
// dedupes redeliveries and fans events out to your handlers, each on its own actor with a bounded
// queue.
//
//	rt, err := switchboard.New(switchboard.WithLogger(log))
//	err = rt.OnEvent("message", func(ctx context.Context, ev *switchboard.Event) error { … })
//	err = rt.AddApp(ctx, switchboard.App{Token: appToken, Installations: tokens})
//	err = rt.Run(ctx, 10*time.Second) // until ctx ends (SIGTERM), then a graceful stop
//
// # Guarantees
//
// Events API redeliveries are dropped by event ID (per app, across its connections). Events reach
// each subscription in the order they were read. A panicking handler restarts alone; a slow one
// never delays acks or other handlers. Fatal Slack errors (invalid_auth, token_revoked,
// link_disabled, …) stop the link and publish a Fatal event with advice; everything else
// reconnects with capped, jittered exponential backoff that honours Retry-After.
//
// See the examples for a complete bot.
package switchboard
