package switchboard

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard-go/switchboard/internal/engine"
)

// SubscriptionStats is one subscription's queue: events accepted and not yet handled (waiting, or
// in a handler right now; for a keyed subscription, over every key) and events dropped by its
// overflow policy since it started (for a keyed subscription, counted in Stats.Dropped only).
type SubscriptionStats = engine.SubscriptionStats

// SubscriberStats returns the queue state of every subscription, in subscription order. It asks the
// dispatcher, so it waits behind the events already in its mailbox.
func (rt *Runtime) SubscriberStats(ctx context.Context) ([]SubscriptionStats, error) {
	if rt.isStopped() {
		return nil, ErrStopped
	}
	return rt.subscriberStats(ctx)
}

func (rt *Runtime) subscriberStats(ctx context.Context) ([]SubscriptionStats, error) {
	f := rt.system.Root.RequestFuture(rt.dispatcher, engine.SubscriberStats{}, askTimeout)
	if err := waitFuture(ctx, f); err != nil {
		return nil, fmt.Errorf("switchboard: subscriber stats: %w", err)
	}
	res, err := f.Result()
	if err != nil {
		return nil, fmt.Errorf("switchboard: subscriber stats: %w", err)
	}
	out, ok := res.([]engine.SubscriptionStats)
	if !ok {
		return nil, fmt.Errorf("switchboard: subscriber stats: unexpected answer %T", res)
	}
	return out, nil
}

// OnAck calls f with the latency of every Socket Mode ack once it is written: from reading the
// envelope to writing its ack, and returns a function that stops calling it. f runs on the writer's
// goroutine, so it must be quick (a histogram's Observe). Every f added is called, in the order
// added (ops adds its own). An f that panics is logged, counted in Stats.CallbackPanics and
// removed; the runtime goes on.
func (rt *Runtime) OnAck(f func(latency time.Duration)) (remove func()) {
	rt.env.AckHook.SetLogger(rt.log)
	return rt.env.AckHook.Add(f)
}
