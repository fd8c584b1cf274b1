package installstore

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations is the schema, version i+1 at index i. Never edit one that has shipped: add a new one.
// The statements run on SQLite and PostgreSQL alike. Times are Unix nanoseconds, 0 for none; tokens
// are stored as Save seals them.
var migrations = [][]string{
	{ // 1: installations and their users' tokens
		`CREATE TABLE installstore_installations (
				enterprise_id TEXT NOT NULL,
				team_id TEXT NOT NULL,
				app_id TEXT NOT NULL,
				enterprise_name TEXT NOT NULL,
				team_name TEXT NOT NULL,
				is_enterprise_install BOOLEAN NOT NULL,
				bot_token TEXT NOT NULL,
				bot_refresh_token TEXT NOT NULL,
				bot_token_expires_at BIGINT NOT NULL,
				bot_scopes TEXT NOT NULL,
				bot_id TEXT NOT NULL,
				bot_user_id TEXT NOT NULL,
				installer_user_id TEXT NOT NULL,
				installed_at BIGINT NOT NULL,
				PRIMARY KEY (enterprise_id, team_id))`,
		`CREATE TABLE installstore_user_tokens (
				enterprise_id TEXT NOT NULL,
				team_id TEXT NOT NULL,
				user_id TEXT NOT NULL,
				user_token TEXT NOT NULL,
				user_refresh_token TEXT NOT NULL,
				user_token_expires_at BIGINT NOT NULL,
				user_scopes TEXT NOT NULL,
				installed_at BIGINT NOT NULL,
				PRIMARY KEY (enterprise_id, team_id, user_id))`,
	},
	{ // 2: OAuth states; BotToken's lookup by team
		`CREATE TABLE installstore_oauth_states (
				state TEXT NOT NULL PRIMARY KEY,
				expires_at BIGINT NOT NULL)`,
		`CREATE INDEX installstore_oauth_states_expires_at ON installstore_oauth_states (expires_at)`,
		`CREATE INDEX installstore_installations_team_id ON installstore_installations (team_id)`,
	},
}

// migrateLock is the PostgreSQL advisory lock that serializes migrations across processes.
const migrateLock = 0x1a57a11 // "installstore"

// migrate brings the schema to the last version, in one transaction.
func migrate(ctx context.Context, db *sql.DB, d Dialect) error {
	target := len(migrations)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("installstore: migrate: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if d == PostgreSQL {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLock); err != nil {
			return fmt.Errorf("installstore: migrate: lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS installstore_schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("installstore: migrate: %w", err)
	}
	var have int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM installstore_schema_version`).Scan(&have); err != nil {
		return fmt.Errorf("installstore: migrate: schema version: %w", err)
	}
	if have > target {
		return fmt.Errorf("installstore: database schema is version %d, newer than this program's %d", have, target)
	}
	if have >= target {
		return nil
	}
	for v := have + 1; v <= target; v++ {
		for _, stmt := range migrations[v-1] {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("installstore: migration %d: %w", v, err)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM installstore_schema_version`); err != nil {
		return fmt.Errorf("installstore: migrate: %w", err)
	}
	if _, err := tx.ExecContext(ctx, rebind(d, `INSERT INTO installstore_schema_version (version) VALUES (?)`), target); err != nil {
		return fmt.Errorf("installstore: migrate: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("installstore: migrate: %w", err)
	}
	return nil
}
