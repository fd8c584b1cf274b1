package test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/internal/loadgen"
)

// The bare-loop comparison runs three kinds of process, each built once by the benchmark: the
// Slack side (loadgen serve), the reference clients (loadgen client) and the Switchboard client
// (loadgen-switchboard), one client process per run so each one's RSS and CPU are its own.
const (
	ratioEnv        = "SWITCHBOARD_BENCH_RATIO"      // set to run BenchmarkAgainstBareLoop
	ratioEventsEnv  = "SWITCHBOARD_RATIO_EVENTS"     // events per Socket Mode client run (default 400,000; RTM runs 3×)
	ratioRoundsEnv  = "SWITCHBOARD_RATIO_ROUNDS"     // interleaved rounds (default 3)
	ratioOnlyEnv    = "SWITCHBOARD_RATIO_ONLY"       // comma-separated workload keys to run (default all)
	ratioProfileEnv = "SWITCHBOARD_RATIO_CPUPROFILE" // a directory: CPU profiles of the Switchboard client runs
)

// ratioWorkload is one row of the comparison: a Slack-side spec and the clients run against it.
type ratioWorkload struct {
	key, name string
	spec      loadgen.Spec // PerConn is set from the event budget
	clients   []string     // the first is the baseline
}

var socketModeClients = []string{"bare", "switchboard", "ceiling", "ceiling-coalesced"}

func ratioWorkloads() []ratioWorkload {
	rtm := []string{"bare-rtm", "switchboard"}
	return []ratioWorkload{
		{"sm1-w100", "Socket Mode, 1 connection, ≤100 unacked", loadgen.Spec{Mode: loadgen.SocketMode, Window: 100}, socketModeClients},
		{"sm1-unbounded", "Socket Mode, 1 connection, unbounded", loadgen.Spec{Mode: loadgen.SocketMode}, socketModeClients},
		{"sm8apps-w100", "Socket Mode, 8 apps × 1 connection, ≤100 unacked each", loadgen.Spec{Mode: loadgen.SocketMode, Tokens: 8, Window: 100}, socketModeClients},
		{"sm8conns-w100", "Socket Mode, 1 app × 8 connections, ≤100 unacked each", loadgen.Spec{Mode: loadgen.SocketMode, Conns: 8, Window: 100}, socketModeClients},
		{"rtm1", "RTM, 1 workspace", loadgen.Spec{Mode: loadgen.RTM}, rtm},
		{"rtm100", "RTM, 100 workspaces", loadgen.Spec{Mode: loadgen.RTM, Tokens: 100}, rtm},
	}
}

// ratioRun is one client run: what the Slack side and the client process measured.
type ratioRun struct {
	res  loadgen.Result
	rep  loadgen.Report
	load string // /proc/loadavg before the run
}

// perSecond is the run's throughput: acked envelopes per second on Socket Mode (measured by the
// Slack side, first write → last ack), messages read per second on RTM (measured by the client,
// first message → last).
func (r ratioRun) perSecond(mode loadgen.Mode) float64 {
	if mode == loadgen.RTM {
		return float64(r.rep.Handled) / r.rep.Seconds
	}
	return r.res.PerSecond
}

