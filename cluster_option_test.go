package switchboard_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/cluster"
)

// Without WithCluster the runtime is a single process: no member, no cluster status. WithCluster
// without a Store fails New.
func TestWithoutCluster(t *testing.T) {
	rt, err := switchboard.New()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		rt.Stop(ctx)
	}()
	if _, ok := rt.ClusterStatus(); ok || rt.Member() != "" || rt.Owners() != nil {
		t.Error("a runtime without WithCluster reports a cluster")
	}
	if _, err := switchboard.New(switchboard.WithCluster(cluster.Config{Port: 1, HealthPort: 2, Peers: []string{"x"}})); err == nil {
		t.Error("WithCluster without a Store: New did not fail")
	}
}

// Clustered applies to keyed subscriptions only, and needs Named (every member must agree on the
// name). On a runtime without WithCluster it changes nothing: the keyed subscription runs each
// channel's events on one actor, in order, as without it.
func TestClusteredWithoutCluster(t *testing.T) {
	e := newAppEnv(t, 1)
	h := func(context.Context, *switchboard.Event) error { return nil }
	if err := e.rt.OnEvent("message", h, switchboard.Named("a"), switchboard.Clustered()); err == nil {
		t.Error("Clustered without PerTeam, PerChannel or PerThread was accepted")
	}
	if err := e.rt.OnEvent("message", h, switchboard.PerChannel(0), switchboard.Clustered()); err == nil {
		t.Error("Clustered without Named was accepted")
	}
	var got recorder
	if err := e.rt.OnMessage("", func(_ context.Context, ev *switchboard.Event) error {
		got.add(ev.Channel + " " + ev.Text())
		return nil
	}, switchboard.Named("conv"), switchboard.PerChannel(0), switchboard.Clustered()); err != nil {
		t.Fatal(err)
	}
	e.start()
	chans := e.ws[0].Channels[:2]
	for i := range 10 {
		for _, c := range chans {
			e.event(map[string]any{"channel": c.ID, "text": fmt.Sprint(i)})
		}
	}
	waitUntil(t, "20 messages", func() bool { return len(got.list()) == 20 })
	next := map[string]int{}
	for _, g := range got.list() {
		var ch string
		var n int
		fmt.Sscanf(g, "%s %d", &ch, &n)
		if n != next[ch] {
			t.Fatalf("channel %s: got message %d, want %d (handled: %v)", ch, n, next[ch], got.list())
		}
		next[ch]++
	}
	stats, err := e.rt.SubscriberStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stats {
		if s.Name == "conv/forward" {
			t.Error("a runtime without a cluster runs a forwarder")
		}
	}
}
