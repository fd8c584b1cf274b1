package installstore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Memory is a Store and StateStore in this process's memory, for tests and single-process bots
// that can lose their installations on exit. Its zero value is not usable: call NewMemory.
type Memory struct {
	cfg *config

	mu         sync.Mutex
	workspaces map[Key]workspaceRow // key without UserID
	users      map[Key]userRow
	states     map[string]int64 // state → expiry, Unix nanoseconds
}

var (
	_ Store      = (*Memory)(nil)
	_ StateStore = (*Memory)(nil)
)

// NewMemory returns an empty memory store.
func NewMemory(opts ...Option) (*Memory, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return &Memory{cfg: cfg, workspaces: map[Key]workspaceRow{}, users: map[Key]userRow{}, states: map[string]int64{}}, nil
}

// Save implements Store.
func (m *Memory) Save(ctx context.Context, inst Installation) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w, u, err := m.cfg.rows(inst)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.workspaces[w.key()]; ok {
		w.merge(old)
	}
	m.workspaces[w.key()] = w
	if u != nil {
		m.users[u.key()] = *u
	}
	return nil
}

// Find implements Store.
func (m *Memory) Find(ctx context.Context, key Key) (Installation, error) {
	if err := ctx.Err(); err != nil {
		return Installation{}, err
	}
	m.mu.Lock()
	w, ok := m.workspaces[Key{EnterpriseID: key.EnterpriseID, TeamID: key.TeamID}]
	if !ok && key.EnterpriseID != "" && key.TeamID != "" {
		w, ok = m.workspaces[Key{EnterpriseID: key.EnterpriseID}]
		ok = ok && w.IsEnterpriseInstall
	}
	if !ok {
		m.mu.Unlock()
		return Installation{}, fmt.Errorf("%s: %w", describe(key), ErrNotFound)
	}
	uk := w.key()
	uk.UserID = key.UserID
	if uk.UserID == "" {
		uk.UserID = w.InstallerUserID
	}
	u, uok := m.users[uk]
	m.mu.Unlock()
	if !uok {
		if key.UserID != "" {
			return Installation{}, fmt.Errorf("%s: no user token: %w", describe(key), ErrNotFound)
		}
		return m.cfg.installation(w, nil, true)
	}
	return m.cfg.installation(w, &u, true)
}

// Delete implements Store.
func (m *Memory) Delete(ctx context.Context, key Key) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if key.UserID != "" {
		delete(m.users, key)
		return nil
	}
	delete(m.workspaces, key)
	for k := range m.users {
		if k.EnterpriseID == key.EnterpriseID && k.TeamID == key.TeamID {
			delete(m.users, k)
		}
	}
	return nil
}

// Expiring implements Store.
func (m *Memory) Expiring(ctx context.Context, before time.Time) ([]Installation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	limit := before.UnixNano()
	type entry struct {
		w       workspaceRow
		u       *userRow
		expires int64
	}
	var found []entry
	m.mu.Lock()
	for _, w := range m.workspaces {
		if w.BotRefreshToken != "" && w.BotTokenExpiresAt != 0 && w.BotTokenExpiresAt < limit {
			found = append(found, entry{w: w, expires: w.BotTokenExpiresAt})
		}
	}
	for _, u := range m.users {
		if u.UserRefreshToken != "" && u.UserTokenExpiresAt != 0 && u.UserTokenExpiresAt < limit {
			if w, ok := m.workspaces[Key{EnterpriseID: u.EnterpriseID, TeamID: u.TeamID}]; ok {
				found = append(found, entry{w: w, u: &u, expires: u.UserTokenExpiresAt})
			}
		}
	}
	m.mu.Unlock()
	sort.Slice(found, func(i, j int) bool { return found[i].expires < found[j].expires })
	out := make([]Installation, 0, len(found))
	for _, e := range found {
		inst, err := m.cfg.installation(e.w, e.u, e.u == nil)
		if err != nil {
			return nil, err
		}
		out = append(out, inst)
	}
	return out, nil
}

// BotToken implements Store and switchboard.InstallationStore.
func (m *Memory) BotToken(ctx context.Context, team string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	m.mu.Lock()
	var w workspaceRow
	ok := false
	for k, row := range m.workspaces {
		if k.TeamID == team && team != "" && row.BotToken != "" {
			w, ok = row, true
			break
		}
	}
	m.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("installstore: no bot token for team %s: %w", team, ErrNotFound)
	}
	return m.cfg.open(w.BotToken, "bot_token", w.key())
}

// Close implements Store; a memory store keeps working after it.
func (m *Memory) Close() error { return nil }

// Issue implements StateStore.
func (m *Memory) Issue(ctx context.Context, ttl time.Duration) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	state, expires, err := m.cfg.newState(ttl)
	if err != nil {
		return "", err
	}
	now := m.cfg.now().UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	for s, exp := range m.states {
		if exp <= now {
			delete(m.states, s)
		}
	}
	m.states[state] = expires
	return state, nil
}

// Consume implements StateStore.
func (m *Memory) Consume(ctx context.Context, state string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	expires, ok := m.states[state]
	delete(m.states, state)
	m.mu.Unlock()
	return m.cfg.checkState(ok, expires)
}

// newState makes a random state and its expiry in Unix nanoseconds.
func (c *config) newState(ttl time.Duration) (string, int64, error) {
	if ttl < 0 {
		return "", 0, fmt.Errorf("installstore: state ttl %v is negative", ttl)
	}
	if ttl == 0 {
		ttl = DefaultStateTTL
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", 0, fmt.Errorf("installstore: state: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), c.now().Add(ttl).UnixNano(), nil
}

// checkState judges a consumed state: found says whether it was stored.
func (c *config) checkState(found bool, expires int64) error {
	if !found {
		return ErrStateUnknown
	}
	if c.now().UnixNano() >= expires {
		return ErrStateExpired
	}
	return nil
}
