// Package pgstore keeps Slack installations and OAuth states in PostgreSQL, through pgx: for
// deployments where several processes share them.
//
//	st, err := pgstore.Open(ctx, "postgres://bot@db/bot?sslmode=verify-full", installstore.WithEncryptionKey(key))
//	defer st.Close()
//
// The tables are installstore_*, in the connection's search path; processes opening at once
// migrate one after the other (an advisory lock), and consuming a state is one DELETE, so that
// only one process accepts it.
package pgstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/switchboard-go/switchboard/installstore"
)

// Open connects to the database that dsn names (a URL or key=value pairs, as pgx reads them)
// and migrates it.
func Open(ctx context.Context, dsn string, opts ...installstore.Option) (*installstore.SQL, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	db := sql.OpenDB(stdlib.GetConnector(*cfg))
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("pgstore: connect: %w", err)
	}
	return installstore.OpenSQL(ctx, db, installstore.PostgreSQL, opts...)
}
