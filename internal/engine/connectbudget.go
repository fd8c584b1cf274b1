package engine

import (
	"context"
	"sync"
	"time"
)

// Connect budget defaults. Slack documents no fleet-wide limit: rtm.connect and
// apps.connections.open are Tier 1 methods, about one call a minute per method, app and workspace
// with "a small amount of burst behavior" tolerated, so one link reconnecting is always within its
// own limit. What a fleet must not do is call Slack for a thousand links in the same instant. The
// burst is Slack's 10 sockets per app (MaxAppConnections): one app's whole set, or a few lone
// links, reconnect without waiting; after it, 20 a second brings 1,000 workspaces back in under a
// minute while keeping the runtime's connect traffic to one call every 50 ms.
const (
	DefaultConnectBurst = MaxAppConnections
	DefaultConnectEvery = 50 * time.Millisecond
)

// ConnectBudget paces the reconnects of every link of a runtime: each session after a link's
// first takes one slot before it calls apps.connections.open or rtm.connect. It is a token bucket
// (as GCRA): Burst slots at once, then one per Every. The zero value uses the defaults
// (DefaultConnectBurst, DefaultConnectEvery). Safe for concurrent use; must not be copied once
// used.
type ConnectBudget struct {
	// Every is the time between two slots once the burst is spent. Default 50ms.
	Every time.Duration
	// Burst is how many slots are free at once. Default 10.
	Burst int

	mu  sync.Mutex
	tat time.Time // theoretical arrival time: when the bucket is full again
}

// reserve books the earliest slot at or after now and returns it.
func (b *ConnectBudget) reserve(now time.Time) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	every, burst := b.Every, b.Burst
	if every <= 0 {
		every = DefaultConnectEvery
	}
	if burst <= 0 {
		burst = DefaultConnectBurst
	}
	tat := b.tat
	if tat.Before(now) {
		tat = now
	}
	slot := tat.Add(-time.Duration(burst-1) * every)
	if slot.Before(now) {
		slot = now
	}
	b.tat = tat.Add(every)
	return slot
}

// Wait takes a slot, waiting until it comes or ctx ends (then it returns ctx's error; the slot is
// not given back).
func (b *ConnectBudget) Wait(ctx context.Context) error {
	d := time.Until(b.reserve(time.Now()))
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
