package cluster

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // the "sqlite" database/sql driver

	"github.com/switchboard-go/switchboard/internal/clusterlink"
)

var _ clusterlink.Store = (*Store)(nil)

// Link kinds in the desired set.
const (
	KindRTM        = clusterlink.KindRTM        // an RTM workspace: Name is the team ID
	KindSocketMode = clusterlink.KindSocketMode // one connection slot of a Socket Mode app: Name is "<app>/<slot>"
)

// LinkSpec is one link of the desired set: what any member needs to connect it.
type LinkSpec = clusterlink.LinkSpec

// Claim says that member runs link, and whether its socket is up.
type Claim = clusterlink.Claim

// Store is the table every member reads: the desired links, who runs which, who is leaving. Its
// methods are safe for concurrent use, from several processes.
type Store struct {
	db       *sql.DB
	postgres bool
}

// OpenSQLite opens (creating it if need be) the SQLite database at path, for the members of one
// host.
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("cluster: open sqlite: %w", err)
	}
	db.SetMaxOpenConns(1)
	return newStore(ctx, db, false)
}

// OpenPostgres connects to the PostgreSQL database of dsn, for members on several hosts.
func OpenPostgres(ctx context.Context, dsn string) (*Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("cluster: open postgres: %w", err)
	}
	return newStore(ctx, db, true)
}

func newStore(ctx context.Context, db *sql.DB, postgres bool) (*Store, error) {
	s := &Store{db: db, postgres: postgres}
	for _, stmt := range []string{
		`CREATE TABLE IF NOT EXISTS switchboard_cluster_links (name TEXT PRIMARY KEY, kind TEXT NOT NULL, app TEXT NOT NULL, slot INTEGER NOT NULL, token TEXT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS switchboard_cluster_claims (link TEXT NOT NULL, member TEXT NOT NULL, connected INTEGER NOT NULL, PRIMARY KEY (link, member))`,
		`CREATE TABLE IF NOT EXISTS switchboard_cluster_leaving (member TEXT PRIMARY KEY)`,
		`CREATE TABLE IF NOT EXISTS switchboard_cluster_seen (app TEXT NOT NULL, event_id TEXT NOT NULL, member TEXT NOT NULL, at BIGINT NOT NULL, PRIMARY KEY (app, event_id))`,
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			db.Close()
			return nil, fmt.Errorf("cluster: create tables: %w", err)
		}
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// q rewrites ? placeholders as $n for PostgreSQL.
func (s *Store) q(query string) string {
	if !s.postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// PutLinks adds or replaces links in the desired set, in one transaction.
func (s *Store) PutLinks(ctx context.Context, links ...LinkSpec) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, l := range links {
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO switchboard_cluster_links (name, kind, app, slot, token) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, app = excluded.app, slot = excluded.slot, token = excluded.token`),
				l.Name, l.Kind, l.App, l.Slot, l.Token); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteLinks removes links from the desired set; their owners disconnect them.
func (s *Store) DeleteLinks(ctx context.Context, names ...string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, n := range names {
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM switchboard_cluster_links WHERE name = ?`), n); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteApp removes every slot of app from the desired set.
func (s *Store) DeleteApp(ctx context.Context, app string) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM switchboard_cluster_links WHERE kind = ? AND app = ?`), KindSocketMode, app)
	return wrap(err)
}

// Links returns the desired set.
func (s *Store) Links(ctx context.Context) ([]LinkSpec, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, kind, app, slot, token FROM switchboard_cluster_links`)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var out []LinkSpec
	for rows.Next() {
		var l LinkSpec
		if err := rows.Scan(&l.Name, &l.Kind, &l.App, &l.Slot, &l.Token); err != nil {
			return nil, wrap(err)
		}
		out = append(out, l)
	}
	return out, wrap(rows.Err())
}

