// Package ops serves a switchboard Runtime's operations endpoints: Prometheus metrics on /metrics,
// readiness on /healthz and the fleet's link status as JSON on /status.
//
//	srv, err := ops.New(rt, ops.Options{Addr: ":9090"})
//	addr, err := srv.Start()       // serves until Close
//	defer srv.Close(ctx)
//
// The library serves nothing unless a program calls New and Start: operations endpoints are off
// by default.
//
// # What is measured
//
// Link state, connects, reconnects by cause and fatal stops come from a lifecycle subscription
// (Runtime.OnLifecycle, named "ops-lifecycle"); events by kind and type from a subscription that
// sees every event after dedupe ("ops-events"); the runtime's counters (events read, acks,
// duplicates dropped, panics…) are read from Runtime.Stats at scrape time, subscriber queue depth
// and overflow from Runtime.SubscriberStats, link state from Runtime.Status. Ack latency (read to
// ack written) comes from the runtime's ack hook, and webhook sends by outcome from ObserveWebhook,
// which a program passes to webhook.WithResultHandler.
package ops
