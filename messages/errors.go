package messages

import (
	"errors"
	"fmt"
	"time"
)

// Code is Slack's error string, from {"ok":false,"error":code} or a disconnect reason.
type Code string

func (c Code) Error() string { return "slack: " + string(c) }

// Slack error codes the runtime acts on.
const (
	ErrNotAuthed           Code = "not_authed"
	ErrInvalidAuth         Code = "invalid_auth"
	ErrAccountInactive     Code = "account_inactive"
	ErrTokenRevoked        Code = "token_revoked"
	ErrTokenExpired        Code = "token_expired"
	ErrNotAllowedTokenType Code = "not_allowed_token_type"
	ErrTeamDisabled        Code = "team_disabled"
	ErrUserRemoved         Code = "user_removed_from_team"
	ErrMissingScope        Code = "missing_scope"
	ErrRateLimited         Code = "ratelimited"
	// ErrLinkDisabled is the Socket Mode disconnect reason sent when Socket Mode is turned off.
	ErrLinkDisabled Code = "link_disabled"
	// ErrTooManyWebsockets is the disconnect reason for an app's 11th socket.
	ErrTooManyWebsockets Code = "too_many_websockets"
)

// SlackError is a refusal from Slack and the call that received it.
type SlackError struct {
	Method     string        // "apps.connections.open", "rtm.connect", …
	Code       Code          // Slack's string, verbatim
	RetryAfter time.Duration // from a 429's Retry-After; zero otherwise
}

func (e *SlackError) Error() string { return e.Method + ": " + e.Code.Error() }

// Unwrap returns the Code, so errors.Is(err, ErrTokenRevoked) holds.
func (e *SlackError) Unwrap() error { return e.Code }

// Session-ending conditions that are not Slack error codes.
var (
	// ErrStale: no inbound traffic (frames, pings or pongs) for longer than the stale window.
	ErrStale = errors.New("switchboard: link stale, no traffic")
	// ErrGoodbye: the server said goodbye (RTM) or asked for a refresh (Socket Mode disconnect).
	ErrGoodbye = errors.New("switchboard: server closed the session cleanly")
	// ErrReplaced: a refresh replaced the session with a new one (make before break).
	ErrReplaced = errors.New("switchboard: session replaced by a newer one")
	// ErrHelloTimeout: the socket opened but the server sent no hello in time.
	ErrHelloTimeout = errors.New("switchboard: no hello from server")
	// ErrWriteStalled: the socket accepted no writes while the writer's queue filled up.
	ErrWriteStalled = errors.New("switchboard: socket writes stalled")
	// ErrNotFound: the Web API answered 404 to apps.connections.open or rtm.connect: the API URL
	// is wrong. Fatal: retrying cannot help.
	ErrNotFound = errors.New("switchboard: web api method not found")
	// ErrStopped: the runtime or the link was stopped before the operation completed.
	ErrStopped = errors.New("switchboard: stopped")
	// ErrResponseTooLarge: an ack payload over Slack's 20 KiB limit.
	ErrResponseTooLarge = errors.New("switchboard: response over 20 KiB, slack would drop it")
	// ErrAlreadyAcked: the envelope was acked already (its deadline passed, or it was answered).
	ErrAlreadyAcked = errors.New("switchboard: envelope already acked")
	// ErrNoResponse: the event does not take a response in its ack.
	ErrNoResponse = errors.New("switchboard: event accepts no response payload")
	// ErrNoClient: no Web API client for the event's team (no token known for it).
	ErrNoClient = errors.New("switchboard: no web api client")
	// ErrProxyAuth: an HTTP proxy refused its credentials, missing or wrong, to a socket's CONNECT
	// or to a Web API call: 407 Proxy Authentication Required, or 401 (tinyproxy 1.11 answers a
	// wrong password so). Fatal: retrying would only send the proxy the same wrong password again.
	// A *ProxyError with either status unwraps to it.
	ErrProxyAuth = errors.New("switchboard: proxy authentication required")
)

// ProxyError is an HTTP proxy's refusal of a CONNECT tunnel or of a request it was to forward.
type ProxyError struct {
	Proxy      string // the proxy as scheme://host, never with its credentials; "" when unknown
	StatusCode int    // the proxy's HTTP status, as 407
	Status     string // its status line, as "407 Proxy Authentication Required"
}

