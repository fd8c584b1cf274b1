package switchboard

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard-go/switchboard/internal/engine"
)

// Stats are the runtime's counters, totals since New. Their JSON names are snake_case, as in
// ops' /status.
type Stats struct {
	EventsIn   int64 `json:"events_in"`  // Socket Mode envelopes and RTM events read
	Acks       int64 `json:"acks"`       // acks written
	Duplicates int64 `json:"duplicates"` // Events API redeliveries dropped by dedupe
	Dispatched int64 `json:"dispatched"` // deliveries into subscription queues
	// Dropped counts deliveries dropped by a full DropNewest or DropOldest queue.
	Dropped int64 `json:"dropped"`
	// HandlerPanics counts panics of handlers (recovered as a *PanicError, reported to OnError;
	// the actor goes on), of error hooks, and of subscriber actors and lifecycle funcs (each
	// restarts its actor).
	HandlerPanics int64 `json:"handler_panics"`
	// HandlerErrors counts errors handlers returned (each given to OnError, or logged with the
	// event's IDs).
	HandlerErrors int64 `json:"handler_errors"`
	Malformed     int64 `json:"malformed"` // frames that did not decode
	// ResponseTimeouts counts commands and interactions acked empty because no Respond came
	// within the response deadline.
	ResponseTimeouts int64 `json:"response_timeouts"`
	// Backpressured counts the times a reader held an event back because a Backpressure queue
	// was full (and so stopped reading its socket until the queue drained to half).
	Backpressured int64 `json:"backpressured"`
	// CallbackPanics counts panics of OnAck observers and InstallationStore lookups, each
	// recovered and logged.
	CallbackPanics int64 `json:"callback_panics"`
}

// Stats returns the runtime's counters.
func (rt *Runtime) Stats() Stats {
	s := rt.env.Stats
	return Stats{
		EventsIn: s.EventsIn.Load(), Acks: s.Acks.Load(), Duplicates: s.Duplicates.Load(),
		Dispatched: s.Dispatched.Load(), Dropped: s.Dropped.Load(), HandlerPanics: s.HandlerPanics.Load(),
		HandlerErrors: s.HandlerErrors.Load(), Malformed: s.Malformed.Load(),
		ResponseTimeouts: s.ResponseTimeout.Load(), Backpressured: rt.env.Flow.Holds.Load(),
		CallbackPanics: rt.callbackPanics(),
	}
}

// SubscriptionStats is one subscription's queue state.
type SubscriptionStats struct {
	Name string `json:"name"`
	// Queued counts events accepted and not yet handled: waiting, or in a handler right now; for a
	// keyed subscription, over every key.
	Queued int `json:"queued"`
	// Dropped counts events dropped by the overflow policy the subscription chose, every key
	// included (never under Backpressure).
	Dropped int64 `json:"dropped"`
	// Keys counts the live keys of a keyed subscription (PerTeam, PerChannel, PerThread).
	Keys int `json:"keys"`
}

// SubscriberStats returns the queue state of every subscription, in subscription order (those
// ending after Unsubscribe last). It asks the dispatcher, so it waits behind the events already in
// its mailbox, until ctx ends.
func (rt *Runtime) SubscriberStats(ctx context.Context) ([]SubscriptionStats, error) {
	if rt.isStopped() {
		return nil, ErrStopped
	}
	return rt.subscriberStats(ctx)
}

func (rt *Runtime) subscriberStats(ctx context.Context) ([]SubscriptionStats, error) {
	reply := engine.NewReply()
	var res any
	if err := rt.request(ctx, rt.dispatcher, engine.SubscriberStats{Reply: reply}, reply, &res); err != nil {
		return nil, fmt.Errorf("switchboard: subscriber stats: %w", err)
	}
	in, ok := res.([]engine.SubscriptionStats)
	if !ok {
		return nil, fmt.Errorf("switchboard: subscriber stats: unexpected answer %T", res)
	}
	out := make([]SubscriptionStats, len(in))
	for i, s := range in {
		out[i] = SubscriptionStats{Name: s.Name, Queued: s.Queued, Dropped: s.Dropped, Keys: s.Keys}
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
