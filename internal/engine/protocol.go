package engine

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/switchboard-go/switchboard/internal/wire"
	"github.com/switchboard-go/switchboard/messages"
)

// The messages below travel between Switchboard's own actors. Each that a goroutine sends in
// carries the Session it belongs to, so a late message of an ended session is dropped.

// SocketOpened tells a connection that its session's socket is dialed and attached.
type SocketOpened struct {
	Session uint64
	Body    []byte // the Web API answer that gave the socket URL, when the transport keeps it (RTM)
}

// OpenFailed tells a connection that opening its session failed.
type OpenFailed struct {
	Session uint64
	Err     error
}

// frameKind is what a frame is to the connection, decided once by the reader's decode func.
type frameKind uint8

const (
	frameUnknown    frameKind = iota // a type the runtime does not know: counted and logged
	frameHello                       // the session is up
	frameEvent                       // a Socket Mode envelope or an RTM event: to the dispatcher
	frameDisconnect                  // Socket Mode: the server asks the client to go (with a reason)
	frameGoodbye                     // RTM: the server is about to close the socket
	frameError                       // RTM: an error frame; the session ends
	frameReply                       // RTM: reply_to a frame the writer sent
	framePong                        // RTM: the answer to the pinger's JSON ping
	frameIgnored                     // RTM: reconnect_url, read and dropped
)

// frameMsg is a decoded frame on its way from the reader to the connection.
type frameMsg interface {
	sessionOf() uint64
	kindOf() frameKind
}

// FrameRead carries one decoded Socket Mode frame other than an envelope (hello, disconnect, an
// unknown type) from the reader to its connection; an envelope travels as its *envelope.
type FrameRead struct {
	Session  uint64
	Frame    wire.SocketFrame
	Received time.Time
	kind     frameKind
}

func (f FrameRead) sessionOf() uint64 { return f.Session }
func (f FrameRead) kindOf() frameKind { return f.kind }

// RTMFrameRead carries one RTM frame other than an event (hello, a reply, a pong, goodbye, an
// error) from the reader to its connection; an event travels as its *rtmEvent.
type RTMFrameRead struct {
	Session  uint64
	Frame    wire.RTMFrame
	Raw      []byte
	Received time.Time
	kind     frameKind
}

func (f RTMFrameRead) sessionOf() uint64 { return f.Session }
func (f RTMFrameRead) kindOf() frameKind { return f.kind }

// ReadFailed tells a connection that its socket read failed (the session is over).
type ReadFailed struct {
	Session uint64
	Err     error
}

// WriteFailed tells a connection that its socket write failed or stalled.
type WriteFailed struct {
	Session uint64
	Err     error
}

// LinkStale tells a connection that no traffic arrived within the stale window, or (NoPong) that
// the pong of an RTM ping did not come in time.
type LinkStale struct {
	Session uint64
	Silent  time.Duration
	NoPong  bool
}

// SendAck asks a Socket Mode writer to ack an envelope, with an optional JSON payload.
type SendAck struct {
	EnvelopeID string
	// RawID is envelope_id exactly as it was received (a JSON string token, quotes included); the
	// ack echoes it byte for byte, so an ID that is not valid UTF-8 still matches. Empty means
	// EnvelopeID is encoded instead.
	RawID    []byte
	Payload  []byte
	Received time.Time // when the envelope was read; the writer reports the ack's latency from it
	// Written, when set, is called once the ack is written (or can no longer be): it returns the
	// session's flow-control credit.
	Written func()
}

// SendFrame asks a writer to write one text frame as is.
type SendFrame struct{ Data []byte }

// SendPing asks a writer to send a keepalive ping.
type SendPing struct{}

// Dispatch hands an event to the dispatcher, always as a *Dispatch (a field of the event's
// envelope), with its envelope's ack (nil for RTM) and its placement (nil when nobody waits).
type Dispatch struct {
	Event     *messages.Event
	Ack       *Ack
	Placement *Placement
}

// LinkUp tells the supervisor that a connection's session said hello.
type LinkUp struct {
	Link messages.Link
	PID  *actor.PID
}

// RefreshRequested tells the supervisor that Slack asked a connection to make way for a new one.
type RefreshRequested struct {
	Link   messages.Link
	PID    *actor.PID
	Reason string // "warning" or "refresh_requested"
}

// Reconnect asks a connection to end its session and reconnect at once.
type Reconnect struct{}

// Drain asks a connection to stop dispatching events and flush its writer; Reply is answered with
// Drained once every frame queued before it (acks included) is written, or could not be.
type Drain struct{ Reply Reply }

// Reply is the one-slot answer channel of a request to an actor. The actor answers once and never
// blocks; the asker waits with its own context, so nothing waits on an actor that went away.
type Reply chan any

// NewReply returns a Reply with room for its answer.
func NewReply() Reply { return make(Reply, 1) }

// Answer delivers v, unless the channel is nil or already answered.
func (r Reply) Answer(v any) {
	select {
	case r <- v:
	default:
	}
}

// Drained answers Drain.
type Drained struct{}
