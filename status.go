package switchboard

import (
	"time"

	"github.com/switchboard-go/switchboard/internal/engine"
)

// State is where a link is in its life.
type State string

// Link states.
const (
	StateConnecting   State = "connecting"   // opening its first socket
	StateConnected    State = "connected"    // its session said hello
	StateReconnecting State = "reconnecting" // between sessions, waiting or dialing
	StateFatal        State = "fatal"        // stopped by an error retrying cannot fix; see Fatal
	StateStopped      State = "stopped"      // stopped: removed, or reconnect turned off
)

// Status is a snapshot of one link.
type Status struct {
	Link         Link      `json:"link"`
	State        State     `json:"state"`
	Session      uint64    `json:"session"`                // the current or last session's generation
	SessionStart time.Time `json:"session_start,omitzero"` // when that session began dialing
	ConnectedAt  time.Time `json:"connected_at,omitzero"`  // when it said hello
	Reconnects   int       `json:"reconnects"`             // sessions after the first
	LastError    string    `json:"last_error,omitempty"`   // why the last session ended, redacted
}

func statusOf(s engine.Status) Status {
	return Status{Link: s.Link, State: State(s.State), Session: s.Session, SessionStart: s.SessionStart,
		ConnectedAt: s.ConnectedAt, Reconnects: s.Reconnects, LastError: s.LastError}
}
