// Package ops serves a switchboard Runtime's operations endpoints: Prometheus metrics on /metrics,
// readiness on /healthz and the fleet's link status as JSON on /status.
//
//	srv, err := ops.New(rt, ops.Options{Addr: "127.0.0.1:9090"})
//	addr, err := srv.Start()       // serves until Close
//	defer srv.Close(ctx)
//
// The library serves nothing unless a program calls New and Start: operations endpoints are off
// by default. Metrics go to a registry of the Server's own unless Options.Registerer names one.
// /status is a StatusReport; its JSON keys are snake_case throughout ("links", "session_start",
// "events_in", …), like /healthz's. ops uses the runtime's public API only.
//
// # What is measured
//
// Links by state, connects, reconnects by cause and fatal stops come from a lifecycle subscription
// (Runtime.OnLifecycle, named "ops-lifecycle") and Runtime.Status; events by kind and type from a
// subscription that sees every event after dedupe ("ops-events"); the runtime's counters (events
// read, acks, duplicates dropped, panics…) are read from Runtime.Stats at scrape time, subscriber
// queue depth and overflow from Runtime.SubscriberStats. Ack latency (read to ack written) comes
// from an observer ops adds with Runtime.OnAck (beside the program's own), and webhook sends by
// outcome from ObserveWebhook, which a program passes to webhook.WithResultHandler.
//
// # Cardinality
//
// Every label value comes from a fixed vocabulary, never verbatim from Slack: causes and codes are
// those of Causes ("other" for any code the runtime does not act on), webhook outcomes are the
// known webhook codes or http_4xx/http_5xx, and events_total names at most 100 event types (the
// rest are "other"). Series are by app and transport, not by link, so 10,000 workspaces make a
// handful of series; Options.PerLinkMetrics adds the per-link ones. Per-link detail is always in
// /status. docs/grafana/switchboard.json is a Grafana dashboard for these metrics.
package ops
