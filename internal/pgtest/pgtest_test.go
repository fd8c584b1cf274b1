package pgtest_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"github.com/switchboard-go/switchboard/internal/pgtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestClusterLifecycle(t *testing.T) {
	c, err := pgtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		t.Run("database", func(t *testing.T) {
			dsn := c.NewDatabase(t)
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			if _, err := conn.Exec(ctx, "CREATE TABLE t (n int)"); err != nil { // fresh: no t yet
				t.Fatal(err)
			}
			var user string
			if err := conn.QueryRow(ctx, "SELECT current_user").Scan(&user); err != nil || user != "postgres" {
				t.Fatalf("current_user = %q, %v", user, err)
			}
		})
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil { // twice is fine
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(c.Port()), time.Second)
	if err == nil {
		conn.Close()
		t.Fatal("the server still listens after Stop")
	}
}

func TestStopRemovesTheCluster(t *testing.T) {
	tmp, err := os.MkdirTemp("", "pgtest-tmpdir-") // not t.TempDir: as root, user pgtest must reach it
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", tmp)
	c, err := pgtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	entries, _ := os.ReadDir(tmp)
	if len(entries) != 1 {
		t.Fatalf("%d entries in TMPDIR while running, want the cluster's directory", len(entries))
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	entries, err = os.ReadDir(tmp)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("left behind: %v", entries)
	}
}

// TestStartSweepsDeadClusters: a cluster directory whose test process is gone is removed.
func TestStartSweepsDeadClusters(t *testing.T) {
	tmp, err := os.MkdirTemp("", "pgtest-tmpdir-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", tmp)
	dead, live := filepath.Join(tmp, "pgtest-dead"), filepath.Join(tmp, "pgtest-live")
	for dir, pid := range map[string]int{dead: 1 << 22, live: os.Getpid()} { // 1<<22: above pid_max
		if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c, err := pgtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	if _, err := os.Stat(dead); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the dead cluster's directory is still there: %v", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("the live cluster's directory went: %v", err)
	}
}
