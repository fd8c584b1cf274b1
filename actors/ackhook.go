package actors

import (
	"sync/atomic"
	"time"
)

// AckHook calls a function, which may be set at any time, with the latency of each ack written:
// from reading the envelope to writing its ack. The zero value calls nothing.
type AckHook struct {
	f atomic.Pointer[func(time.Duration)]
}

// Set replaces the function; nil removes it.
func (h *AckHook) Set(f func(latency time.Duration)) {
	if f == nil {
		h.f.Store(nil)
		return
	}
	h.f.Store(&f)
}

func (h *AckHook) observe(d time.Duration) {
	if f := h.f.Load(); f != nil {
		(*f)(d)
	}
}
