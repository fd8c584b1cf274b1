package test

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// The demo, as `make demo` runs it but short: it builds, plays the scene (drop, refresh, 429,
// revoked token) against the embedded stand-in, prints the summary with nothing lost, and exits 0.
func TestDemoShortScene(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the demo binary")
	}
	bin := filepath.Join(t.TempDir(), "demo")
	build := exec.Command("go", "build", "-o", bin, "../cmd/demo")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-duration", "6s", "-metrics-addr", "127.0.0.1:0", "-log-level", "warn")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("demo ran %v\nstdout:\n%s", time.Since(start).Round(time.Millisecond), stdout.String())
	if err != nil {
		t.Fatalf("demo: %v\nstderr:\n%s", err, stderr.String())
	}
	out := stdout.String()
	m := regexp.MustCompile(`summary: events in (\d+), handled (\d+), replies out (\d+), reconnects (\d+), duplicates dropped \d+, handled twice 0, lost 0\n`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no summary line with lost 0 in the output")
	}
	in, _ := strconv.Atoi(m[1])
	handled, _ := strconv.Atoi(m[2])
	replies, _ := strconv.Atoi(m[3])
	reconnects, _ := strconv.Atoi(m[4])
	if in == 0 || handled != in || replies == 0 || reconnects < 2 { // a drop, a 429 then a drop; the refresh is make-before-break
		t.Errorf("summary %q: want events, all handled, replies, and the scene's reconnects", m[0])
	}
	for _, want := range []string{"fault: drop a Socket Mode socket", "fault: Slack asks a socket to refresh",
		"fault: apps.connections.open answers 429", "fault: revoke the RTM bot token", "=fatal", "shutdown: clean"} {
		if !bytes.Contains(stdout.Bytes(), []byte(want)) {
			t.Errorf("output lacks %q", want)
		}
	}
	if bytes.Contains(stdout.Bytes(), []byte("\033[")) {
		t.Errorf("escape sequences in output to a pipe")
	}
	for _, secret := range []*regexp.Regexp{regexp.MustCompile(`xox[abpr]-[0-9A-Za-z-]{6,}`), regexp.MustCompile(`xapp-[0-9A-Za-z-]{6,}`), regexp.MustCompile(`/services/T[^/\s"]+/B[^/\s"]+/\w+`)} {
		if loc := secret.FindIndex(append(stdout.Bytes(), stderr.Bytes()...)); loc != nil {
			t.Errorf("a token or webhook URL in the demo's output")
		}
	}
}
