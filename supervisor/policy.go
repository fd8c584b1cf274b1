package supervisor

import (
	"math/rand/v2"
	"time"

	"github.com/switchboard-go/switchboard/messages"
)

// Policy is a reconnection backoff policy. Zero fields take the defaults named on each field.
type Policy struct {
	// Initial is the ceiling of the first retry's delay. Default 1s.
	Initial time.Duration
	// Max caps every delay (Retry-After excepted). Default 2m.
	Max time.Duration
	// ResetAfter is how long a session must stay connected for the next failure to count as the
	// first again. Default 1m.
	ResetAfter time.Duration

	jitter func(d time.Duration) time.Duration // uniform in [0, d]; replaced in tests
}

func (p Policy) withDefaults() Policy {
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

// Delay returns how long to wait before retry number attempt (1 for the first retry): a uniform
// random duration in [0, min(Max, Initial·2^(attempt-1))] (full jitter), raised to retryAfter
// when that is longer.
func (p Policy) Delay(attempt int, retryAfter time.Duration) time.Duration {
	p = p.withDefaults()
	ceiling := p.Max
	if attempt < 1 {
		attempt = 1
	}
	if attempt <= 62 {
		if c := p.Initial << (attempt - 1); c > 0 && c < p.Max {
			ceiling = c
		}
	}
	return max(p.jitter(ceiling), retryAfter)
}

// Decision is what to do with a link whose session just ended.
type Decision struct {
	Verdict messages.Verdict
	Attempt int           // the retry number this failure makes (1 after a healthy session)
	Delay   time.Duration // before the next session (Retry only)
	Advice  string        // for Stop: what a person can do
}

// Decide classifies err and, for a retry, computes the delay. failures is the number of failures
// since the last healthy session, and connectedFor how long the session that ended had been up (0
// if it never connected); a session up for ResetAfter or more resets the count.
func (p Policy) Decide(err error, failures int, connectedFor time.Duration) Decision {
	p = p.withDefaults()
	v := messages.Classify(err)
	if connectedFor >= p.ResetAfter {
		failures = 0
	}
	d := Decision{Verdict: v, Attempt: failures + 1}
	switch v {
	case messages.Stop:
		d.Advice = messages.Advice(err)
	case messages.RetryNow:
		d.Delay = messages.RetryAfter(err)
	default:
		d.Delay = p.Delay(d.Attempt, messages.RetryAfter(err))
	}
	return d
}
