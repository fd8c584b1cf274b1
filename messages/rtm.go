package messages

import (
	"errors"
	"fmt"
)

// RTM sending: limits, replies and the ways a send can fail.

// RTM limits (SLACK_PROTOCOL.md §3.6): Slack disconnects a client sending a frame over 16 KB and
// asks for message text of at most 4,000 characters.
const (
	RTMMaxFrameBytes = 16 * 1024
	RTMMaxTextChars  = 4000
)

// Errors of RTM sends. Each is returned before anything is written unless said otherwise.
var (
	// ErrNotConnected: the workspace has no session up (connecting, reconnecting or stopped).
	ErrNotConnected = errors.New("switchboard: rtm workspace not connected")
	// ErrUnknownWorkspace: no workspace with that team ID was added.
	ErrUnknownWorkspace = errors.New("switchboard: no such rtm workspace")
	// ErrSendQueueFull: the writer's rate-limit queue is full; retry later.
	ErrSendQueueFull = errors.New("switchboard: rtm send queue full")
	// ErrTextTooLong: message text over 4,000 characters.
	ErrTextTooLong = errors.New("switchboard: rtm text over 4000 characters")
	// ErrFrameTooLarge: the encoded frame is over 16 KB; Slack would disconnect the client.
	ErrFrameTooLarge = errors.New("switchboard: rtm frame over 16 KB")
	// ErrSessionEnded: the session ended before Slack answered; see SessionEndedError.
	ErrSessionEnded = errors.New("switchboard: rtm session ended before the reply")
	// ErrSlowDown: Slack refused the write for the rate ({"code":-1,"msg":"slow down, too many
	// messages..."}); RTMReplyError unwraps to it.
	ErrSlowDown = errors.New("slack: rtm slow down, too many messages")
)

// RTMReplyError is Slack's refusal of one RTM frame: {"ok":false,"reply_to":ID,"error":{…}}, or an
// "error" frame ending a session (ID 0).
type RTMReplyError struct {
	ID   int64  // the frame's id; 0 for an error frame
	Code int    // Slack's code; -1 is the rate limit
	Msg  string // Slack's message, verbatim
}

func (e *RTMReplyError) Error() string {
	if e.ID == 0 {
		return fmt.Sprintf("slack: rtm error %d: %s", e.Code, e.Msg)
	}
	return fmt.Sprintf("slack: rtm reply to %d: error %d: %s", e.ID, e.Code, e.Msg)
}

// Unwrap returns ErrSlowDown for the rate-limit reply (code -1), so errors.Is(err, ErrSlowDown)
// holds; nil otherwise.
func (e *RTMReplyError) Unwrap() error {
	if e.Code == -1 {
		return ErrSlowDown
	}
	return nil
}

// SessionEndedError fails a send whose session ended before Slack's reply came. MaybeSent says the
// frame was handed to the socket, so Slack may have received it (retrying may post twice); false
// means it was never written.
type SessionEndedError struct {
	MaybeSent bool
	Cause     error // what ended the session, when known
}

func (e *SessionEndedError) Error() string {
	s := "switchboard: rtm session ended before the reply (not sent)"
	if e.MaybeSent {
		s = "switchboard: rtm session ended before the reply (may have been sent)"
	}
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

// Unwrap returns ErrSessionEnded and the cause.
func (e *SessionEndedError) Unwrap() []error {
	if e.Cause == nil {
		return []error{ErrSessionEnded}
	}
	return []error{ErrSessionEnded, e.Cause}
}
