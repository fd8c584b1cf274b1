package ops

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/messages"
	"github.com/switchboard-go/switchboard/webhook"
)

// metrics holds the collectors of one runtime.
type metrics struct {
	perLink bool

	connects, reconnects, fatal             *prometheus.CounterVec // by app and transport
	linkConnects, linkReconnects, linkFatal *prometheus.CounterVec // by link; nil unless perLink

	events     *prometheus.CounterVec
	eventTypes *vocabulary
	ackLatency prometheus.Histogram
	webhooks   *prometheus.CounterVec
	handlers   *handlerMetrics
}

var linkStates = []switchboard.State{switchboard.StateConnecting, switchboard.StateConnected, switchboard.StateReconnecting,
	switchboard.StateFatal, switchboard.StateStopped}

// maxEventTypes bounds the type label of events_total: the first types seen keep their name, later
// ones count as "other".
const maxEventTypes = 100

func newMetrics(ns string, reg prometheus.Registerer, rt *switchboard.Runtime, perLink bool) (*metrics, error) {
	counterVec := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: name, Help: help}, labels)
	}
	m := &metrics{
		perLink:    perLink,
		connects:   counterVec("connects_total", "Sessions that came up (hello received), by app and transport.", "app", "transport"),
		reconnects: counterVec("reconnects_total", "Sessions that ended and will be reopened, by app, transport and cause.", "app", "transport", "cause"),
		fatal:      counterVec("fatal_total", "Links stopped for good by a fatal Slack error, by app, transport and code.", "app", "transport", "code"),
		events:     counterVec("events_total", "Events dispatched to subscribers (after dedupe), by kind and type.", "kind", "type"),
		eventTypes: newVocabulary(maxEventTypes),
		ackLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "ack_latency_seconds",
			Help:    "Time from reading a Socket Mode envelope to writing its ack.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}),
		handlers: newHandlerMetrics(ns),
		webhooks: counterVec("webhook_sends_total",
			"Queued webhook and response_url messages by outcome (delivered, a known Slack code, http_4xx, http_5xx, stopped, error).", "outcome"),
	}
	counter := func(name, help string, f func(switchboard.Stats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: ns, Name: name, Help: help},
			func() float64 { return float64(f(rt.Stats())) })
	}
	fleet := &fleetCollector{rt: rt,
		links: prometheus.NewDesc(ns+"_links", "Links in each state, by app and transport.",
			[]string{"app", "transport", "state"}, nil),
		depth: prometheus.NewDesc(ns+"_subscriber_queue_depth", "Events waiting in a subscription's queue.",
			[]string{"subscription"}, nil),
		dropped: prometheus.NewDesc(ns+"_subscriber_dropped_total", "Events a subscription's overflow policy dropped.",
			[]string{"subscription"}, nil),
	}
	cs := []prometheus.Collector{m.connects, m.reconnects, m.fatal, m.events, m.ackLatency, m.webhooks, m.handlers.duration,
		counter("events_in_total", "Envelopes and RTM events read from sockets.", func(s switchboard.Stats) int64 { return s.EventsIn }),
		counter("acks_total", "Socket Mode acks written.", func(s switchboard.Stats) int64 { return s.Acks }),
		counter("duplicates_dropped_total", "Redeliveries dropped by dedupe.", func(s switchboard.Stats) int64 { return s.Duplicates }),
		counter("dispatched_total", "Deliveries into subscriber queues.", func(s switchboard.Stats) int64 { return s.Dispatched }),
		counter("subscriber_overflow_total", "Deliveries dropped by a full subscriber queue (all subscriptions).", func(s switchboard.Stats) int64 { return s.Dropped }),
		counter("handler_panics_total", "Handler and subscriber actor panics.", func(s switchboard.Stats) int64 { return s.HandlerPanics }),
		counter("callback_panics_total", "Panics of OnAck observers and InstallationStore lookups, recovered.", func(s switchboard.Stats) int64 { return s.CallbackPanics }),
		counter("backpressure_holds_total", "Times a reader held an event back (and stopped reading its socket) because a Backpressure queue was full.", func(s switchboard.Stats) int64 { return s.Backpressured }),
		counter("malformed_frames_total", "Frames that did not decode.", func(s switchboard.Stats) int64 { return s.Malformed }),
		counter("response_timeouts_total", "Envelopes acked empty because no response came in time.", func(s switchboard.Stats) int64 { return s.ResponseTimeouts }),
		fleet,
	}
	if perLink {
		m.linkConnects = counterVec("link_connects_total", "Sessions that came up, by link (Options.PerLinkMetrics).", "link")
		m.linkReconnects = counterVec("link_reconnects_total", "Sessions that ended and will be reopened, by link and cause (Options.PerLinkMetrics).", "link", "cause")
		m.linkFatal = counterVec("link_fatal_total", "Links stopped for good, by link and code (Options.PerLinkMetrics).", "link", "code")
		fleet.linkState = prometheus.NewDesc(ns+"_link_state", "1 for the link's current state, 0 for the others (Options.PerLinkMetrics).",
			[]string{"link", "transport", "state"}, nil)
		cs = append(cs, m.linkConnects, m.linkReconnects, m.linkFatal)
	}
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, done := range cs[:i] {
				reg.Unregister(done)
			}
			return nil, fmt.Errorf("ops: register metrics: %w", err)
		}
	}
	return m, nil
}

