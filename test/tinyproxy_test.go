package test

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tinyproxyInstall is what to run when tinyproxy is missing (make test runs it itself as root).
const tinyproxyInstall = "apt-get update && apt-get install -y tinyproxy"

// tinyproxy is a tinyproxy process a test started: an HTTP proxy on 127.0.0.1 that forwards
// absolute-URI requests and opens CONNECT tunnels (to any port), for Basic credentials user:pass
// only. It is stopped when the test ends.
type tinyproxy struct {
	addr string // 127.0.0.1:port
	log  string // its log file
}

// startTinyproxy starts tinyproxy in the foreground with a config in t.TempDir(), and returns once
// it accepts connections. A missing binary fails the test with the command that installs it.
func startTinyproxy(t *testing.T, user, pass string) *tinyproxy {
	t.Helper()
	bin, err := exec.LookPath("tinyproxy")
	if err != nil {
		t.Fatalf("tinyproxy is not installed (the proxy tests need Debian's): run %q, or make test as root", tinyproxyInstall)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close() // a small race with another listener; tinyproxy then fails to start and says so
	dir := t.TempDir()
	p := &tinyproxy{addr: fmt.Sprintf("127.0.0.1:%d", port), log: filepath.Join(dir, "tinyproxy.log")}
	// No ConnectPort line: CONNECT is allowed to every port (fakeslack's is random).
	conf := fmt.Sprintf(`Port %d
Listen 127.0.0.1
Timeout 30
LogFile "%s"
LogLevel Connect
MaxClients 64
Allow 127.0.0.1
BasicAuth %s %s
DisableViaHeader Yes
`, port, p.log, user, pass)
	confPath := filepath.Join(dir, "tinyproxy.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	cmd := exec.Command(bin, "-d", "-c", confPath)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start tinyproxy: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // owner: the test. Ends when tinyproxy exits; Cleanup waits.
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", p.addr, time.Second)
		if err == nil {
			_ = c.Close()
			return p
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("tinyproxy exited: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("tinyproxy not listening on %s after 10s: %v\n%s", p.addr, err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// url returns the proxy's URL carrying user and pass.
func (p *tinyproxy) url(user, pass string) *url.URL {
	return &url.URL{Scheme: "http", Host: p.addr, User: url.UserPassword(user, pass)}
}

// requests returns the request lines the proxy logged ("POST http://…/api/rtm.connect HTTP/1.1",
// "CONNECT 127.0.0.1:port HTTP/1.1"), refused ones included: tinyproxy logs a request before it
// checks its credentials.
func (p *tinyproxy) requests(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(p.log)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range requestLine.FindAllStringSubmatch(string(data), -1) {
		out = append(out, m[1])
	}
	return out
}

var requestLine = regexp.MustCompile(`Request \(file descriptor \d+\): (.*)`)

// count returns how many logged requests contain s.
func (p *tinyproxy) count(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, r := range p.requests(t) {
		if strings.Contains(r, s) {
			n++
		}
	}
	return n
}
