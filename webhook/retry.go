package webhook

import (
	"math/rand/v2"
	"slices"
	"time"
)

// RetryHandler decides whether a failed attempt is tried again.
type RetryHandler interface {
	// Retry is asked after attempt number attempt (1 for the first) failed with err; resp is the
	// answer, or nil when no answer came (a connection error). It returns the delay before the
	// next attempt and true to retry.
	Retry(attempt int, resp *Response, err error) (delay time.Duration, retry bool)
}

// DefaultRetryHandlers returns fresh default handlers: ConnectionRetry{}, RateLimitRetry{} and
// ServerErrorRetry{}, each with its documented defaults.
func DefaultRetryHandlers() []RetryHandler {
	return []RetryHandler{ConnectionRetry{}, RateLimitRetry{}, ServerErrorRetry{}}
}

// Backoff is capped exponential backoff with jitter: before retry n (1 for the first) it waits a
// random duration in [d/2, d], where d = min(Cap, Base·2^(n-1)).
type Backoff struct {
	Base time.Duration // the first delay's upper bound
	Cap  time.Duration // no delay exceeds it

	rand func() float64 // in [0, 1); nil means math/rand/v2
}

// Delay returns the delay before retry n (1 for the first).
func (b Backoff) Delay(n int) time.Duration {
	d := b.Base
	for i := 1; i < n && d < b.Cap; i++ {
		d *= 2
	}
	d = min(d, b.Cap)
	r := b.rand
	if r == nil {
		r = rand.Float64
	}
	return d/2 + time.Duration(r()*float64(d/2))
}

// ConnectionRetry retries attempts that got no HTTP answer: refused or reset connections, DNS
// failures, timeouts. Zero fields take the defaults given.
type ConnectionRetry struct {
	MaxAttempts int     // attempts in all, first included; default 3
	Backoff     Backoff // default Base 500ms, Cap 8s
}

// Retry implements RetryHandler.
func (h ConnectionRetry) Retry(attempt int, resp *Response, err error) (time.Duration, bool) {
	if resp != nil || err == nil || attempt >= orDefault(h.MaxAttempts, 3) {
		return 0, false
	}
	return h.backoff().Delay(attempt), true
}

func (h ConnectionRetry) backoff() Backoff {
	b := h.Backoff
	b.Base = orDefault(b.Base, 500*time.Millisecond)
	b.Cap = orDefault(b.Cap, 8*time.Second)
	return b
}

// RateLimitRetry retries a 429 after its Retry-After. Zero fields take the defaults given.
type RateLimitRetry struct {
	MaxAttempts int           // attempts in all, first included; default 5
	Default     time.Duration // the wait when the 429 has no Retry-After; default 1s
	Max         time.Duration // a longer Retry-After is not waited for: give up; default 1 min
}

// Retry implements RetryHandler.
func (h RateLimitRetry) Retry(attempt int, resp *Response, err error) (time.Duration, bool) {
	if resp == nil || resp.Status != 429 || attempt >= orDefault(h.MaxAttempts, 5) {
		return 0, false
	}
	d := RetryAfter(err)
	if d <= 0 {
		d = orDefault(h.Default, time.Second)
	}
	if d > orDefault(h.Max, time.Minute) {
		return 0, false
	}
	return d, true
}

// ServerErrorRetry retries Slack's transient server errors with backoff. Zero fields take the
// defaults given.
type ServerErrorRetry struct {
	MaxAttempts int     // attempts in all, first included; default 3
	Statuses    []int   // default 500, 502, 503, 504
	Backoff     Backoff // default Base 1s, Cap 16s
}

// Retry implements RetryHandler.
func (h ServerErrorRetry) Retry(attempt int, resp *Response, err error) (time.Duration, bool) {
	statuses := h.Statuses
	if statuses == nil {
		statuses = []int{500, 502, 503, 504}
	}
	if resp == nil || !slices.Contains(statuses, resp.Status) || attempt >= orDefault(h.MaxAttempts, 3) {
		return 0, false
	}
	b := h.Backoff
	b.Base = orDefault(b.Base, time.Second)
	b.Cap = orDefault(b.Cap, 16*time.Second)
	return b.Delay(attempt), true
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