// lifecycle counts one lifecycle event.
func (m *metrics) lifecycle(ev messages.Lifecycle) {
	switch e := ev.(type) {
	case messages.Connected:
		m.connects.WithLabelValues(e.Link.App, string(e.Link.Transport)).Inc()
		if m.perLink {
			m.linkConnects.WithLabelValues(e.Link.Name).Inc()
		}
	case messages.Reconnecting:
		cause := Cause(e.Cause)
		m.reconnects.WithLabelValues(e.Link.App, string(e.Link.Transport), cause).Inc()
		if m.perLink {
			m.linkReconnects.WithLabelValues(e.Link.Name, cause).Inc()
		}
	case messages.Fatal:
		code := Cause(e.Error)
		m.fatal.WithLabelValues(e.Link.App, string(e.Link.Transport), code).Inc()
		if m.perLink {
			m.linkFatal.WithLabelValues(e.Link.Name, code).Inc()
		}
	}
}

// event counts one event by kind and type, both bounded.
func (m *metrics) event(ev *switchboard.Event) error {
	kind := "other"
	switch ev.Kind {
	case messages.KindEventsAPI, messages.KindSlashCommand, messages.KindInteractive, messages.KindRTM:
		kind = string(ev.Kind)
	}
	m.events.WithLabelValues(kind, m.eventTypes.label(ev.Type)).Inc()
	return nil
}

// knownCodes are the Slack codes Cause names; any other code is "other".
var knownCodes = []messages.Code{messages.ErrNotAuthed, messages.ErrInvalidAuth, messages.ErrAccountInactive,
	messages.ErrTokenRevoked, messages.ErrTokenExpired, messages.ErrNotAllowedTokenType, messages.ErrTeamDisabled,
	messages.ErrUserRemoved, messages.ErrMissingScope, messages.ErrRateLimited, messages.ErrLinkDisabled,
	messages.ErrTooManyWebsockets}

// Causes returns every value Cause can return: the cause and code labels' whole vocabulary.
func Causes() []string {
	out := []string{"none", "stale", "goodbye", "replaced", "hello_timeout", "write_stalled", "dial", "read",
		"write", "rtm_error", "http", "timeout", "other"}
	for _, c := range knownCodes {
		out = append(out, string(c))
	}
	return out
}

