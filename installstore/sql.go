package installstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Dialect is the SQL database an SQL store speaks to.
type Dialect int

// The dialects.
const (
	SQLite Dialect = iota + 1
	PostgreSQL
)

func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case PostgreSQL:
		return "postgresql"
	}
	return "dialect(" + strconv.Itoa(int(d)) + ")"
}

// SQL is a Store and StateStore in an SQL database (tables installstore_*). sqlitestore.Open and
// pgstore.Open make one; OpenSQL takes a database opened some other way.
type SQL struct {
	db      *sql.DB
	dialect Dialect
	cfg     *config
	q       queries

	closeOnce sync.Once
	closeErr  error
}

var (
	_ Store      = (*SQL)(nil)
	_ StateStore = (*SQL)(nil)
)

// OpenSQL migrates db to this package's schema and returns a store on it, which owns db from then
// on (Close closes it, also when OpenSQL fails).
func OpenSQL(ctx context.Context, db *sql.DB, d Dialect, opts ...Option) (*SQL, error) {
	if d != SQLite && d != PostgreSQL {
		db.Close()
		return nil, fmt.Errorf("installstore: unknown %v", d)
	}
	cfg, err := newConfig(opts)
	if err != nil {
		db.Close()
		return nil, err
	}
	if err := migrate(ctx, db, d); err != nil {
		db.Close()
		return nil, err
	}
	return &SQL{db: db, dialect: d, cfg: cfg, q: newQueries(d)}, nil
}

// Close closes the database; it is safe to call twice.
func (s *SQL) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.db.Close() })
	return s.closeErr
}

const (
	workspaceCols = `enterprise_id, team_id, app_id, enterprise_name, team_name, is_enterprise_install,
		bot_token, bot_refresh_token, bot_token_expires_at, bot_scopes, bot_id, bot_user_id,
		installer_user_id, installed_at`
	userCols = `enterprise_id, team_id, user_id, user_token, user_refresh_token, user_token_expires_at,
		user_scopes, installed_at`
)

// queries are the statements, in the dialect's placeholders.
type queries struct {
	saveWorkspace, saveUser                  string
	findWorkspace, findUser                  string
	deleteWorkspace, deleteUsers, deleteUser string
	expiringBots, expiringUsers              string
	botToken                                 string
	issueState, sweepStates, consumeState    string
}

// keepBot keeps a stored bot column when the new row has no bot token.
func keepBot(col string) string {
	return col + ` = CASE WHEN excluded.bot_token = '' THEN installstore_installations.` + col + ` ELSE excluded.` + col + ` END`
}

