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
	"time"

	"modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/switchboard-go/switchboard/installstore"
)

// sqliteBusy is SQLITE_BUSY, the primary result code of a lock another connection holds.
const sqliteBusy = 5

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
	// Switching a new file to WAL takes an exclusive lock that SQLite does not wait for: when
	// several open the same new file at once, the others see SQLITE_BUSY and try again.
	for wait := 5 * time.Millisecond; ; wait *= 2 {
		err := db.PingContext(ctx)
		if err == nil {
			break
		}
		var se *sqlite.Error
		if !errors.As(err, &se) || se.Code()&0xff != sqliteBusy || wait > time.Second {
			db.Close()
			return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			db.Close()
			return nil, fmt.Errorf("sqlitestore: open %s: %w", path, ctx.Err())
		}
	}
	return installstore.OpenSQL(ctx, db, installstore.SQLite, opts...)
}
