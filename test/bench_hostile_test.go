package test

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	switchboard "github.com/switchboard-go/switchboard"
)

// BenchmarkHostileKeys sends 100,000 events, each in a channel of its own, to a PerChannel
// subscription with the default options (10,000 live keys at most), and reports the live heap
// the subscription holds afterwards per key it has seen and per live key. Runs once (b.N = 1).
func BenchmarkHostileKeys(b *testing.B) {
	const n = 100000
	fs := newGenServer(b, func(i int) []byte {
		if i >= n {
			return nil
		}
		id := strconv.Itoa(i)
		return []byte(`{"type":"events_api","envelope_id":"e` + id + `","payload":{"type":"event_callback","team_id":"T1","event_id":"Ev` + id +
			`","event":{"type":"message","channel":"C` + id + `","user":"U1","text":"hi","ts":"1.000001"}}}`)
	})
	rt, err := switchboard.New(switchboard.WithAPIURL(fs.srv.URL + "/api/"))
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := rt.Stop(ctx); err != nil {
			b.Error(err)
		}
	}()
	var handled atomic.Int64
	if err := rt.Handle(messageEvents, func(context.Context, *switchboard.Event) error { handled.Add(1); return nil },
		switchboard.PerChannel(time.Hour), switchboard.Named("per-channel")); err != nil {
		b.Fatal(err)
	}
	heap0, _ := memNow()
	b.ResetTimer()
	start := time.Now()
	if err := rt.AddApp(context.Background(), switchboard.App{ID: "A1", Token: "xapp-1-A1-1-s"}); err != nil {
		b.Fatal(err)
	}
	waitFor(b, 5*time.Minute, "every event handled", func() bool { return handled.Load() >= n })
	elapsed := time.Since(start)
	b.StopTimer()
	heap1, _ := memNow()
	st, err := rt.SubscriberStats(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	keys := 0
	for _, s := range st {
		if s.Name == "per-channel" {
			keys = s.Keys
		}
	}
	grown := float64(heap1) - float64(heap0)
	b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
	b.ReportMetric(grown/(1<<20), "heap-MiB")
	b.ReportMetric(float64(keys), "live-keys")
	b.ReportMetric(grown/float64(max(keys, 1)), "B/live-key")
	b.Logf("%d distinct channels: %s; stats %+v", n, fmt.Sprint(rt.Stats()), st)
}