func newQueries(d Dialect) queries {
	bot := []string{"bot_token", "bot_refresh_token", "bot_token_expires_at", "bot_scopes", "bot_id", "bot_user_id"}
	set := []string{
		"app_id = excluded.app_id", "enterprise_name = excluded.enterprise_name", "team_name = excluded.team_name",
		"is_enterprise_install = excluded.is_enterprise_install",
		`installer_user_id = CASE WHEN excluded.installer_user_id = '' THEN installstore_installations.installer_user_id ELSE excluded.installer_user_id END`,
		"installed_at = excluded.installed_at",
	}
	for _, c := range bot {
		set = append(set, keepBot(c))
	}
	prefixed := func(p, cols string) string {
		fs := strings.Split(cols, ",")
		for i, f := range fs {
			fs[i] = p + "." + strings.TrimSpace(f)
		}
		return strings.Join(fs, ", ")
	}
	q := queries{
		saveWorkspace: `INSERT INTO installstore_installations (` + workspaceCols + `)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (enterprise_id, team_id) DO UPDATE SET ` + strings.Join(set, ", "),
		saveUser: `INSERT INTO installstore_user_tokens (` + userCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (enterprise_id, team_id, user_id) DO UPDATE SET user_token = excluded.user_token,
			user_refresh_token = excluded.user_refresh_token, user_token_expires_at = excluded.user_token_expires_at,
			user_scopes = excluded.user_scopes, installed_at = excluded.installed_at`,
		findWorkspace:   `SELECT ` + workspaceCols + ` FROM installstore_installations WHERE enterprise_id = ? AND team_id = ?`,
		findUser:        `SELECT ` + userCols + ` FROM installstore_user_tokens WHERE enterprise_id = ? AND team_id = ? AND user_id = ?`,
		deleteWorkspace: `DELETE FROM installstore_installations WHERE enterprise_id = ? AND team_id = ?`,
		deleteUsers:     `DELETE FROM installstore_user_tokens WHERE enterprise_id = ? AND team_id = ?`,
		deleteUser:      `DELETE FROM installstore_user_tokens WHERE enterprise_id = ? AND team_id = ? AND user_id = ?`,
		expiringBots: `SELECT ` + workspaceCols + ` FROM installstore_installations
			WHERE bot_refresh_token <> '' AND bot_token_expires_at <> 0 AND bot_token_expires_at < ?`,
		expiringUsers: `SELECT ` + prefixed("i", workspaceCols) + `, ` + prefixed("u", userCols) + `
			FROM installstore_user_tokens u JOIN installstore_installations i
			ON i.enterprise_id = u.enterprise_id AND i.team_id = u.team_id
			WHERE u.user_refresh_token <> '' AND u.user_token_expires_at <> 0 AND u.user_token_expires_at < ?`,
		botToken: `SELECT enterprise_id, team_id, bot_token FROM installstore_installations
			WHERE team_id = ? AND bot_token <> '' ORDER BY installed_at DESC LIMIT 1`,
		issueState:   `INSERT INTO installstore_oauth_states (state, expires_at) VALUES (?, ?)`,
		sweepStates:  `DELETE FROM installstore_oauth_states WHERE expires_at <= ?`,
		consumeState: `DELETE FROM installstore_oauth_states WHERE state = ? RETURNING expires_at`,
	}
	for _, p := range []*string{&q.saveWorkspace, &q.saveUser, &q.findWorkspace, &q.findUser, &q.deleteWorkspace,
		&q.deleteUsers, &q.deleteUser, &q.expiringBots, &q.expiringUsers, &q.botToken, &q.issueState,
		&q.sweepStates, &q.consumeState} {
		*p = rebind(d, *p)
	}
	return q
}

// rebind turns ? placeholders into PostgreSQL's $1, $2, …; the statements have no ? elsewhere.
func rebind(d Dialect, q string) string {
	if d != PostgreSQL {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Save implements Store.
func (s *SQL) Save(ctx context.Context, inst Installation) error {
	w, u, err := s.cfg.rows(inst)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("installstore: save: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if _, err := tx.ExecContext(ctx, s.q.saveWorkspace, w.EnterpriseID, w.TeamID, w.AppID, w.EnterpriseName,
		w.TeamName, w.IsEnterpriseInstall, w.BotToken, w.BotRefreshToken, w.BotTokenExpiresAt, w.BotScopes,
		w.BotID, w.BotUserID, w.InstallerUserID, w.InstalledAt); err != nil {
		return fmt.Errorf("installstore: save %s: %w", describe(w.key()), err)
	}
	if u != nil {
		if _, err := tx.ExecContext(ctx, s.q.saveUser, u.EnterpriseID, u.TeamID, u.UserID, u.UserToken,
			u.UserRefreshToken, u.UserTokenExpiresAt, u.UserScopes, u.InstalledAt); err != nil {
			return fmt.Errorf("installstore: save %s: %w", describe(u.key()), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("installstore: save %s: %w", describe(w.key()), err)
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

func scanWorkspace(r scanner, extra ...any) (workspaceRow, error) {
	var w workspaceRow
	err := r.Scan(append([]any{&w.EnterpriseID, &w.TeamID, &w.AppID, &w.EnterpriseName, &w.TeamName,
		&w.IsEnterpriseInstall, &w.BotToken, &w.BotRefreshToken, &w.BotTokenExpiresAt, &w.BotScopes, &w.BotID,
		&w.BotUserID, &w.InstallerUserID, &w.InstalledAt}, extra...)...)
	return w, err
}

func userDest(u *userRow) []any {
	return []any{&u.EnterpriseID, &u.TeamID, &u.UserID, &u.UserToken, &u.UserRefreshToken,
		&u.UserTokenExpiresAt, &u.UserScopes, &u.InstalledAt}
}

// Find implements Store.
func (s *SQL) Find(ctx context.Context, key Key) (Installation, error) {
	w, err := scanWorkspace(s.db.QueryRowContext(ctx, s.q.findWorkspace, key.EnterpriseID, key.TeamID))
	if errors.Is(err, sql.ErrNoRows) && key.EnterpriseID != "" && key.TeamID != "" {
		w, err = scanWorkspace(s.db.QueryRowContext(ctx, s.q.findWorkspace, key.EnterpriseID, ""))
	}
	if errors.Is(err, sql.ErrNoRows) {
		return Installation{}, fmt.Errorf("%s: %w", describe(key), ErrNotFound)
	}
	if err != nil {
		return Installation{}, fmt.Errorf("installstore: find %s: %w", describe(key), err)
	}
	user := key.UserID
	if user == "" {
		user = w.InstallerUserID
	}
	var u userRow
	err = s.db.QueryRowContext(ctx, s.q.findUser, w.EnterpriseID, w.TeamID, user).Scan(userDest(&u)...)
	switch {
	case errors.Is(err, sql.ErrNoRows) && key.UserID != "":
		return Installation{}, fmt.Errorf("%s: no user token: %w", describe(key), ErrNotFound)
	case errors.Is(err, sql.ErrNoRows):
		return s.cfg.installation(w, nil, true)
	case err != nil:
		return Installation{}, fmt.Errorf("installstore: find %s: %w", describe(key), err)
	}
	return s.cfg.installation(w, &u, true)
}

// Delete implements Store.
func (s *SQL) Delete(ctx context.Context, key Key) error {
	if key.UserID != "" {
		if _, err := s.db.ExecContext(ctx, s.q.deleteUser, key.EnterpriseID, key.TeamID, key.UserID); err != nil {
			return fmt.Errorf("installstore: delete %s: %w", describe(key), err)
		}
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("installstore: delete %s: %w", describe(key), err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if _, err := tx.ExecContext(ctx, s.q.deleteUsers, key.EnterpriseID, key.TeamID); err != nil {
		return fmt.Errorf("installstore: delete %s: %w", describe(key), err)
	}
	if _, err := tx.ExecContext(ctx, s.q.deleteWorkspace, key.EnterpriseID, key.TeamID); err != nil {
		return fmt.Errorf("installstore: delete %s: %w", describe(key), err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("installstore: delete %s: %w", describe(key), err)
	}
	return nil
}

// Expiring implements Store.
func (s *SQL) Expiring(ctx context.Context, before time.Time) ([]Installation, error) {
	type entry struct {
		inst    Installation
		expires int64
	}
	var found []entry
	rows, err := s.db.QueryContext(ctx, s.q.expiringBots, before.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("installstore: expiring: %w", err)
	}
	for rows.Next() {
		w, err := scanWorkspace(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("installstore: expiring: %w", err)
		}
		inst, err := s.cfg.installation(w, nil, true)
		if err != nil {
			rows.Close()
			return nil, err
		}
		found = append(found, entry{inst, w.BotTokenExpiresAt})
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	rows, err = s.db.QueryContext(ctx, s.q.expiringUsers, before.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("installstore: expiring: %w", err)
	}
	for rows.Next() {
		var u userRow
		w, err := scanWorkspace(rows, userDest(&u)...)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("installstore: expiring: %w", err)
		}
		inst, err := s.cfg.installation(w, &u, false)
		if err != nil {
			rows.Close()
			return nil, err
		}
		found = append(found, entry{inst, u.UserTokenExpiresAt})
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	sort.SliceStable(found, func(i, j int) bool { return found[i].expires < found[j].expires })
	out := make([]Installation, len(found))
	for i, e := range found {
		out[i] = e.inst
	}
	return out, nil
}

func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("installstore: expiring: %w", err)
	}
	return nil
}

// BotToken implements Store and switchboard.InstallationStore.
func (s *SQL) BotToken(ctx context.Context, team string) (string, error) {
	var k Key
	var tok string
	err := s.db.QueryRowContext(ctx, s.q.botToken, team).Scan(&k.EnterpriseID, &k.TeamID, &tok)
	if errors.Is(err, sql.ErrNoRows) || team == "" {
		return "", fmt.Errorf("installstore: no bot token for team %s: %w", team, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("installstore: bot token of team %s: %w", team, err)
	}
	return s.cfg.open(tok, "bot_token", k)
}

// Issue implements StateStore; it also deletes the states that expired.
func (s *SQL) Issue(ctx context.Context, ttl time.Duration) (string, error) {
	state, expires, err := s.cfg.newState(ttl)
	if err != nil {
		return "", err
	}
	if _, err := s.db.ExecContext(ctx, s.q.sweepStates, s.cfg.now().UnixNano()); err != nil {
		return "", fmt.Errorf("installstore: issue state: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, s.q.issueState, state, expires); err != nil {
		return "", fmt.Errorf("installstore: issue state: %w", err)
	}
	return state, nil
}

// Consume implements StateStore: one DELETE, so that of two processes consuming one state only one
// succeeds.
func (s *SQL) Consume(ctx context.Context, state string) error {
	var expires int64
	err := s.db.QueryRowContext(ctx, s.q.consumeState, state).Scan(&expires)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrStateUnknown
	}
	if err != nil {
		return fmt.Errorf("installstore: consume state: %w", err)
	}
	return s.cfg.checkState(true, expires)
}
