package engine

import (
	"context"
	"sync"
	"sync/atomic"
)

// Flow is the runtime's flow control gate. A subscription queue with the Backpressure policy
// presses it when it fills up and eases it once it has drained to half; while any queue presses,
// every reader holds back its next event frame and stops reading its socket, so TCP pushes back on
// Slack and nothing is acked that a queue could not take. The zero value is not usable: use
// NewFlow.
type Flow struct {
	mu    sync.Mutex
	full  int
	open  atomic.Pointer[chan struct{}] // closed while no queue presses
	Holds atomic.Int64                  // times a reader held back at the gate
	// credits bound the frames of every session together between the readers and the queues (a
	// session also has its own, sessionCredits): many sockets flooded at once hold no more.
	credits chan struct{}
}

// RuntimeCredits is how many frames all sessions together may have between their readers and the
// queues. Each is an event in memory (its frame and decoded fields, about 1.5 KB on RTM) on top
// of what the queues hold; 2,048 read no faster than 1,024 on 100 flooded RTM workspaces and took
// 3.5 MB more of peak RSS.
const RuntimeCredits = 1024

// NewFlow returns an open gate.
func NewFlow() *Flow {
	f := &Flow{credits: make(chan struct{}, RuntimeCredits)}
	ch := make(chan struct{})
	close(ch)
	f.open.Store(&ch)
	return f
}

// Pressed reports whether some queue is full.
func (f *Flow) Pressed() bool {
	select {
	case <-*f.open.Load():
		return false
	default:
		return true
	}
}

// press records one more full queue.
func (f *Flow) press() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.full++
	if f.full == 1 {
		ch := make(chan struct{})
		f.open.Store(&ch)
	}
}

// ease records that a full queue drained (or went away).
func (f *Flow) ease() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.full--
	if f.full == 0 {
		close(*f.open.Load())
	}
}

// wait returns once no queue presses, or with ctx's error.
func (f *Flow) wait(ctx context.Context) error {
	ch := *f.open.Load()
	select {
	case <-ch:
		return nil
	default:
	}
	f.Holds.Add(1)
	for {
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		// The gate may have closed again between the wake and now.
		if ch = *f.open.Load(); !f.Pressed() {
			return nil
		}
	}
}
