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
	for _, tt := range []struct {
		name         string
		err          error
		failures     int
		connectedFor time.Duration
		want         Decision
	}{
		{"revoked stops", fmt.Errorf("open: %w", revoked), 0, 0, Decision{Verdict: messages.Stop, Attempt: 1, Advice: messages.Advice(revoked)}},
		{"link disabled stops", messages.ErrLinkDisabled, 2, 0, Decision{Verdict: messages.Stop, Attempt: 3, Advice: messages.Advice(messages.ErrLinkDisabled)}},
		{"goodbye reconnects now", messages.ErrGoodbye, 0, time.Hour, Decision{Verdict: messages.RetryNow, Attempt: 1}},
		{"drop backs off", &messages.SocketError{Op: "read", Err: errors.New("EOF")}, 2, 0, Decision{Verdict: messages.Retry, Attempt: 3, Delay: 4 * time.Second}},
		{"healthy session resets", messages.ErrStale, 5, 2 * time.Minute, Decision{Verdict: messages.Retry, Attempt: 1, Delay: time.Second}},
		{"429 waits retry-after", limited, 0, 0, Decision{Verdict: messages.Retry, Attempt: 1, Delay: 30 * time.Second}},
		{"too many websockets backs off", messages.ErrTooManyWebsockets, 0, 0, Decision{Verdict: messages.Retry, Attempt: 1, Delay: time.Second}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Decide(tt.err, tt.failures, tt.connectedFor); got != tt.want {
				t.Errorf("Decide = %+v, want %+v", got, tt.want)
			}
		})
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
