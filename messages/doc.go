// Package messages defines every value that travels between Switchboard's actors and every
// lifecycle event users can subscribe to, and the typed errors that end a Slack session.
//
// Failures are values: a connection ends its session with panic(err), where err is (or wraps) a
// *SlackError, a Code, or one of the Err sentinels, and the supervisor classifies it with Classify.
// errors.Is works through wrapping:
//
//	errors.Is(err, messages.ErrTokenRevoked)
//
// # Lifecycle events
//
// Connecting, Connected, Disconnected, Reconnecting and Fatal each carry the Link they are about and
// print themselves for people with String.
package messages