// Claims returns who runs what.
func (s *Store) Claims(ctx context.Context) ([]Claim, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT link, member, connected FROM switchboard_cluster_claims`)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var out []Claim
	for rows.Next() {
		var c Claim
		var conn int
		if err := rows.Scan(&c.Link, &c.Member, &conn); err != nil {
			return nil, wrap(err)
		}
		c.Connected = conn != 0
		out = append(out, c)
	}
	return out, wrap(rows.Err())
}

// SetClaims records member's claims: set (link → connected) are upserted, release deleted.
func (s *Store) SetClaims(ctx context.Context, member string, set map[string]bool, release []string) error {
	if len(set) == 0 && len(release) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		for link, conn := range set {
			c := 0
			if conn {
				c = 1
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO switchboard_cluster_claims (link, member, connected) VALUES (?, ?, ?)
				ON CONFLICT (link, member) DO UPDATE SET connected = excluded.connected`), link, member, c); err != nil {
				return err
			}
		}
		for _, link := range release {
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM switchboard_cluster_claims WHERE link = ? AND member = ?`), link, member); err != nil {
				return err
			}
		}
		return nil
	})
}

// ForgetMember deletes every claim of member and its leaving mark: on a member's start (a
// restarted process has nothing running yet) and once it has stopped.
func (s *Store) ForgetMember(ctx context.Context, member string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM switchboard_cluster_claims WHERE member = ?`), member); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`DELETE FROM switchboard_cluster_leaving WHERE member = ?`), member)
		return err
	})
}

// SetLeaving marks member as leaving: the others take its links over.
func (s *Store) SetLeaving(ctx context.Context, member string) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO switchboard_cluster_leaving (member) VALUES (?) ON CONFLICT (member) DO NOTHING`), member)
	return wrap(err)
}

// Leaving returns the members marked leaving.
func (s *Store) Leaving(ctx context.Context) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT member FROM switchboard_cluster_leaving`)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return nil, wrap(err)
		}
		out[m] = true
	}
	return out, wrap(rows.Err())
}

// SeenEvent is an Events API event a member handled, for dedupe across members.
type SeenEvent = clusterlink.SeenEvent

// RecordSeen records that member handled events (first come, first kept), at time at (Unix
// seconds), a few hundred rows a statement.
func (s *Store) RecordSeen(ctx context.Context, member string, at int64, events ...SeenEvent) error {
	if len(events) == 0 {
		return nil
	}
	const chunk = 200
	return s.tx(ctx, func(tx *sql.Tx) error {
		for len(events) > 0 {
			n := min(chunk, len(events))
			var b strings.Builder
			b.WriteString(`INSERT INTO switchboard_cluster_seen (app, event_id, member, at) VALUES `)
			args := make([]any, 0, 4*n)
			for i, e := range events[:n] {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString("(?, ?, ?, ?)")
				args = append(args, e.App, e.EventID, member, at)
			}
			b.WriteString(` ON CONFLICT (app, event_id) DO NOTHING`)
			if _, err := tx.ExecContext(ctx, s.q(b.String()), args...); err != nil {
				return err
			}
			events = events[n:]
		}
		return nil
	})
}

// ClaimSeen records that member handles e unless a member did already, and returns the member
// that did (member itself when it is the first).
func (s *Store) ClaimSeen(ctx context.Context, member string, at int64, e SeenEvent) (string, error) {
	if err := s.RecordSeen(ctx, member, at, e); err != nil {
		return "", err
	}
	var first string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT member FROM switchboard_cluster_seen WHERE app = ? AND event_id = ?`), e.App, e.EventID).Scan(&first)
	return first, wrap(err)
}

// PruneSeen forgets the events recorded before before (Unix seconds).
func (s *Store) PruneSeen(ctx context.Context, before int64) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM switchboard_cluster_seen WHERE at < ?`), before)
	return wrap(err)
}

func (s *Store) tx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return wrap(err)
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return wrap(err)
	}
	return wrap(tx.Commit())
}

func wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("cluster: store: %w", err)
}
