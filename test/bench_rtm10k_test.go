package test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/messages"
)

// BenchmarkRTMIdleWorkspaces10k is BenchmarkRTMIdleWorkspaces with 10,000 workspaces (or
// SWITCHBOARD_RTM_BENCH_N). It is slow (about a minute on 2 cores) and opens 10,000 sockets in
// each process, so it runs only when SWITCHBOARD_BENCH_10K is set (make bench-10k).
func BenchmarkRTMIdleWorkspaces10k(b *testing.B) {
	if os.Getenv("SWITCHBOARD_BENCH_10K") == "" {
		b.Skip("set SWITCHBOARD_BENCH_10K=1 to run (make bench-10k)")
	}
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("SWITCHBOARD_RTM_BENCH_N")); err == nil && v > 0 {
		n = v
	}
	idle := 10 * time.Second
	if s := os.Getenv("SWITCHBOARD_RTM_BENCH_IDLE"); s != "" {
		if d, err := time.ParseDuration(s); err == nil {
			idle = d
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRTMBenchFakeslackChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), benchChildEnv+"="+strconv.Itoa(n))
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
	line, err := bufio.NewReaderSize(stdout, 16<<20).ReadBytes('\n')
	if err != nil {
		b.Fatalf("fakeslack child: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }() // owner: benchmark; ends when the child exits.
	var w benchWorld
	if err := json.Unmarshal(line, &w); err != nil || len(w.Workspaces) != n {
		b.Fatalf("fakeslack child said %.200s: %v", line, err)
	}

	rt, err := switchboard.New(switchboard.WithAPIURL(w.API))
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := rt.Stop(ctx); err != nil {
			b.Error(err)
		}
	}()
	var connected, failed atomic.Int64
	all := make(chan struct{})
	if err := rt.OnLifecycle(func(ev messages.Lifecycle) {
		switch ev.(type) {
		case messages.Connected:
			if connected.Add(1) == int64(n) {
				close(all)
			}
		case messages.Disconnected, messages.Fatal:
			failed.Add(1)
		}
	}, switchboard.Queue(1<<16, switchboard.DropNewest)); err != nil {
		b.Fatal(err)
	}
	heap0, rss0 := memNow()
	b.ResetTimer()
	start := time.Now()
	for _, ws := range w.Workspaces {
		if err := rt.AddWorkspace(context.Background(), ws); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-all:
	case <-time.After(10 * time.Minute):
		b.Fatalf("%d of %d connected after 10m (%d failures)", connected.Load(), n, failed.Load())
	}
	connectAll := time.Since(start)
	time.Sleep(2 * time.Second) // let the open events drain
	heap1, rss1 := memNow()
	cpu0 := cpuNow()
	t0 := time.Now()
	time.Sleep(idle)
	cpu := cpuNow() - cpu0
	wall := time.Since(t0)
	if f := failed.Load(); f != 0 {
		b.Logf("%d sessions ended (during connect or idle)", f)
	}
	b.ReportMetric(connectAll.Seconds(), "s-connect-all")
	b.ReportMetric(float64(heap1-heap0)/float64(n)/1024, "KB-heap/ws")
	b.ReportMetric(float64(rss1-rss0)/float64(n)/1024, "KB-rss/ws")
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "%cpu-idle")
	b.ReportMetric(float64(runtime.NumGoroutine()), "goroutines")
	b.Logf("%d workspaces: connect %v, heap %.1f KB/ws, rss %.1f KB/ws, idle cpu %.2f%% of a core over %v, %d goroutines, %d sessions ended",
		n, connectAll.Round(time.Millisecond), float64(heap1-heap0)/float64(n)/1024, float64(rss1-rss0)/float64(n)/1024,
		100*cpu.Seconds()/wall.Seconds(), wall.Round(time.Millisecond), runtime.NumGoroutine(), failed.Load())
}
