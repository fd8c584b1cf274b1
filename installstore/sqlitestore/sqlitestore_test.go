package sqlitestore_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/switchboard-go/switchboard/installstore"
	"github.com/switchboard-go/switchboard/installstore/sqlitestore"
	"github.com/switchboard-go/switchboard/installstore/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func place(t *testing.T) (storetest.Place, string) {
	path := filepath.Join(t.TempDir(), "installs.db")
	open := func(opts ...installstore.Option) (storetest.Stores, error) {
		return sqlitestore.Open(context.Background(), path, opts...)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return storetest.Place{Open: open, DB: db}, path
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Place {
		p, _ := place(t)
		return p
	})
}

// TestFileHasNoTokenInClear reads the database file and its WAL byte by byte.
func TestFileHasNoTokenInClear(t *testing.T) {
	p, path := place(t)
	key := bytes.Repeat([]byte{7}, 32)
	st, err := p.Open(installstore.WithEncryptionKey(key))
	if err != nil {
		t.Fatal(err)
	}
	inst := installstore.Installation{TeamID: "T1", TeamName: "Findable", BotToken: "xoxb-in-the-clear",
		BotRefreshToken: "xoxe-1-in-the-clear", UserID: "U1", UserToken: "xoxp-in-the-clear", UserRefreshToken: "xoxe-1-user-in-the-clear"}
	if err := st.Save(context.Background(), inst); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		var all []byte
		files, _ := filepath.Glob(path + "*") // the file, -wal, -shm
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		if !bytes.Contains(all, []byte("Findable")) {
			t.Fatalf("%s: the team name is not in %v: the test reads the wrong files", when, files)
		}
		if bytes.Contains(all, []byte("in-the-clear")) {
			t.Errorf("%s: a token is in the files in clear", when)
		}
	}
	check("open")
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	check("closed")
}

func TestFileMode(t *testing.T) {
	_, path := place(t)
	st, err := sqlitestore.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("database file mode %v, want 0600", mode)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := sqlitestore.Open(ctx, ""); err == nil {
		t.Error("Open(\"\") = nil error")
	}
	if _, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "missing", "dir", "x.db")); err == nil {
		t.Error("Open in a missing directory = nil error")
	}
}
