package test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/messages"
)

// The benchmark runs fakeslack in a child process (this test binary, running
// TestRTMBenchFakeslackChild) so that the heap, RSS and CPU it measures are the runtime's alone.
const benchChildEnv = "SWITCHBOARD_RTM_BENCH_CHILD"

type benchWorld struct {
	API        string                  `json:"api"`
	Workspaces []switchboard.Workspace `json:"workspaces"`
}

// TestRTMBenchFakeslackChild is the benchmark's server process: it serves N workspaces, prints
// their API URL and tokens as one JSON line, and exits when its stdin closes.
func TestRTMBenchFakeslackChild(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv(benchChildEnv))
	if n <= 0 {
		t.Skip("run by BenchmarkRTMIdleWorkspaces")
	}
	srv, err := fakeslack.New(fakeslack.Options{Workspaces: n, Apps: -1, UsersPerWorkspace: 2, ChannelsPerWorkspace: 1, TranscriptSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	w := benchWorld{API: srv.APIURL()}
	for _, ws := range srv.Workspaces() {
		w.Workspaces = append(w.Workspaces, switchboard.Workspace{Team: ws.TeamID, Token: ws.ClassicBotToken})
	}
	if err := json.NewEncoder(os.Stdout).Encode(w); err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// BenchmarkRTMIdleWorkspaces connects 1,000 RTM workspaces in one runtime and reports the time to
// connect them all, the heap and RSS each idle workspace costs, and the CPU the idle fleet uses
// with its keepalives (default 10s ping interval) over a 10s window (SWITCHBOARD_RTM_BENCH_IDLE
// overrides it). ns/op is the whole run; it runs once (b.N = 1).
func BenchmarkRTMIdleWorkspaces(b *testing.B) { benchIdleWorkspaces(b, 1000, 2*time.Minute, true) }

// benchIdleWorkspaces runs the idle-fleet benchmark for n workspaces, failing if they are not all
// connected within connectWithin; strict also fails on any session that ends while idle.
func benchIdleWorkspaces(b *testing.B, n int, connectWithin time.Duration, strict bool) {
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
	var opens atomic.Int64
	if err := rt.Handle(switchboard.Filter{Kinds: []messages.Kind{messages.KindRTM}, Types: []string{"open"}},
		func(context.Context, *switchboard.Event) error { opens.Add(1); return nil }, switchboard.Named("opens")); err != nil {
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
	case <-time.After(connectWithin):
		b.Fatalf("%d of %d connected after %v (%d failures)", connected.Load(), n, connectWithin, failed.Load())
	}
	connectAll := time.Since(start)
	for deadline := time.Now().Add(connectWithin); opens.Load() < int64(n); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d open events handled", opens.Load(), n)
		}
	}
	heap1, rss1 := memNow()
	cpu0 := cpuNow()
	t0 := time.Now()
	time.Sleep(idle) // what is measured: the fleet idling
	cpu := cpuNow() - cpu0
	wall := time.Since(t0)
	if f := failed.Load(); f != 0 {
		if strict {
			b.Errorf("%d sessions ended while idle", f)
		} else {
			b.Logf("%d sessions ended (during connect or idle)", f)
		}
	}
	b.ReportMetric(connectAll.Seconds(), fmt.Sprintf("s-connect-%d", n))
	b.ReportMetric(float64(heap1-heap0)/float64(n)/1024, "KB-heap/ws")
	b.ReportMetric(float64(rss1-rss0)/float64(n)/1024, "KB-rss/ws")
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "%cpu-idle")
	b.ReportMetric(float64(runtime.NumGoroutine()), "goroutines")
	b.Logf("%d workspaces: connect %v, heap %.1f KB/ws, rss %.1f KB/ws, idle cpu %.2f%% of a core over %v, %d goroutines, %d sessions ended",
		n, connectAll.Round(time.Millisecond), float64(heap1-heap0)/float64(n)/1024, float64(rss1-rss0)/float64(n)/1024,
		100*cpu.Seconds()/wall.Seconds(), wall.Round(time.Millisecond), runtime.NumGoroutine(), failed.Load())
}

// memNow returns the live heap after a GC, and the process's resident set, in bytes.
func memNow() (heap, rss uint64) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap = ms.HeapAlloc + ms.StackInuse
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return heap, 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			rss = kb * 1024
		}
	}
	return heap, rss
}

// cpuNow returns the user and system CPU time the process has used.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