// BenchmarkAgainstBareLoop measures what users see: Switchboard (default options, one counting
// handler) as a ratio to a bare gorilla + encoding/json loop, and to a no-decode ceiling (one
// write per ack, and with its acks coalesced into one write while more are waiting), each in
// its own process against a Slack side in another, on the workloads of ratioWorkloads. Each
// workload runs SWITCHBOARD_RATIO_ROUNDS interleaved rounds (the clients' order rotates each
// round); the table gives medians, ratios are the median of the per-round ratios. Runs once
// (b.N = 1), only with SWITCHBOARD_BENCH_RATIO set (make bench-ratio).
func BenchmarkAgainstBareLoop(b *testing.B) {
	if os.Getenv(ratioEnv) == "" {
		b.Skip("set " + ratioEnv + "=1 (make bench-ratio)")
	}
	events := envInt(b, ratioEventsEnv, 400000)
	rounds := envInt(b, ratioRoundsEnv, 3)
	profiles := os.Getenv(ratioProfileEnv)
	var only []string
	if s := os.Getenv(ratioOnlyEnv); s != "" {
		only = strings.Split(s, ",")
	}

	dir := b.TempDir()
	gen, sb := filepath.Join(dir, "loadgen"), filepath.Join(dir, "loadgen-switchboard")
	for bin, pkg := range map[string]string{gen: "./internal/loadgen/cmd/loadgen", sb: "./internal/loadgen/cmd/loadgen-switchboard"} {
		cmd := exec.Command(goTool(), "build", "-o", bin, pkg)
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	sender := startSender(b, gen)
	defer sender.stop()

	b.ResetTimer()
	var table, ratios strings.Builder
	table.WriteString("| workload | client | events/s | ack p50 | ack p99 | peak RSS | CPU / event | Slack side's CPU / event | load before each round |\n|---|---|---|---|---|---|---|---|---|\n")
	ratios.WriteString("| workload | Switchboard ÷ bare | Switchboard ÷ ceiling | Switchboard ÷ ceiling, acks coalesced | ack p99, Switchboard ÷ bare | peak RSS, Switchboard ÷ bare |\n|---|---|---|---|---|---|\n")
	for _, wl := range ratioWorkloads() {
		if only != nil && !slices.Contains(only, wl.key) {
			continue
		}
		spec := wl.spec
		sockets := max(spec.Tokens, 1) * max(spec.Conns, 1)
		budget := events
		if spec.Mode == loadgen.RTM {
			budget *= 3 // RTM frames are half the size and unacked: a run of the same length needs more
		}
		spec.PerConn = max(budget/sockets, 1)
		runs := map[string][]ratioRun{}
		var loads []string
		for r := range rounds {
			loads = append(loads, loadAvg())
			for i := range wl.clients {
				client := wl.clients[(i+r)%len(wl.clients)] // rotate: no client always runs first
				prof := ""
				if profiles != "" && client == "switchboard" {
					prof = filepath.Join(profiles, fmt.Sprintf("%s-r%d.prof", wl.key, r+1))
				}
				run := sender.run(b, spec, client, gen, sb, prof)
				runs[client] = append(runs[client], run)
				b.Logf("%s r%d %s: %.0f events/s, ack p50 %.0f µs p99 %.0f µs, rss %d KiB, cpu %.2f s (Slack side %.2f s), %d auth.test, load %s",
					wl.key, r+1, client, run.perSecond(spec.Mode), run.res.AckP50, run.res.AckP99, run.rep.PeakRSS, run.rep.CPU, run.res.CPU, run.res.AuthTests, run.load)
			}
		}
		for _, client := range wl.clients {
			rs := runs[client]
			col := func(f func(ratioRun) float64) float64 { return median(rs, f) }
			ack := func(q float64) string {
				if spec.Mode == loadgen.RTM {
					return "—"
				}
				return fmtMicros(q)
			}
			fmt.Fprintf(&table, "| %s | %s | %s | %s | %s | %.1f MiB | %.1f µs | %.1f µs | %s |\n", wl.name, client,
				fmtInt(col(func(r ratioRun) float64 { return r.perSecond(spec.Mode) })),
				ack(col(func(r ratioRun) float64 { return r.res.AckP50 })), ack(col(func(r ratioRun) float64 { return r.res.AckP99 })),
				col(func(r ratioRun) float64 { return float64(r.rep.PeakRSS) / 1024 }),
				col(func(r ratioRun) float64 { return r.rep.CPU / float64(r.rep.Handled) * 1e6 }),
				col(func(r ratioRun) float64 { return r.res.CPU / float64(r.rep.Handled) * 1e6 }),
				strings.Join(loads, "; "))
		}
		base := runs[wl.clients[0]]
		sbr := runs["switchboard"]
		ratio := func(other []ratioRun, f func(ratioRun) float64) (float64, string) {
			var xs []float64
			for i := range sbr {
				xs = append(xs, f(sbr[i])/f(other[i]))
			}
			slices.Sort(xs)
			return xs[len(xs)/2], fmt.Sprintf("%.2f× [%.2f–%.2f]", xs[len(xs)/2], xs[0], xs[len(xs)-1])
		}
		tput := func(r ratioRun) float64 { return r.perSecond(spec.Mode) }
		xBare, sBare := ratio(base, tput)
		b.ReportMetric(xBare, "x-bare-"+wl.key)
		sCeil, sCoal, sP99 := "—", "—", "—"
		if slices.Contains(wl.clients, "ceiling") {
			var x float64
			x, sCeil = ratio(runs["ceiling"], tput)
			b.ReportMetric(x, "x-ceiling-"+wl.key)
			x, sCoal = ratio(runs["ceiling-coalesced"], tput)
			b.ReportMetric(x, "x-ceiling-coalesced-"+wl.key)
			_, sP99 = ratio(base, func(r ratioRun) float64 { return r.res.AckP99 })
		}
		_, sRSS := ratio(base, func(r ratioRun) float64 { return float64(r.rep.PeakRSS) })
		fmt.Fprintf(&ratios, "| %s | %s | %s | %s | %s | %s |\n", wl.name, sBare, sCeil, sCoal, sP99, sRSS)
	}
	b.StopTimer()
	// The table goes to stdout: the testing package keeps only the first lines of a benchmark's log.
	fmt.Printf("\nAgainst a bare socket loop: %d events per Socket Mode client run (RTM %d), %d interleaved rounds; medians\n\n%s\nRatios: median of the per-round ratios [min–max]\n\n%s\n",
		events, 3*events, rounds, table.String(), ratios.String())
}

// ratioSender is the Slack-side process.
type ratioSender struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

func startSender(b *testing.B, bin string) *ratioSender {
	cmd := exec.Command(bin, "serve")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	return &ratioSender{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
}

func (s *ratioSender) stop() {
	_ = s.stdin.Close()
	_ = s.cmd.Wait()
}

// run starts a run of spec on the Slack side, runs client against it in a process of its own,
// and returns both sides' measurements once every event was acked (or read) and handled.
func (s *ratioSender) run(b *testing.B, spec loadgen.Spec, client, gen, sb, prof string) ratioRun {
	b.Helper()
	out := ratioRun{load: loadAvg()}
	line, err := json.Marshal(spec)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.stdin.Write(append(line, '\n')); err != nil {
		b.Fatal(err)
	}
	worldLine, err := s.out.ReadBytes('\n')
	if err != nil {
		b.Fatalf("loadgen serve: %v", err)
	}
	var w loadgen.World
	if err := json.Unmarshal(worldLine, &w); err != nil || w.API == "" {
		b.Fatalf("loadgen serve said %.300s: %v", worldLine, err)
	}
	args := []string{"client", "-client", client, "-world", string(worldLine)}
	bin := gen
	if client == "switchboard" {
		bin, args = sb, []string{"-world", string(worldLine)}
	}
	if prof != "" {
		args = append(args, "-cpuprofile", prof)
	}
	cmd := exec.Command(bin, args...)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	answered := make(chan loadgen.Answer, 1)
	go func() { // owner: run. Ends with the Slack side's answer line (or its failure).
		var a loadgen.Answer
		line, err := s.out.ReadBytes('\n')
		if err == nil {
			err = json.Unmarshal(line, &a)
		}
		if err != nil {
			a.Error = fmt.Sprintf("loadgen serve: %v (%.300s)", err, line)
		}
		answered <- a
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // owner: run. Ends when the client process exits.
	var a loadgen.Answer
	select {
	case a = <-answered:
		_ = stdin.Close() // the client now waits for the last events, reports and exits
		select {
		case <-exited:
		case <-time.After(90 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	case err := <-exited:
		b.Fatalf("%s exited before the run ended (%v): %s", client, err, stdout.Bytes())
	}
	if a.Error != "" {
		b.Fatalf("%s: %s; client: %s", client, a.Error, stdout.Bytes())
	}
	if err := json.Unmarshal(stdout.Bytes(), &out.rep); err != nil {
		b.Fatalf("%s said %.300s: %v", client, stdout.Bytes(), err)
	}
	if out.rep.Error != "" || out.rep.Handled != int64(w.Total) {
		b.Fatalf("%s: handled %d of %d: %s", client, out.rep.Handled, w.Total, out.rep.Error)
	}
	if a.Result.Duplicates != 0 || a.Result.Unknown != 0 {
		b.Fatalf("%s: %d duplicate and %d unknown acks", client, a.Result.Duplicates, a.Result.Unknown)
	}
	out.res = a.Result
	return out
}

func median(rs []ratioRun, f func(ratioRun) float64) float64 {
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = f(r)
	}
	slices.Sort(xs)
	return xs[len(xs)/2]
}

func envInt(b *testing.B, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

// goTool is the go command that is building this test, else the one on PATH.
func goTool() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// loadAvg is the 1-minute load average, as uptime prints it.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(data))[0]
}

func fmtInt(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func fmtMicros(us float64) string {
	if us >= 1000 {
		return fmt.Sprintf("%.2f ms", us/1000)
	}
	return fmt.Sprintf("%.0f µs", us)
}
