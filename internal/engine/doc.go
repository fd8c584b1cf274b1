// Package engine holds Switchboard's actors and exports their Props constructors: the supervisor
// of links, one connection per link with its reader, writer and pinger, the dispatcher, and the
// subscribers it owns.
//
// # Lifecycle
//
// A connection's life is one session: on Started it opens and dials a socket (in a goroutine it
// owns), spawns reader, writer and pinger, and reports Connected on the server's hello. One
// connection actor (connection.go) drives both transports; what differs between Socket Mode and
// RTM is the transport its spec implements (socketmode.go, rtm.go): how the URL is opened, how
// frames decode into typed kinds, which writer and which pinger probe run, and what the
// transport's own frames (disconnect, goodbye, error, replies, pongs) do. Anything
// that ends the session is a panic(err) with a typed error from package messages; the supervisor
// decides (package supervisor) whether the link restarts later, at once, or stops. Its children
// escalate every failure, so any child failure ends the session (all for one).
//
// # Goroutines
//
// Every goroutine an actor starts is counted in Env.WG and ends when its session or the runtime
// context ends; the runtime waits for them after stopping the actors. No goroutine touches actor
// state: they send session-tagged messages in.
//
// # Time
//
// Timers, the pingers' liveness checks, the link state, the supervisor's clean-reconnect window,
// the RTM writer's bucket and the keyed subscriptions' idle checks read Env.Clock (the wall clock
// when nil), so tests can move time instead of sleeping. Socket deadlines stay on the wall clock.
package engine
