package test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/messages"
)

// The flood benchmark's Slack side runs in a child process (this test binary, running
// TestFloodFakeslackChild), so the heap it measures is the runtime's alone.
const floodChildEnv = "SWITCHBOARD_FLOOD_CHILD"

type floodWorld struct {
	API      string `json:"api"`
	AppID    string `json:"app_id"`
	AppToken string `json:"app_token"`
	Team     string `json:"team"`
	Channel  string `json:"channel"`
}

type floodStats struct {
	Injected int             `json:"injected"`
	Server   fakeslack.Stats `json:"server"`
}

// TestFloodFakeslackChild is the flood's server process. It prints its world as one JSON line,
// then for each line "N C" on stdin injects N messages on each of C goroutines as fast as the
// sockets take them and prints the server's stats as a JSON line once they are all written; a
// line "stats" prints the stats alone. It exits when stdin closes.
func TestFloodFakeslackChild(t *testing.T) {
	if os.Getenv(floodChildEnv) == "" {
		t.Skip("run by BenchmarkFlood")
	}
	srv, err := fakeslack.New(fakeslack.Options{Workspaces: 1, Apps: 1, TranscriptSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	app, ws := srv.Apps()[0], srv.Workspaces()[0]
	out := json.NewEncoder(os.Stdout)
	if err := out.Encode(floodWorld{API: srv.APIURL(), AppID: app.AppID, AppToken: app.AppToken, Team: ws.TeamID, Channel: ws.Channels[0].ID}); err != nil {
		t.Fatal(err)
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var n, c int
		if _, err := fmt.Sscan(in.Text(), &n, &c); err != nil {
			_ = out.Encode(floodStats{Server: srv.Stats()})
			continue
		}
		var wg sync.WaitGroup
		var injected atomic.Int64
		for i := 0; i < c; i++ {
			wg.Add(1)
			go func() { // owner: this loop; waited for below.
				defer wg.Done()
				k, _ := srv.InjectMessages(context.Background(), app.AppID, fakeslack.MessageStream{Team: ws.TeamID, Channel: ws.Channels[0].ID, TextPrefix: "flood", Count: n})
				injected.Add(int64(k))
			}()
		}
		wg.Wait()
		_ = out.Encode(floodStats{Injected: int(injected.Load()), Server: srv.Stats()})
	}
}

// BenchmarkFlood is the flood of the flow-control issue: a server that writes envelopes as fast as
// the client reads them, on 10 connections of one app, 100,000 events per connection
// (SWITCHBOARD_FLOOD_EVENTS overrides), with default options and two subscriptions: a handler
// that does nothing and one that counts. It reports events/s, the peak heap (sampled every 10 ms),
// the events acked that reached no handler (must be 0), drops (must be 0) and how long Stop took;
// it fails if anything acked was lost or Stop returned an error. Runs once (b.N = 1).
func BenchmarkFlood(b *testing.B) {
	const conns = 10
	perConn := 100000
	if s := os.Getenv("SWITCHBOARD_FLOOD_EVENTS"); s != "" {
		perConn, _ = strconv.Atoi(s)
	}
	total := int64(conns * perConn)

	cmd := exec.Command(os.Args[0], "-test.run=^TestFloodFakeslackChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), floodChildEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	}()
	lines := bufio.NewReader(stdout)
	readJSON := func(v any) {
		line, err := lines.ReadBytes('\n')
		if err != nil {
			b.Fatalf("fakeslack child: %v", err)
		}
		if err := json.Unmarshal(line, v); err != nil {
			b.Fatalf("fakeslack child said %.200s: %v", line, err)
		}
	}
	var w floodWorld
	readJSON(&w)

	rt, err := switchboard.New(switchboard.WithAPIURL(w.API))
	if err != nil {
		b.Fatal(err)
	}
	var noop, counted atomic.Int64
	if err := rt.Handle(messageEvents, func(context.Context, *switchboard.Event) error { noop.Add(1); return nil }, switchboard.Named("noop")); err != nil {
		b.Fatal(err)
	}
	if err := rt.Handle(messageEvents, func(context.Context, *switchboard.Event) error { counted.Add(1); return nil }, switchboard.Named("default")); err != nil {
		b.Fatal(err)
	}
	up := make(chan struct{}, conns)
	_ = rt.OnLifecycle(func(ev messages.Lifecycle) {
		if _, ok := ev.(messages.Connected); ok {
			up <- struct{}{}
		}
	})
	if err := rt.AddApp(context.Background(), switchboard.App{ID: w.AppID, Token: w.AppToken, Connections: conns}); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < conns; i++ {
		select {
		case <-up:
		case <-time.After(20 * time.Second):
			b.Fatal("not connected")
		}
	}

	var peak atomic.Uint64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() { // owner: BenchmarkFlood; ends when stopSampling closes.
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-stopSampling:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()

	b.ResetTimer()
	start := time.Now()
	if _, err := fmt.Fprintf(stdin, "%d %d\n", perConn, conns); err != nil {
		b.Fatal(err)
	}
	var fs floodStats
	readJSON(&fs) // every envelope written to a socket
	injected := fs.Injected
	for noop.Load() < total || counted.Load() < total {
		if time.Since(start) > 10*time.Minute {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	close(stopSampling)
	<-sampled

	stopStart := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	stopErr := rt.Stop(ctx)
	cancel()
	stopTook := time.Since(stopStart)
	_, _ = fmt.Fprintln(stdin, "stats")
	readJSON(&fs)

	st := rt.Stats()
	// Every injected event must have reached both handlers (dedupe hands each event to a handler
	// once); an acked event that reached no handler would show here.
	unhandled := total - min(noop.Load(), counted.Load())
	b.ReportMetric(float64(noop.Load())/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(unhandled), "unhandled")
	b.ReportMetric(float64(st.Dropped), "dropped")
	b.ReportMetric(stopTook.Seconds(), "stop-s")
	b.Logf("injected %d; server: acked %d, redelivered %d, unacked %d; handlers: noop %d, default %d; runtime: %+v",
		injected, fs.Server.Acked, fs.Server.Redelivered, fs.Server.Unacked, noop.Load(), counted.Load(), st)
	if noop.Load() != total || counted.Load() != total {
		b.Errorf("handled %d and %d of %d events", noop.Load(), counted.Load(), total)
	}
	if st.Dropped != 0 {
		b.Errorf("%d events dropped with default options", st.Dropped)
	}
	if stopErr != nil {
		b.Errorf("Stop: %v", stopErr)
	}
}
