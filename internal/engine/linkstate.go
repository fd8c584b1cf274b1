package engine

import (
	"sync"
	"time"

	"github.com/switchboard-go/switchboard/messages"
)

// State is where a link is in its life.
type State string

// Link states.
const (
	StateConnecting   State = "connecting"
	StateConnected    State = "connected"
	StateReconnecting State = "reconnecting"
	StateFatal        State = "fatal"
	StateStopped      State = "stopped"
)

// Status is a snapshot of one link.
type Status struct {
	Link         messages.Link `json:"link"`
	State        State         `json:"state"`
	Session      uint64        `json:"session"`
	SessionStart time.Time     `json:"session_start,omitzero"`
	ConnectedAt  time.Time     `json:"connected_at,omitzero"`
	Reconnects   int           `json:"reconnects"`
	LastError    string        `json:"last_error,omitempty"`
}

// LinkState is what outlives a link's incarnations: the supervisor writes why the last session
// failed and how long to wait; the next incarnation reads it. Safe for concurrent use.
type LinkState struct {
	mu           sync.Mutex
	link         messages.Link
	state        State
	session      uint64
	sessionStart time.Time
	connectedAt  time.Time
	failures     int // since the last healthy session
	reconnects   int
	lastErr      error // the last failure, kept for Status
	cause        error // the failure the next incarnation reconnects after; consumed by begin
	nextDelay    time.Duration
	nextAttempt  int
	clock        Clock // the runtime's, set by its connection before the first session; nil: the wall clock
}

// NewLinkState returns the state of a link that has not connected yet.
func NewLinkState(link messages.Link) *LinkState {
	return &LinkState{link: link, state: StateConnecting}
}

// Status returns a snapshot.
func (s *LinkState) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Status{Link: s.link, State: s.state, Session: s.session, SessionStart: s.sessionStart,
		ConnectedAt: s.connectedAt, Reconnects: s.reconnects}
	if s.lastErr != nil {
		st.LastError = s.lastErr.Error()
	}
	return st
}

// setClock makes the state read c.
func (s *LinkState) setClock(c Clock) {
	s.mu.Lock()
	s.clock = c
	s.mu.Unlock()
}

// now is the clock's time; s.mu is held.
func (s *LinkState) now() time.Time {
	if s.clock == nil {
		return time.Now()
	}
	return s.clock.Now()
}

// begin records a new session and returns the delay its predecessor's failure (or a refresh)
// asked for, the attempt number, the cause, and whether this is the link's first session.
func (s *LinkState) begin(gen uint64) (delay time.Duration, attempt int, cause error, first bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delay, attempt, cause, first = s.nextDelay, s.nextAttempt, s.cause, s.session == 0
	s.nextDelay, s.cause = 0, nil
	s.session, s.sessionStart, s.connectedAt = gen, s.now(), time.Time{}
	if cause != nil {
		s.state = StateReconnecting
	} else {
		s.state = StateConnecting
	}
	return delay, attempt, cause, first
}

func (s *LinkState) dialing() {
	s.mu.Lock()
	s.state = StateConnecting
	s.mu.Unlock()
}

func (s *LinkState) connected() {
	s.mu.Lock()
	s.state, s.connectedAt = StateConnected, s.now()
	s.mu.Unlock()
}

// failed records a session's end for the supervisor's decision; it returns the failures so far and
// how long the session had been connected.
func (s *LinkState) failed() (failures int, connectedFor time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.connectedAt.IsZero() {
		connectedFor = s.now().Sub(s.connectedAt)
	}
	return s.failures, connectedFor
}

// delayNext makes the next session wait d before it dials: a refresh's replacement when clean
// reconnects repeat.
func (s *LinkState) delayNext(d time.Duration) {
	s.mu.Lock()
	s.nextDelay = d
	s.mu.Unlock()
}

// retry records the supervisor's decision to restart after delay.
func (s *LinkState) retry(err error, attempt int, delay time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastErr, s.cause, s.failures, s.nextAttempt, s.nextDelay = err, err, attempt, attempt, delay
	s.reconnects++
	s.state = StateReconnecting
}

func (s *LinkState) end(state State, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state = state
	if err != nil {
		s.lastErr = err
	}
}
