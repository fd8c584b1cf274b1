// Package messages is the vocabulary a Switchboard program receives: the Event its handlers and
// subscriber actors get, the lifecycle events of its links, and the typed errors that end a Slack
// session. It imports nothing of Switchboard's, so a package of subscriber actors can depend on it
// alone; the actors' own protocol is internal to the runtime.
//
// Failures are values: a session ends with an error that is (or wraps) a *SlackError, a Code, or
// one of the Err sentinels, and Classify says whether the link retries later, retries now, or
// stops. errors.Is works through wrapping:
//
//	errors.Is(err, messages.ErrTokenRevoked)
//
// # Lifecycle events
//
// Connecting, Connected, Disconnected, Reconnecting and Fatal each carry the Link they are about and
// print themselves for people with String.
//
// # JSON
//
// Link's JSON names are snake_case ("transport", "app", "team", "name"), like everything ops'
// /status serves.
package messages
