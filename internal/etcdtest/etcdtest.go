// Package etcdtest starts a throwaway etcd server for tests: one member with its data in a
// temporary directory, listening on free loopback ports, killed when the test ends (and with the
// test process, even when that is killed).
//
//	ep := etcdtest.Start(t) // "127.0.0.1:port", for cluster.Config.Etcd
//
// The binary is etcd on PATH (Debian's etcd-server package; internal/etcdtest/deps.sh installs
// it); when it is missing the test is skipped with the command that installs it, unless
// SWITCHBOARD_REQUIRE_ETCD is set (CI), which fails it.
package etcdtest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// InstallCommand installs etcd on Debian.
const InstallCommand = "apt-get update && apt-get install -y etcd-server"

// Start starts etcd and returns its client endpoint once it is healthy.
func Start(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("etcd")
	if err != nil {
		if os.Getenv("SWITCHBOARD_REQUIRE_ETCD") != "" {
			t.Fatalf("etcd is missing: %s", InstallCommand)
		}
		t.Skipf("etcd is missing: %s", InstallCommand)
	}
	dir := t.TempDir()
	client, peer := freePort(t), freePort(t)
	cu := "http://127.0.0.1:" + strconv.Itoa(client)
	pu := "http://127.0.0.1:" + strconv.Itoa(peer)
	cmd := exec.Command(bin, "--name", "test", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", cu, "--advertise-client-urls", cu,
		"--listen-peer-urls", pu, "--initial-advertise-peer-urls", pu,
		"--initial-cluster", "test="+pu, "--log-level", "error")
	log, err := os.Create(filepath.Join(dir, "etcd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start etcd: %v", err)
	}
	done := make(chan struct{})
	go func() { // owner: the test; ends when etcd exits
		cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		log.Close()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(cu + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return "127.0.0.1:" + strconv.Itoa(client)
			}
		}
		select {
		case <-done:
			b, _ := os.ReadFile(filepath.Join(dir, "etcd.log"))
			t.Fatalf("etcd exited: %s", b)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("etcd not healthy after 20s: %v", err)
		}
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(fmt.Errorf("etcdtest: free port: %w", err))
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