// Cause names why a session ended, from a fixed vocabulary fit for a metric label (see Causes):
// a Slack code the runtime acts on ("ratelimited", "token_revoked", …), or "stale", "goodbye",
// "replaced", "hello_timeout", "write_stalled", "dial", "read", "write" (the socket), "rtm_error"
// (an RTM error frame), "http" (a Web API call that got no answer), "timeout", "none" for nil, and
// "other" for anything else, unknown Slack codes included.
func Cause(err error) string {
	if err == nil {
		return "none"
	}
	if c := messages.CodeOf(err); c != "" {
		for _, k := range knownCodes {
			if c == k {
				return string(c)
			}
		}
		return "other"
	}
	var (
		se *messages.SocketError
		re *messages.RTMReplyError
		ue *url.Error
	)
	switch {
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
		switch op, _, _ := strings.Cut(se.Op, " "); op { // "dial wss://host/…"
		case "dial", "read", "write":
			return op
		}
		return "other"
	case errors.As(err, &re):
		return "rtm_error"
	case errors.As(err, &ue):
		return "http"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "other"
}

// webhookCodes are the webhook codes the outcome label names; others are http_4xx or http_5xx.
var webhookCodes = []webhook.Code{webhook.ErrInvalidPayload, webhook.ErrUserNotFound, webhook.ErrNoText,
	webhook.ErrMissingTextOrAttachments, webhook.ErrTooManyAttachments, webhook.ErrActionProhibited,
	webhook.ErrInvalidToken, webhook.ErrPostingToGeneralChannelDenied, webhook.ErrTeamDisabled,
	webhook.ErrChannelNotFound, webhook.ErrNoService, webhook.ErrNoServiceID, webhook.ErrNoTeam,
	webhook.ErrNoActiveHooks, webhook.ErrExpiredURL, webhook.ErrChannelIsArchived, webhook.ErrRateLimited,
	webhook.ErrRollupError}

// webhookOutcome names a webhook result for the outcome label, from a fixed vocabulary.
func webhookOutcome(r webhook.Result) string {
	var we *webhook.Error
	switch {
	case r.Err == nil:
		return "delivered"
	case errors.Is(r.Err, webhook.ErrStopped):
		return "stopped"
	case errors.As(r.Err, &we):
		for _, c := range webhookCodes {
			if we.Code == c {
				return string(c)
			}
		}
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

// vocabulary names at most max distinct label values, each a short lower-case word; the rest are
// "other". Safe for concurrent use.
type vocabulary struct {
	mu   sync.Mutex
	max  int
	seen map[string]struct{}
}

var labelRE = regexp.MustCompile(`^[a-z0-9_./-]{1,64}$`)

func newVocabulary(max int) *vocabulary { return &vocabulary{max: max, seen: map[string]struct{}{}} }

func (v *vocabulary) label(s string) string {
	if s == "" {
		return "none"
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.seen[s]; ok {
		return s
	}
	if len(v.seen) >= v.max || !labelRE.MatchString(s) || strings.Contains(s, "xox") || strings.Contains(s, "xapp") {
		return "other"
	}
	s = strings.Clone(s) // s may share an event frame's memory, and is kept from here on
	v.seen[s] = struct{}{}
	return s
}

// fleetCollector reads link states and subscriber queues at scrape time.
type fleetCollector struct {
	rt                    *switchboard.Runtime
	links, depth, dropped *prometheus.Desc
	linkState             *prometheus.Desc // nil unless per-link metrics are on

	mu   sync.Mutex
	last []switchboard.SubscriptionStats // served when the dispatcher is busy or stopped
}

func (c *fleetCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.links
	ch <- c.depth
	ch <- c.dropped
	if c.linkState != nil {
		ch <- c.linkState
	}
}

type appTransport struct{ app, transport string }

func (c *fleetCollector) Collect(ch chan<- prometheus.Metric) {
	counts := map[appTransport]map[switchboard.State]int{}
	for _, st := range c.rt.Status() {
		k := appTransport{st.Link.App, string(st.Link.Transport)}
		if counts[k] == nil {
			counts[k] = map[switchboard.State]int{}
		}
		counts[k][st.State]++
		if c.linkState == nil {
			continue
		}
		for _, s := range linkStates {
			v := 0.0
			if st.State == s {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(c.linkState, prometheus.GaugeValue, v, st.Link.Name, string(st.Link.Transport), string(s))
		}
	}
	for k, byState := range counts {
		for _, s := range linkStates {
			ch <- prometheus.MustNewConstMetric(c.links, prometheus.GaugeValue, float64(byState[s]), k.app, k.transport, string(s))
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