func (e *ProxyError) Error() string {
	s := "switchboard: proxy"
	if e.Proxy != "" {
		s += " " + e.Proxy
	}
	return s + " answered " + e.Status
}

// Unwrap returns ErrProxyAuth for a 407 or 401, so errors.Is(err, ErrProxyAuth) holds; nil
// otherwise.
func (e *ProxyError) Unwrap() error {
	if e.StatusCode == 407 || e.StatusCode == 401 {
		return ErrProxyAuth
	}
	return nil
}

// SocketError is a failed dial or read of a socket.
type SocketError struct {
	Op  string // "dial", "read", "write"
	Err error
}

func (e *SocketError) Error() string { return "switchboard: socket " + e.Op + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *SocketError) Unwrap() error { return e.Err }

// RetryAfter returns the Retry-After Slack sent with err, or zero.
func RetryAfter(err error) time.Duration {
	var se *SlackError
	if errors.As(err, &se) {
		return se.RetryAfter
	}
	return 0
}

// CodeOf returns the Slack code inside err, or "".
func CodeOf(err error) Code {
	var c Code
	if errors.As(err, &c) {
		return c
	}
	return ""
}

// Verdict is what the supervisor does with a session that ended with an error.
type Verdict int

// Verdicts, from Classify.
const (
	// Retry: reconnect after a backoff delay (never shorter than Retry-After).
	Retry Verdict = iota
	// RetryNow: reconnect at once; the server ended the session cleanly.
	RetryNow
	// Stop: the error will not go away by retrying; the link stops and reports Fatal.
	Stop
)

func (v Verdict) String() string {
	switch v {
	case Retry:
		return "retry"
	case RetryNow:
		return "retry-now"
	case Stop:
		return "stop"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// Classify says whether a session that ended with err is retried later, retried now, or stopped.
func Classify(err error) Verdict {
	switch CodeOf(err) {
	case ErrNotAuthed, ErrInvalidAuth, ErrAccountInactive, ErrTokenRevoked, ErrTokenExpired,
		ErrNotAllowedTokenType, ErrTeamDisabled, ErrUserRemoved, ErrMissingScope, ErrLinkDisabled:
		return Stop
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrProxyAuth) {
		return Stop
	}
	if errors.Is(err, ErrGoodbye) || errors.Is(err, ErrReplaced) {
		return RetryNow
	}
	return Retry
}

// Advice returns a sentence a person can act on for a fatal err, or "".
func Advice(err error) string {
	if errors.Is(err, ErrNotFound) {
		return "the Web API has no such method at this address: check the API URL (WithAPIURL, Workspace.APIURL); it ends in /api/, as in https://slack.com/api/"
	}
	if errors.Is(err, ErrProxyAuth) {
		return "the proxy refused its credentials: check the proxy credentials, the user and password in the proxy URL " +
			"(WithProxy, the Proxy of WithHTTPClient's transport, or HTTPS_PROXY/HTTP_PROXY), percent-encoded"
	}
	switch CodeOf(err) {
	case ErrNotAuthed:
		return "no token was sent: configure the token for this link"
	case ErrInvalidAuth:
		return "the token is not valid: check it was copied whole and belongs to this Slack workspace or app"
	case ErrAccountInactive:
		return "the token belongs to a deleted user or workspace: reinstall the app"
	case ErrTokenRevoked:
		return "the token was revoked or the app uninstalled: reinstall the app and use the new token"
	case ErrTokenExpired:
		return "the rotating token expired: refresh it with oauth.v2.access before it expires (oauth.Refresher does, then call InstallationsChanged)"
	case ErrNotAllowedTokenType:
		return "wrong kind of token: Socket Mode needs an app-level token (xapp-) with connections:write; " +
			"RTM needs a classic app's bot token, and Slack retired classic apps on 2026-03-31, so use Socket Mode"
	case ErrTeamDisabled:
		return "the workspace was disabled"
	case ErrUserRemoved:
		return "the bot user was removed from the workspace"
	case ErrMissingScope:
		return "the token lacks a scope this call needs: add it in the app's settings and reinstall"
	case ErrLinkDisabled:
		return "Socket Mode was turned off for this app: turn it on in the app's settings (Socket Mode)"
	}
	return ""
}
