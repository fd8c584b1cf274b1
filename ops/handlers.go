package ops

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/messages"
)

// maxSubscriptions bounds the subscription label of handler_duration_seconds: the first names
// seen keep their name, later ones count as "other".
const maxSubscriptions = 100

// handlerMetrics times the runtime's handlers: a global middleware (switchboard.Runtime.Use)
// installed by New.
type handlerMetrics struct {
	duration *prometheus.HistogramVec
	subs     *vocabulary
}

func newHandlerMetrics(ns string) *handlerMetrics {
	return &handlerMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "handler_duration_seconds",
			Help:    "Time in a handler subscription's middleware and handler per event, by subscription, kind and outcome (ok, error, panic).",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}},
			[]string{"subscription", "kind", "outcome"}),
		subs: newVocabulary(maxSubscriptions),
	}
}

// middleware observes how long the rest of the chain took, a panic included (it goes on up).
func (h *handlerMetrics) middleware(next switchboard.Handler) switchboard.Handler {
	return func(ctx context.Context, ev *switchboard.Event) error {
		sub := switchboard.SubscriptionName(ctx)
		if sub == eventsSubscription {
			return next(ctx, ev)
		}
		start, outcome := time.Now(), "panic"
		defer func() {
			h.duration.WithLabelValues(h.subs.label(sub), kindLabel(ev.Kind), outcome).Observe(time.Since(start).Seconds())
		}()
		err := next(ctx, ev)
		outcome = "ok"
		if err != nil {
			outcome = "error"
		}
		return err
	}
}

// kindLabel is an event's kind, bounded.
func kindLabel(k messages.Kind) string {
	switch k {
	case messages.KindEventsAPI, messages.KindSlashCommand, messages.KindInteractive, messages.KindRTM:
		return string(k)
	}
	return "other"
}
