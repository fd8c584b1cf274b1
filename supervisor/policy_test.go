package supervisor

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/messages"
)

func TestDelay(t *testing.T) {
	p := Policy{Initial: time.Second, Max: time.Minute}
	p.jitter = func(d time.Duration) time.Duration { return d } // top of the range
	for _, tt := range []struct {
		name             string
		attempt          int
		retryAfter, want time.Duration
	}{
		{"first", 1, 0, time.Second},
		{"doubles", 3, 0, 4 * time.Second},
		{"capped", 30, 0, time.Minute},
		{"huge attempt stays capped", 1000, 0, time.Minute},
		{"zero attempt is the first", 0, 0, time.Second},
		{"retry-after is a floor", 1, 20 * time.Second, 20 * time.Second},
		{"retry-after beyond the cap wins", 30, 5 * time.Minute, 5 * time.Minute},
		{"retry-after is capped", 1, 31 * 365 * 24 * time.Hour, DefaultMaxRetryAfter},
		{"retry-after shorter than backoff", 4, time.Second, 8 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Delay(tt.attempt, tt.retryAfter); got != tt.want {
				t.Errorf("Delay(%d, %v) = %v, want %v", tt.attempt, tt.retryAfter, got, tt.want)
			}
		})
	}
}

func TestDelayJitterStaysInRange(t *testing.T) {
	p := Policy{Initial: 100 * time.Millisecond, Max: time.Second}
	seen := map[time.Duration]bool{}
	for i := 0; i < 500; i++ {
		d := p.Delay(3, 0)
		if d < 0 || d > 400*time.Millisecond {
			t.Fatalf("Delay(3) = %v, outside [0, 400ms]", d)
		}
		seen[d] = true
	}
	if len(seen) < 100 {
		t.Errorf("only %d distinct delays in 500 draws: jitter is not spreading", len(seen))
	}
}

func TestDecide(t *testing.T) {
	p := Policy{Initial: time.Second, Max: time.Minute, ResetAfter: time.Minute}
	p.jitter = func(d time.Duration) time.Duration { return d }
	revoked := &messages.SlackError{Method: "apps.connections.open", Code: messages.ErrTokenRevoked}
	limited := &messages.SlackError{Method: "rtm.connect", Code: messages.ErrRateLimited, RetryAfter: 30 * time.Second}
	parked := &messages.SlackError{Method: "rtm.connect", Code: messages.ErrRateLimited, RetryAfter: 999999999 * time.Second}
	drop := &messages.SocketError{Op: "read", Err: errors.New("EOF")}
	for _, tt := range []struct {
		name string
		err  error
		h    History
		want Decision
	}{
		{"revoked stops", fmt.Errorf("open: %w", revoked), History{}, Decision{Verdict: messages.Stop, Attempt: 1, Advice: messages.Advice(revoked)}},
		{"link disabled stops", messages.ErrLinkDisabled, History{Failures: 2}, Decision{Verdict: messages.Stop, Attempt: 3, Advice: messages.Advice(messages.ErrLinkDisabled)}},
		{"goodbye reconnects now", messages.ErrGoodbye, History{ConnectedFor: time.Hour}, Decision{Verdict: messages.RetryNow, Attempt: 1}},
		{"second clean end in the window reconnects now", messages.ErrGoodbye, History{Clean: 1}, Decision{Verdict: messages.RetryNow, Attempt: 1}},
		{"third clean end backs off", messages.ErrGoodbye, History{Clean: 2}, Decision{Verdict: messages.RetryNow, Attempt: 1, Delay: time.Second}},
		{"clean ends keep backing off", messages.ErrGoodbye, History{Clean: 5}, Decision{Verdict: messages.RetryNow, Attempt: 1, Delay: 8 * time.Second}},
		{"drop of a connected session reconnects now", drop, History{ConnectedFor: time.Second}, Decision{Verdict: messages.Retry, Attempt: 1}},
		{"first failure that never connected backs off", drop, History{}, Decision{Verdict: messages.Retry, Attempt: 1, Delay: time.Second}},
		{"drop backs off", drop, History{Failures: 2, ConnectedFor: time.Second}, Decision{Verdict: messages.Retry, Attempt: 3, Delay: 4 * time.Second}},
		{"healthy session resets", messages.ErrStale, History{Failures: 5, ConnectedFor: 2 * time.Minute}, Decision{Verdict: messages.Retry, Attempt: 1}},
		{"429 waits retry-after", limited, History{}, Decision{Verdict: messages.Retry, Attempt: 1, Delay: 30 * time.Second}},
		{"retry-after is capped", parked, History{}, Decision{Verdict: messages.Retry, Attempt: 1, Delay: DefaultMaxRetryAfter, CappedRetryAfter: 999999999 * time.Second}},
		{"too many websockets backs off", messages.ErrTooManyWebsockets, History{ConnectedFor: time.Second}, Decision{Verdict: messages.Retry, Attempt: 1, Delay: time.Second}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Decide(tt.err, tt.h); got != tt.want {
				t.Errorf("Decide = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCleanDelay(t *testing.T) {
	p := Policy{Initial: time.Second, Max: time.Minute}
	for recent := 0; recent < 40; recent++ {
		d := p.CleanDelay(recent)
		switch {
		case recent < 2 && d != 0:
			t.Errorf("CleanDelay(%d) = %v, want 0 within the burst", recent, d)
		case recent >= 2:
			c := p.WithDefaults().ceiling(recent - 1)
			if d < c/2 || d > c {
				t.Errorf("CleanDelay(%d) = %v, outside [%v, %v]", recent, d, c/2, c)
			}
		}
	}
}

// TestCleanLoopIsRateLimited replays a server that ends every session cleanly as soon as it
// starts: over a minute of such a loop the link opens a handful of sockets, not thousands.
func TestCleanLoopIsRateLimited(t *testing.T) {
	p := Policy{}.WithDefaults()
	var at []time.Duration // when each clean reconnect dials, from the first
	now := time.Duration(0)
	for now < time.Minute {
		recent := 0
		for _, a := range at {
			if now-a < p.CleanWindow {
				recent++
			}
		}
		now += p.CleanDelay(recent)
		at = append(at, now)
	}
	if len(at) > 12 {
		t.Errorf("%d reconnects in a minute of clean ends: %v", len(at), at)
	}
	for i := 2; i < len(at); i++ {
		if at[i]-at[i-1] < 400*time.Millisecond {
			t.Errorf("reconnect %d only %v after the previous one", i, at[i]-at[i-1])
		}
	}
}

func TestAdviceForEveryFatalCode(t *testing.T) {
	for _, c := range []messages.Code{messages.ErrNotAuthed, messages.ErrInvalidAuth, messages.ErrAccountInactive,
		messages.ErrTokenRevoked, messages.ErrNotAllowedTokenType, messages.ErrTeamDisabled, messages.ErrUserRemoved,
		messages.ErrMissingScope, messages.ErrLinkDisabled, messages.ErrTokenExpired} {
		if messages.Classify(c) != messages.Stop {
			t.Errorf("%s does not stop", c)
		}
		if messages.Advice(c) == "" {
			t.Errorf("%s has no advice", c)
		}
	}
}
