package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/fakeslack"
)

// The cost of cluster mode on the event path: one member process on one Socket Mode connection,
// as a single process, as a (one-member) cluster, and as a cluster whose subscription is
// Clustered and PerChannel (one channel: every event through its key's grain), each handling the
// same burst of messages, in alternating rounds. Opt-in: SWITCHBOARD_CLUSTER_RATIO=1 (SWITCHBOARD_CLUSTER_RATIO_EVENTS
// sets the burst, default 30000).
func TestClusterThroughputRatio(t *testing.T) {
	if os.Getenv("SWITCHBOARD_CLUSTER_RATIO") == "" {
		t.Skip("set SWITCHBOARD_CLUSTER_RATIO=1 to measure")
	}
	n := 30000
	if v, err := strconv.Atoi(os.Getenv("SWITCHBOARD_CLUSTER_RATIO_EVENTS")); err == nil && v > 0 {
		n = v
	}
	srv, err := fakeslack.New(fakeslack.Options{Workspaces: 1, Apps: 1, TranscriptSize: -1, RateLimits: map[string]fakeslack.Limit{}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	app, ws := srv.Apps()[0], srv.Workspaces()[0]
	h := &harness{t: t, srv: srv, seen: map[string]int{}}
	dir := t.TempDir()
	run := func(clustered, keyed bool, round int) float64 {
		hp := freePort(t)
		mc := memberConfig{APIURL: srv.APIURL(), Store: filepath.Join(dir, fmt.Sprintf("c%d.db", round)), Port: freePort(t), HealthPort: hp,
			Peers: []string{"127.0.0.1:" + strconv.Itoa(hp)}, NoCluster: !clustered, Quiet: true, QuietKeyed: keyed,
			Apps: []appConfig{{ID: app.AppID, Token: app.AppToken, Connections: 1}}}
		b, _ := json.Marshal(mc)
		p := filepath.Join(dir, fmt.Sprintf("m%d.json", round))
		os.WriteFile(p, b, 0o600)
		m := &member{name: fmt.Sprintf("round%d", round), cfg: p}
		h.start(m)
		defer func() {
			m.cmd.Process.Signal(syscall.SIGTERM)
			<-m.done
		}()
		h.awaitSettled(nil, map[string]int{app.AppID: 1}, 30*time.Second, "ratio start")
		start := time.Now()
		if _, err := srv.InjectMessages(context.Background(), app.AppID, fakeslack.MessageStream{Team: ws.TeamID, Channel: ws.Channels[0].ID, TextPrefix: "r", Count: n}); err != nil {
			t.Fatal(err)
		}
		for m.n.Load() < int64(n) {
			if time.Since(start) > 2*time.Minute {
				t.Fatalf("%d of %d events after 2 minutes", m.n.Load(), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
		return float64(n) / time.Since(start).Seconds()
	}
	var single, clustered, keyed []float64
	for r := range 3 {
		single = append(single, run(false, false, 3*r))
		clustered = append(clustered, run(true, false, 3*r+1))
		keyed = append(keyed, run(true, true, 3*r+2))
	}
	slices.Sort(single)
	slices.Sort(clustered)
	slices.Sort(keyed)
	t.Logf("one connection, %d events: single process %.0f/s %v, cluster member %.0f/s %v: ratio %.2f (medians)",
		n, single[1], single, clustered[1], clustered, clustered[1]/single[1])
	t.Logf("the same through a Clustered PerChannel subscription (one channel: one key, its events one at a time through its grain): %.0f/s %v: %.2f of the cluster member's",
		keyed[1], keyed, keyed[1]/clustered[1])
}
