// Package pgtest starts a throwaway PostgreSQL server for tests: a cluster made by initdb in a
// temporary directory, listening on a free loopback port, removed when it stops.
//
//	func TestMain(m *testing.M) {
//		c, err := pgtest.Start()
//		if err != nil { fmt.Fprintln(os.Stderr, err); os.Exit(1) }
//		code := m.Run()
//		c.Stop()
//		os.Exit(code)
//	}
//
// and in a test, c.NewDatabase(t) gives the DSN of a fresh database, dropped after the test.
//
// The binaries are found on PATH or under /usr/lib/postgresql/<version>/bin (Debian's postgresql
// package); when they are missing Start fails with the command that installs them. initdb and
// postgres refuse to run as root, so as root the server runs as the system user pgtest, created
// if missing. The server is the test process's child and dies with it, even when the test binary
// is killed; the next Start removes what such a cluster left in the temporary directory.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// InstallCommand installs PostgreSQL on Debian; Start's error names it when PostgreSQL is missing.
const InstallCommand = "apt-get update && apt-get install -y postgresql"

// User is the system user the server runs as when the tests run as root.
const User = "pgtest"

// Cluster is a running throwaway server. Stop it (TestMain, after m.Run).
type Cluster struct {
	base string // temporary directory: data/, server.log, owner.pid
	port int
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd exited
	dbs  atomic.Int64

	stopOnce sync.Once
	stopErr  error
}

// Start makes and starts a cluster; it returns once the server accepts connections.
func Start() (*Cluster, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	sweep()
	base, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(base, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(base)
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if cred != nil {
		if err := os.Chown(base, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(base)
			return nil, fmt.Errorf("pgtest: %w", err)
		}
	}
	data := filepath.Join(base, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
		"--encoding=UTF8", "--no-locale", "--no-sync", "--no-instructions")
	initdb.Dir = base
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(base)
		return nil, fmt.Errorf("pgtest: initdb in %s (as root, user %s must reach it): %w\n%s", base, User, err, out)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // another process may take the free port first
		c := &Cluster{base: base}
		if lastErr = c.start(bin, data, cred); lastErr == nil {
			return c, nil
		}
	}
	os.RemoveAll(base)
	return nil, lastErr
}

// start runs postgres on a free port and waits until it accepts connections.
func (c *Cluster) start(bin, data string, cred *syscall.Credential) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	c.port = port
	logPath := filepath.Join(c.base, "server.log")
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer log.Close()
	c.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=100", "-c", "shared_buffers=16MB")
	c.cmd.Dir = c.base
	c.cmd.Stdout, c.cmd.Stderr = log, log
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		return fmt.Errorf("pgtest: postgres: %w", err)
	}
	c.done = make(chan struct{})
	go func() { // owner: Cluster. Ends when postgres exits; Stop waits on done.
		c.cmd.Wait() //nolint:errcheck // an exit status of a stopped server says nothing
		close(c.done)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, c.dsn("postgres"))
		if err == nil {
			err = conn.Close(ctx)
			cancel()
			return err
		}
		cancel()
		select {
		case <-c.done:
			out, _ := os.ReadFile(logPath)
			return fmt.Errorf("pgtest: postgres exited on port %d:\n%s", port, out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.kill()
			out, _ := os.ReadFile(logPath)
			return fmt.Errorf("pgtest: postgres not ready after 30s: %w\n%s", err, out)
		}
	}
}

// Stop shuts the server down at once (an immediate shutdown: nothing of it is kept) and removes
// its directory. It is safe to call twice.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		c.cmd.Process.Signal(syscall.SIGQUIT) //nolint:errcheck // an exited server is stopped already
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			c.kill()
		}
		c.stopErr = os.RemoveAll(c.base)
	})
	return c.stopErr
}

func (c *Cluster) kill() {
	c.cmd.Process.Kill() //nolint:errcheck // already gone is fine
	<-c.done
}

// Port is the loopback port the server listens on.
func (c *Cluster) Port() int { return c.port }

// DSN is the URL of database name, as the superuser postgres, without a password.
func (c *Cluster) dsn(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, name)
}

// NewDatabase creates an empty database for the test and returns its DSN; the database is dropped
// when the test ends (after the test's later cleanups, which should close its connections).
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("test_%d", c.dbs.Add(1))
	if err := c.admin(fmt.Sprintf("CREATE DATABASE %s", name)); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		if err := c.admin(fmt.Sprintf("DROP DATABASE %s WITH (FORCE)", name)); err != nil {
			t.Errorf("pgtest: drop database: %v", err)
		}
	})
	return c.dsn(name)
}

func (c *Cluster) admin(stmt string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.dsn("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, stmt)
	return err
}

// ownerFile in a cluster's directory holds the PID of the test process that made it.
const ownerFile = "owner.pid"

// sweep removes the directories of clusters whose test process died without stopping them (killed
// by a timeout, say; their servers died with them).
func sweep() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "pgtest-*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // not a cluster's, or one being made
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(dir)
		}
	}
}

// findBin is the directory of initdb and postgres: PATH's, else the newest Debian version's.
func findBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(dirs) == 0 {
		return "", fmt.Errorf("pgtest: PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql/*/bin); install it with: %s", InstallCommand)
	}
	version := func(p string) int {
		n, _ := strconv.Atoi(strings.Split(filepath.Base(filepath.Dir(filepath.Dir(p))), ".")[0])
		return n
	}
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	return filepath.Dir(dirs[0]), nil
}

// credential is who the server runs as: nil (the test's own user) unless the tests run as root,
// then User, created as a system user if missing.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(User)
	if err != nil {
		var unknown user.UnknownUserError
		if !errors.As(err, &unknown) {
			return nil, fmt.Errorf("pgtest: look up user %s: %w", User, err)
		}
		out, addErr := exec.Command("useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
			"--shell", "/usr/sbin/nologin", User).CombinedOutput()
		if u, err = user.Lookup(User); err != nil { // another test process may have added it meanwhile
			return nil, fmt.Errorf("pgtest: add user %s to run PostgreSQL as (it refuses root): %v %s", User, addErr, out)
		}
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgtest: user %s: %w", User, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgtest: user %s: %w", User, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
