package engine

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-go/switchboard/internal/redact"
)

// AckHook calls its observers, which may be added and removed at any time, with the latency of
// each ack written: from reading the envelope to writing its ack. The zero value calls nothing.
//
// Observers run on the writer's goroutine, one after the other, so they must be quick. An observer
// that panics is recovered, logged at Error (its panic value redacted), counted in Panics and
// removed: it would most likely panic on every ack.
type AckHook struct {
	obs    atomic.Pointer[[]*ackObserver] // read without a lock on every ack; copied on write
	mu     sync.Mutex                     // serializes Add and remove
	log    atomic.Pointer[logrus.Entry]
	panics atomic.Int64
}

type ackObserver struct{ f func(time.Duration) }

// Add adds f and returns a function that removes it (safe to call more than once). A nil f adds
// nothing.
func (h *AckHook) Add(f func(latency time.Duration)) (remove func()) {
	if f == nil {
		return func() {}
	}
	o := &ackObserver{f: f}
	h.mu.Lock()
	defer h.mu.Unlock()
	var next []*ackObserver
	if cur := h.obs.Load(); cur != nil {
		next = append(next, *cur...)
	}
	next = append(next, o)
	h.obs.Store(&next)
	return func() { h.remove(o) }
}

// SetLogger sets where a panicking observer is logged. Default: nowhere.
func (h *AckHook) SetLogger(l *logrus.Entry) { h.log.Store(l) }

// Panics returns how many observers panicked.
func (h *AckHook) Panics() int64 { return h.panics.Load() }

func (h *AckHook) remove(o *ackObserver) {
	h.mu.Lock()
	defer h.mu.Unlock()
	cur := h.obs.Load()
	if cur == nil {
		return
	}
	next := make([]*ackObserver, 0, len(*cur))
	for _, x := range *cur {
		if x != o {
			next = append(next, x)
		}
	}
	h.obs.Store(&next)
}

func (h *AckHook) observe(d time.Duration) {
	if p := h.obs.Load(); p != nil {
		for _, o := range *p {
			h.call(o, d)
		}
	}
}

func (h *AckHook) call(o *ackObserver, d time.Duration) {
	defer func() {
		if r := recover(); r != nil {
			h.panics.Add(1)
			h.remove(o)
			if l := h.log.Load(); l != nil {
				l.WithField("panic", redact.Value(r)).Error("ack observer panicked, removed it")
			}
		}
	}()
	o.f(d)
}
