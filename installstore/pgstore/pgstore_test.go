package pgstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for the suite's raw reads
	"go.uber.org/goleak"

	"github.com/switchboard-go/switchboard/installstore"
	"github.com/switchboard-go/switchboard/installstore/pgstore"
	"github.com/switchboard-go/switchboard/installstore/storetest"
	"github.com/switchboard-go/switchboard/internal/pgtest"
)

var cluster *pgtest.Cluster

// TestMain runs every test against one throwaway PostgreSQL server, a fresh database each.
func TestMain(m *testing.M) {
	c, err := pgtest.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cluster = c
	code := m.Run()
	if err := c.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func place(t *testing.T) storetest.Place {
	dsn := cluster.NewDatabase(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return storetest.Place{
		Open: func(opts ...installstore.Option) (storetest.Stores, error) {
			return pgstore.Open(context.Background(), dsn, opts...)
		},
		DB: db,
	}
}

func TestConformance(t *testing.T) { storetest.Run(t, place) }

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := pgstore.Open(ctx, "postgres://%zz"); err == nil {
		t.Error("Open of a bad DSN = nil error")
	}
	dsn := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/no_such_db?sslmode=disable", cluster.Port())
	if _, err := pgstore.Open(ctx, dsn); err == nil {
		t.Error("Open of a missing database = nil error")
	}
}
