package test

import (
	"os"
	"strconv"
	"testing"
	"time"
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
	benchIdleWorkspaces(b, n, 10*time.Minute, false)
}
