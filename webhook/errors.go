package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/internal/redact"
	"github.com/switchboard-go/switchboard/messages"
)

// Code is the error string Slack answers a refused webhook or response_url post with, such as
// "channel_not_found". It matches with errors.Is through an *Error.
type Code string

// Error returns "slack: " followed by the code.
func (c Code) Error() string { return "slack: " + string(c) }

// Slack's webhook and response_url error codes. Their usual HTTP status is in parentheses.
const (
	ErrInvalidPayload                Code = "invalid_payload"                         // (400) the body is not understood
	ErrUserNotFound                  Code = "user_not_found"                          // (400)
	ErrNoText                        Code = "no_text"                                 // (400) no text, blocks or attachments
	ErrMissingTextOrAttachments      Code = "missing_text_or_fallback_or_attachments" // (400) newer no_text
	ErrTooManyAttachments            Code = "too_many_attachments"                    // (400) more than 100
	ErrActionProhibited              Code = "action_prohibited"                       // (403) an admin restriction
	ErrInvalidToken                  Code = "invalid_token"                           // (403) expired, invalid or missing
	ErrPostingToGeneralChannelDenied Code = "posting_to_general_channel_denied"       // (403)
	ErrTeamDisabled                  Code = "team_disabled"                           // (403)
	ErrChannelNotFound               Code = "channel_not_found"                       // (404)
	ErrNoService                     Code = "no_service"                              // (404) the webhook is disabled, removed or invalid
	ErrNoServiceID                   Code = "no_service_id"                           // (400)
	ErrNoTeam                        Code = "no_team"                                 // (400)
	ErrNoActiveHooks                 Code = "no_active_hooks"                         // (404) the webhook is disabled
	ErrExpiredURL                    Code = "expired_url"                             // (404) a response_url used up or expired
	ErrChannelIsArchived             Code = "channel_is_archived"                     // (410)
	ErrRateLimited                   Code = "rate_limited"                            // (429) also reported for "ratelimited"
	ErrRollupError                   Code = "rollup_error"                            // (500) Slack's own failure
)

var (
	// ErrStopped reports that the Sender stopped before the message could be sent. Stop's
	// *UnsentError and the results of the messages it lists match it with errors.Is.
	ErrStopped = messages.ErrStopped
	// ErrQueueFull reports that the Sender's queue for a URL already holds its maximum (see
	// WithQueueSize); the message was not queued.
	ErrQueueFull = errors.New("webhook: queue full")
	// ErrResponseURLUsedUp reports that a response_url was already posted to 5 times; the Client
	// refuses a sixth post before any network call.
	ErrResponseURLUsedUp = errors.New("webhook: response_url used 5 times")
	// ErrResponseURLExpired reports that a response_url was first used more than 30 minutes ago,
	// so Slack no longer accepts it; the Client refuses before any network call.
	ErrResponseURLExpired = errors.New("webhook: response_url older than 30 minutes")
)

// Error is a refusal from Slack: an HTTP status other than 200, with the code from its body.
type Error struct {
	Status     int           // HTTP status code
	Code       Code          // Slack's code from the body; "" when the body held none
	Body       string        // the body cut to 1 KiB, with any secret in it redacted
	RetryAfter time.Duration // from a 429's Retry-After header; zero otherwise
}

// Error returns "webhook: HTTP <status>: slack: <code>".
func (e *Error) Error() string {
	s := "webhook: HTTP " + strconv.Itoa(e.Status)
	if e.Code != "" {
		s += ": " + e.Code.Error()
	}
	if e.RetryAfter > 0 {
		s += " (retry after " + e.RetryAfter.String() + ")"
	}
	return s
}

// Unwrap returns the Code, so that errors.Is(err, ErrChannelNotFound) holds; nil without a code.
func (e *Error) Unwrap() error {
	if e.Code == "" {
		return nil
	}
	return e.Code
}

// RetryAfter returns the Retry-After carried by an *Error in err's chain, or zero.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// Unsent is a message the Sender stopped without delivering. URL is the secret webhook URL in
// clear: never log it (redact it first).
type Unsent struct {
	URL    string
	Body   []byte // the JSON body
	Header map[string][]string
	Err    error // why it was not sent; matches ErrStopped
}

// UnsentError is returned by Sender.Stop when messages were left undelivered: still queued when
// the drain ran out of time, or in flight and cancelled. It matches ErrStopped with errors.Is.
type UnsentError struct {
	Unsent []Unsent // per URL in queue order
}

// Error returns a summary naming each URL by its host only.
func (e *UnsentError) Error() string {
	counts := map[string]int{}
	var order []string
	for _, u := range e.Unsent {
		h := redact.URL(u.URL)
		if counts[h] == 0 {
			order = append(order, h)
		}
		counts[h]++
	}
	parts := make([]string, len(order))
	for i, h := range order {
		parts[i] = fmt.Sprintf("%d to %s", counts[h], h)
	}
	return fmt.Sprintf("webhook: sender stopped with %d messages unsent (%s)", len(e.Unsent), strings.Join(parts, ", "))
}

// Unwrap returns ErrStopped.
func (e *UnsentError) Unwrap() error { return ErrStopped }

var codeRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// parseError builds the *Error for a non-200 answer.
func parseError(status int, body string, retryAfter time.Duration) *Error {
	e := &Error{Status: status, Body: body, RetryAfter: retryAfter}
	if len(e.Body) > 1024 {
		e.Body = e.Body[:1024]
	}
	e.Body = redact.String(e.Body)
	trimmed := strings.TrimSpace(body)
	switch {
	case codeRE.MatchString(trimmed):
		e.Code = Code(trimmed)
	case strings.HasPrefix(trimmed, "{"):
		var j struct {
			Error string `json:"error"`
		}
		if json.Unmarshal([]byte(trimmed), &j) == nil && codeRE.MatchString(j.Error) {
			e.Code = Code(j.Error)
		}
	}
	if e.Code == "ratelimited" {
		e.Code = ErrRateLimited
	}
	if e.Code == "" && status == 429 {
		e.Code = ErrRateLimited
	}
	return e
}

// redactError returns err with its text redacted, keeping the chain for errors.Is and errors.As;
// a *url.Error's URL is rewritten to its host, so the *url.Error errors.As finds shows no secret.
func redactError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = &url.Error{Op: ue.Op, URL: redact.URL(ue.URL), Err: redact.Error(ue.Err)}
	}
	return redact.Error(err)
}
