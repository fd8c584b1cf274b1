package conformance_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/switchboard-go/switchboard/fakeslack"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// scriptTimeout bounds each node client: the suite must stay within CI's budget.
const scriptTimeout = 20 * time.Second

// report is one JSON line a node script wrote on stdout.
type report map[string]any

func (r report) str(k string) string {
	s, _ := r[k].(string)
	return s
}

// node is a running conformance script (node/<name>.js) and what it reported.
type node struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan report
	stderr *lockedBuffer
	done   chan struct{} // closed when the process has exited and its output is read
	err    error         // the process's exit, once done is closed
}

// lockedBuffer collects a child's stderr for the failure message.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// requireNode fails the test with what to run when node or the pinned packages are missing.
func requireNode(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node (>= 20) is needed for the conformance suites: %v", err)
	}
	if _, err := os.Stat(filepath.Join("node_modules", "@slack", "bolt", "package.json")); err != nil {
		t.Fatalf("the Slack SDKs are not installed: run `npm ci --prefix conformance` from the repository root (make test does it)")
	}
}

// startNode runs node/<script>.js with env; the process is killed, and waited for, when the test
// ends or after scriptTimeout. With CONFORMANCE_TRACE set, each report is also printed to stderr
// with the time it was read (the reports carry node's own time as "t").
func startNode(t *testing.T, script string, env map[string]string) *node {
	t.Helper()
	requireNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	cmd := exec.CommandContext(ctx, "node", filepath.Join("node", script+".js"))
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.WaitDelay = 2 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	n := &node{t: t, cmd: cmd, stdin: stdin, lines: make(chan report, 4096), stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stderr = n.stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start node %s: %v", script, err)
	}
	go func() { // owner: startNode. Ends at the child's stdout EOF (its exit or kill); the cleanup waits on done.
		defer close(n.done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<16), 1<<22)
		for sc.Scan() {
			var r report
			if json.Unmarshal(sc.Bytes(), &r) != nil {
				continue
			}
			if os.Getenv("CONFORMANCE_TRACE") != "" {
				fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().Format("15:04:05.000"), sc.Text())
			}
			n.lines <- r
		}
		n.err = cmd.Wait()
		close(n.lines)
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		select {
		case <-n.done:
		case <-time.After(3 * time.Second):
			cancel() // kills the child
			<-n.done
		}
		cancel()
		if t.Failed() {
			t.Logf("node %s stderr (last 8 KiB):\n%s", script, tail(n.stderr.String(), 8<<10))
		}
	})
	return n
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// send writes one command line to the script.
func (n *node) send(cmd map[string]any) {
	n.t.Helper()
	data, _ := json.Marshal(cmd)
	if _, err := n.stdin.Write(append(data, '\n')); err != nil {
		n.t.Fatalf("send %v: %v", cmd, err)
	}
}

// await returns the next report for which match holds, skipping the others (each passed to seen,
// if not nil). It fails on a "fatal" report, on the script's exit, or after timeout.
func (n *node) await(timeout time.Duration, what string, match func(report) bool, seen func(report)) report {
	n.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case r, ok := <-n.lines:
			if !ok {
				n.t.Fatalf("node exited (%v) while waiting for %s", n.err, what)
			}
			if r.str("ev") == "fatal" {
				n.t.Fatalf("node failed while waiting for %s: %s", what, r.str("error"))
			}
			if match(r) {
				return r
			}
			if seen != nil {
				seen(r)
			}
		case <-deadline.C:
			n.t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
	}
}

// awaitEv waits for a report with ev set to ev.
func (n *node) awaitEv(timeout time.Duration, ev string) report {
	n.t.Helper()
	return n.await(timeout, fmt.Sprintf("%q", ev), func(r report) bool { return r.str("ev") == ev }, nil)
}

// exitOK drains the script's reports until it exits, failing unless it exited 0.
func (n *node) exitOK(timeout time.Duration) []report {
	n.t.Helper()
	var rest []report
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case r, ok := <-n.lines:
			if !ok {
				if n.err != nil {
					n.t.Fatalf("node exited: %v", n.err)
				}
				return rest
			}
			if r.str("ev") == "fatal" {
				n.t.Fatalf("node failed: %s", r.str("error"))
			}
			rest = append(rest, r)
		case <-deadline.C:
			n.t.Fatalf("node did not exit within %v", timeout)
		}
	}
}

// startServer runs a fakeslack server for one test.
func startServer(t *testing.T, o fakeslack.Options) *fakeslack.Server {
	t.Helper()
	srv, err := fakeslack.New(o)
	if err != nil {
		t.Fatalf("fakeslack.New: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// waitFor polls cond every 10 ms until it holds, failing after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// oneConn returns the ID of subject's only open socket, waiting for it.
func oneConn(t *testing.T, srv *fakeslack.Server, subject string) string {
	t.Helper()
	var id string
	waitFor(t, 5*time.Second, "one open socket of "+subject, func() bool {
		cs := srv.Connections(subject)
		if len(cs) == 1 {
			id = cs[0].ID
		}
		return len(cs) == 1
	})
	return id
}

// transcriptHas reports whether the transcript holds an entry for which keep is true.
func transcriptHas(srv *fakeslack.Server, keep func(fakeslack.Entry) bool) bool {
	return len(srv.Transcript().Entries(keep)) > 0
}
