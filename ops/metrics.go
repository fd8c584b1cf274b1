package ops

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/actors"
	"github.com/switchboard-go/switchboard/messages"
	"github.com/switchboard-go/switchboard/webhook"
)

// metrics holds the collectors of one runtime.
type metrics struct {
	connects   *prometheus.CounterVec
	reconnects *prometheus.CounterVec
	fatal      *prometheus.CounterVec
	events     *prometheus.CounterVec
	ackLatency prometheus.Histogram
	webhooks   *prometheus.CounterVec
}

var linkStates = []actors.State{actors.StateConnecting, actors.StateConnected, actors.StateReconnecting,
	actors.StateFatal, actors.StateStopped}

func newMetrics(ns string, reg *prometheus.Registry, rt *switchboard.Runtime) *metrics {
	m := &metrics{
		connects: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "link_connects_total",
			Help: "Sessions that came up (hello received), by link."}, []string{"link"}),
		reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "link_reconnects_total",
			Help: "Sessions that ended and will be reopened, by link and cause."}, []string{"link", "cause"}),
		fatal: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "link_fatal_total",
			Help: "Links stopped for good by a fatal Slack error, by link and code."}, []string{"link", "code"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "events_total",
			Help: "Events dispatched to subscribers (after dedupe), by kind and type."}, []string{"kind", "type"}),
		ackLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "ack_latency_seconds",
			Help:    "Time from reading a Socket Mode envelope to writing its ack.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "webhook_sends_total",
			Help: "Queued webhook and response_url messages by outcome (delivered, a Slack code, stopped, error)."},
			[]string{"outcome"}),
	}
	counter := func(name, help string, f func(switchboard.Stats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: ns, Name: name, Help: help},
			func() float64 { return float64(f(rt.Stats())) })
	}
	reg.MustRegister(m.connects, m.reconnects, m.fatal, m.events, m.ackLatency, m.webhooks,
		counter("events_in_total", "Envelopes and RTM events read from sockets.", func(s switchboard.Stats) int64 { return s.EventsIn }),
		counter("acks_total", "Socket Mode acks written.", func(s switchboard.Stats) int64 { return s.Acks }),
		counter("duplicates_dropped_total", "Redeliveries dropped by dedupe.", func(s switchboard.Stats) int64 { return s.Duplicates }),
		counter("dispatched_total", "Deliveries into subscriber queues.", func(s switchboard.Stats) int64 { return s.Dispatched }),
		counter("subscriber_overflow_total", "Deliveries dropped by a full subscriber queue (all subscriptions).", func(s switchboard.Stats) int64 { return s.Dropped }),
		counter("handler_panics_total", "Handler and subscriber actor panics.", func(s switchboard.Stats) int64 { return s.HandlerPanics }),
		counter("malformed_frames_total", "Frames that did not decode.", func(s switchboard.Stats) int64 { return s.Malformed }),
		counter("response_timeouts_total", "Envelopes acked empty because no response came in time.", func(s switchboard.Stats) int64 { return s.ResponseTimeouts }),
		&fleetCollector{rt: rt,
			state: prometheus.NewDesc(ns+"_link_state", "1 for the link's current state, 0 for the others.",
				[]string{"link", "transport", "state"}, nil),
			depth: prometheus.NewDesc(ns+"_subscriber_queue_depth", "Events waiting in a subscription's queue.",
				[]string{"subscription"}, nil),
			dropped: prometheus.NewDesc(ns+"_subscriber_dropped_total", "Events a subscription's overflow policy dropped.",
				[]string{"subscription"}, nil),
		},
	)
	return m
}

// lifecycle counts one lifecycle event.
func (m *metrics) lifecycle(ev messages.Lifecycle) {
	switch e := ev.(type) {
	case messages.Connected:
		m.connects.WithLabelValues(e.Link.Name).Inc()
	case messages.Reconnecting:
		m.reconnects.WithLabelValues(e.Link.Name, Cause(e.Cause)).Inc()
	case messages.Fatal:
		m.fatal.WithLabelValues(e.Link.Name, Cause(e.Error)).Inc()
	}
}

// Cause names why a session ended in a few words fit for a metric label: Slack's error code
// ("ratelimited", "token_revoked", …), or one of "stale", "goodbye", "replaced", "hello_timeout",
// "write_stalled", "socket_dial", "socket_read", "socket_write", "other".
func Cause(err error) string {
	if c := messages.CodeOf(err); c != "" {
		return string(c)
	}
	var se *messages.SocketError
	switch {
	case err == nil:
		return "none"
	case errors.Is(err, messages.ErrStale):
		return "stale"
	case errors.Is(err, messages.ErrGoodbye):
		return "goodbye"
	case errors.Is(err, messages.ErrReplaced):
		return "replaced"
	case errors.Is(err, messages.ErrHelloTimeout):
		return "hello_timeout"
	case errors.Is(err, messages.ErrWriteStalled):
		return "write_stalled"
	case errors.As(err, &se):
		return "socket_" + se.Op
	}
	return "other"
}

// webhookOutcome names a webhook result for the outcome label.
func webhookOutcome(r webhook.Result) string {
	var we *webhook.Error
	switch {
	case r.Err == nil:
		return "delivered"
	case errors.Is(r.Err, webhook.ErrStopped):
		return "stopped"
	case errors.As(r.Err, &we) && we.Code != "":
		return string(we.Code)
	case errors.As(r.Err, &we):
		return "http_" + httpClass(we.Status)
	}
	return "error"
}

func httpClass(status int) string {
	switch {
	case status >= 500:
		return "5xx"
	case status >= 400:
		return "4xx"
	}
	return "other"
}

// fleetCollector reads link states and subscriber queues at scrape time.
type fleetCollector struct {
	rt                    *switchboard.Runtime
	state, depth, dropped *prometheus.Desc

	mu   sync.Mutex
	last []switchboard.SubscriptionStats // served when the dispatcher is busy or stopped
}

func (c *fleetCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.state
	ch <- c.depth
	ch <- c.dropped
}

func (c *fleetCollector) Collect(ch chan<- prometheus.Metric) {
	for _, st := range c.rt.Status() {
		for _, s := range linkStates {
			v := 0.0
			if st.State == s {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, v, st.Link.Name, string(st.Link.Transport), string(s))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	subs, err := c.rt.SubscriberStats(ctx)
	c.mu.Lock()
	if err == nil {
		c.last = subs
	} else {
		subs = c.last
	}
	c.mu.Unlock()
	for _, s := range subs {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(s.Queued), s.Name)
		ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.CounterValue, float64(s.Dropped), s.Name)
	}
}
