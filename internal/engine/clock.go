package engine

import "time"

// Clock is the time the engine's timers and liveness checks read: the pingers, the link state,
// the supervisor's clean-reconnect window, the RTM writer's bucket, the keyed subscriptions' idle
// timers and every generation-tagged timer an actor arms. Env.Clock nil means the real clock.
// Deadlines on the socket itself (gorilla's) and the connect budget stay on the wall clock.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f on its own goroutine once d has passed, unless the timer is stopped first.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a timer armed by Clock.AfterFunc.
type Timer interface {
	// Stop cancels the timer; it reports false when f already ran or the timer was stopped.
	Stop() bool
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// stopTimer stops t if it is set.
func stopTimer(t Timer) {
	if t != nil {
		t.Stop()
	}
}
