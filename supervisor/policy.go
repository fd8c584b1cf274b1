package supervisor

import (
	"math/rand/v2"
	"time"

	"github.com/switchboard-go/switchboard/messages"
)

// Policy is a reconnection backoff policy. Zero fields take the defaults named on each field.
type Policy struct {
	// Initial is the ceiling of the first backed-off retry's delay. Default 1s.
	Initial time.Duration
	// Max caps every delay (Retry-After excepted). Default 2m.
	Max time.Duration
	// ResetAfter is how long a session must stay connected for the next failure to count as the
	// first again. Default 1m.
	ResetAfter time.Duration
	// CleanBurst is how many clean reconnects (goodbye, refresh_requested, warning, an unknown
	// disconnect reason) a link makes at once within CleanWindow; each further one backs off.
	// Default 2.
	CleanBurst int
	// CleanWindow is the sliding window over which clean reconnects are counted. Default 1m.
	CleanWindow time.Duration
	// MaxRetryAfter caps the Retry-After Slack sent. Default 15m (DefaultMaxRetryAfter).
	MaxRetryAfter time.Duration

	jitter func(d time.Duration) time.Duration // uniform in [0, d]; replaced in tests
}

// DefaultMaxRetryAfter is the default cap on a Retry-After. Slack's rate-limit windows are one
// minute, so the Retry-After it sends is normally under a minute; 15 minutes is fifteen whole
// windows. A longer value comes from a broken proxy or header, and honouring it would park the link
// (and hold /healthz unready) for as long. A capped retry that is refused again simply waits
// again, so a link that really is limited still calls at most four times an hour.
const DefaultMaxRetryAfter = 15 * time.Minute

// WithDefaults returns p with every zero field set to its default.
func (p Policy) WithDefaults() Policy {
	if p.Initial <= 0 {
		p.Initial = time.Second
	}
	if p.Max <= 0 {
		p.Max = 2 * time.Minute
	}
	if p.Max < p.Initial {
		p.Max = p.Initial
	}
	if p.ResetAfter <= 0 {
		p.ResetAfter = time.Minute
	}
	if p.CleanBurst <= 0 {
		p.CleanBurst = 2
	}
	if p.CleanWindow <= 0 {
		p.CleanWindow = time.Minute
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if p.jitter == nil {
		p.jitter = func(d time.Duration) time.Duration {
			if d <= 0 {
				return 0
			}
			return time.Duration(rand.Int64N(int64(d) + 1))
		}
	}
	return p
}

// ceiling is min(Max, Initial·2^(n-1)) for n ≥ 1.
func (p Policy) ceiling(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	if n <= 62 {
		if c := p.Initial << (n - 1); c > 0 && c < p.Max {
			return c
		}
	}
	return p.Max
}

// Delay returns how long to wait before backed-off retry number attempt (1 for the first): a
// uniform random duration in [0, min(Max, Initial·2^(attempt-1))] (full jitter), raised to
// retryAfter when that is longer, with retryAfter capped at MaxRetryAfter.
func (p Policy) Delay(attempt int, retryAfter time.Duration) time.Duration {
	p = p.WithDefaults()
	return max(p.jitter(p.ceiling(attempt)), min(retryAfter, p.MaxRetryAfter))
}

// CleanDelay returns how long a clean reconnect waits when recent clean reconnects of the link
// came before it within CleanWindow: nothing for the first CleanBurst, then a delay in
// [c/2, c] with c = min(Max, Initial·2^(k-1)) for the k-th one beyond the burst. The floor of
// half the ceiling keeps a server that ends every session cleanly from being called more than
// about twice an Initial.
func (p Policy) CleanDelay(recent int) time.Duration {
	p = p.WithDefaults()
	k := recent + 1 - p.CleanBurst
	if k <= 0 {
		return 0
	}
	c := p.ceiling(k)
	return c/2 + p.jitter(c-c/2)
}

// History is what the supervisor knows of a link when one of its sessions ends.
type History struct {
	// Failures is the number of failures since the last healthy session.
	Failures int
	// ConnectedFor is how long the session that ended had been connected (0 if it never said
	// hello); ResetAfter or more resets Failures.
	ConnectedFor time.Duration
	// Clean is the number of clean reconnects of the link within CleanWindow before this end.
	Clean int
}

// Decision is what to do with a link whose session just ended.
type Decision struct {
	Verdict messages.Verdict
	Attempt int           // the retry number this failure makes (1 after a healthy session)
	Delay   time.Duration // before the next session (Retry and RetryNow)
	Advice  string        // for Stop: what a person can do
	// CappedRetryAfter is the Retry-After Slack sent when it was over MaxRetryAfter (and Delay
	// used the cap instead); zero otherwise.
	CappedRetryAfter time.Duration
}

// Decide classifies err and, for a retry, computes the delay:
//   - a clean end (RetryNow) reconnects after CleanDelay(h.Clean): at once unless clean ends
//     repeat within CleanWindow;
//   - the first failure of a session that had connected reconnects at once: a lone link that
//     drops is back within one round trip, and the runtime's connect budget paces a fleet that
//     drops together;
//   - any other failure waits Delay(attempt), except too_many_websockets, which always backs off.
//
// No delay is shorter than Slack's Retry-After, capped at MaxRetryAfter.
func (p Policy) Decide(err error, h History) Decision {
	p = p.WithDefaults()
	v := messages.Classify(err)
	failures := h.Failures
	if h.ConnectedFor >= p.ResetAfter {
		failures = 0
	}
	d := Decision{Verdict: v, Attempt: failures + 1}
	retryAfter := messages.RetryAfter(err)
	if retryAfter > p.MaxRetryAfter {
		d.CappedRetryAfter, retryAfter = retryAfter, p.MaxRetryAfter
	}
	switch {
	case v == messages.Stop:
		d.Advice = messages.Advice(err)
	case v == messages.RetryNow:
		d.Delay = max(p.CleanDelay(h.Clean), retryAfter)
	case d.Attempt == 1 && h.ConnectedFor > 0 && messages.CodeOf(err) != messages.ErrTooManyWebsockets:
		d.Delay = retryAfter
	default:
		d.Delay = p.Delay(d.Attempt, retryAfter)
	}
	return d
}
