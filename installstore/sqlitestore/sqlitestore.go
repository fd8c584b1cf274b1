// Package sqlitestore keeps Slack installations and OAuth states in an SQLite file, through
// modernc.org/sqlite (pure Go, no cgo): the embedded default of installstore.
//
//	st, err := sqlitestore.Open(ctx, "/var/lib/bot/installs.db", installstore.WithEncryptionKey(key))
//	defer st.Close()
//
// The file is created readable by its owner alone (0600), in WAL mode; several goroutines may use
// the store at once, and several processes may share the file (writes wait for each other up to
// 5 s). For processes on several machines use installstore/pgstore.
package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/switchboard-go/switchboard/installstore"
)

// Open opens (creating it if missing) the SQLite database at path and migrates it.
func Open(ctx context.Context, path string, opts ...installstore.Option) (*installstore.SQL, error) {
	if path == "" {
		return nil, errors.New("sqlitestore: empty path")
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600) // before SQLite creates it 0644
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	f.Close()
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate") // a transaction takes the write lock at BEGIN: no upgrade deadlocks
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	return installstore.OpenSQL(ctx, db, installstore.SQLite, opts...)
}
