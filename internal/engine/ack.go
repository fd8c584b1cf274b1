package engine

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/slack-go/slack"

	"github.com/switchboard-go/switchboard/messages"
)

// Ack is the once-only acknowledgement of one envelope, shared by every goroutine that may send it:
// the connection (on placement), a responding handler, the response deadline, the last handler to
// finish. The first Send wins.
type Ack struct {
	done    atomic.Bool
	accepts bool
	pending atomic.Int32 // handlers still running; see Hold and Release
	send    func(payload []byte)
}

// NewAck returns an Ack whose first Send calls send with the payload (nil for an empty ack).
// accepts says whether the envelope takes a response payload.
func NewAck(accepts bool, send func(payload []byte)) *Ack {
	return &Ack{accepts: accepts, send: send}
}

// Send acks with payload (nil for none) unless already acked; it reports whether this call acked.
func (a *Ack) Send(payload []byte) bool {
	if !a.done.CompareAndSwap(false, true) {
		return false
	}
	a.send(payload)
	return true
}

// Done reports whether the ack went.
func (a *Ack) Done() bool { return a.done.Load() }

// Hold records n more handlers that must finish (Release) before the ack goes when the event is
// acked after handling.
func (a *Ack) Hold(n int) { a.pending.Add(int32(n)) }

// Release records that a handler finished; the last one sends an empty ack if none went yet.
func (a *Ack) Release() {
	if a.pending.Add(-1) == 0 {
		a.Send(nil)
	}
}

// Placement counts the queues an event is still on its way to. The dispatcher holds it once while
// it routes, and once more for every subscription that places the event later (a keyed one); when
// the last hold is let go the event sits in every queue that will deliver it (or was dropped as a
// duplicate or by an overflow policy the user chose), and the connection's func runs, once: it
// acks the envelope (by default) and returns the reader's flow-control credit.
type Placement struct {
	pending atomic.Int32
	done    func()
}

// NewPlacement returns a Placement that calls done once every hold is let go.
func NewPlacement(done func()) *Placement { return &Placement{done: done} }

// Hold records n more places the event must still reach.
func (p *Placement) Hold(n int) { p.pending.Add(int32(n)) }

// Placed records that one hold is let go; the last one calls done.
func (p *Placement) Placed() {
	if p.pending.Add(-1) == 0 {
		p.done()
	}
}

// ClientSource returns the Web API client of a team, or an error naming the team.
type ClientSource func(ctx context.Context, team string) (*slack.Client, error)

// source is the messages.Source of the events a connection delivers.
type source struct {
	ack     *Ack // nil for RTM events
	clients ClientSource
}

func (s *source) AcceptsResponse() bool { return s.ack != nil && s.ack.accepts }

func (s *source) Respond(payload []byte) bool { return s.ack != nil && s.ack.Send(payload) }

func (s *source) Client(ctx context.Context, team string) (*slack.Client, error) {
	if s.clients == nil {
		return nil, fmt.Errorf("%w for team %s: the link has no installation store", messages.ErrNoClient, team)
	}
	return s.clients(ctx, team)
}
