package storetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard-go/switchboard/installstore"
)

// sqlPlace makes a place and says whether it is an SQL one; the tests of this file need one.
func sqlPlace(t *testing.T, newPlace func(*testing.T) Place) (Place, bool) {
	p := newPlace(t)
	return p, p.DB != nil
}

func testWrongKey(t *testing.T, newPlace func(*testing.T) Place) {
	p, ok := sqlPlace(t, newPlace)
	if !ok {
		return
	}
	ctx := context.Background()
	st := openOn(t, p, installstore.WithEncryptionKey(key(1)))
	inst := full(1)
	mustSave(t, st, inst)
	state, err := st.Issue(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, opts := range map[string][]installstore.Option{
		"another key": {installstore.WithEncryptionKey(key(2))},
		"no key":      nil,
	} {
		other := openOn(t, p, opts...)
		if _, err := other.Find(ctx, inst.Key()); !errors.Is(err, installstore.ErrDecrypt) {
			t.Errorf("%s: Find = %v, want ErrDecrypt", name, err)
		} else if !strings.Contains(err.Error(), inst.TeamID) {
			t.Errorf("%s: the error does not name the team: %v", name, err)
		}
		if _, err := other.BotToken(ctx, inst.TeamID); !errors.Is(err, installstore.ErrDecrypt) {
			t.Errorf("%s: BotToken = %v, want ErrDecrypt", name, err)
		}
		if _, err := other.Expiring(ctx, inst.BotTokenExpiresAt.Add(1)); !errors.Is(err, installstore.ErrDecrypt) {
			t.Errorf("%s: Expiring = %v, want ErrDecrypt", name, err)
		}
	}
	// States are not sealed: any store consumes them.
	if err := openOn(t, p).Consume(ctx, state); err != nil {
		t.Errorf("Consume from a store without the key = %v", err)
	}
	same(t, "with the right key", mustFind(t, st, inst.Key()), inst)

	for _, bad := range [][]byte{nil, make([]byte, 16), make([]byte, 33)} {
		if _, err := p.Open(installstore.WithEncryptionKey(bad)); err == nil {
			t.Errorf("Open with a %d-byte key = nil error", len(bad))
		}
	}
}

// testKeyAdded: tokens stored in clear stay readable once a key is given, and are sealed by their
// next save.
func testKeyAdded(t *testing.T, newPlace func(*testing.T) Place) {
	p, ok := sqlPlace(t, newPlace)
	if !ok {
		return
	}
	inst := full(1)
	mustSave(t, openOn(t, p), inst)
	st := openOn(t, p, installstore.WithEncryptionKey(key(1)))
	same(t, "clear, read with a key", mustFind(t, st, inst.Key()), inst)
	if dump := dumpTables(t, p.DB); !strings.Contains(dump, inst.BotToken) {
		t.Fatal("the token stored in clear is not in the tables: the test reads the wrong place")
	}
	mustSave(t, st, inst)
	if dump := dumpTables(t, p.DB); strings.Contains(dump, inst.BotToken) {
		t.Error("the token is still in clear after a save with a key")
	}
}

func testAtRest(t *testing.T, newPlace func(*testing.T) Place) {
	p, ok := sqlPlace(t, newPlace)
	if !ok {
		return
	}
	st := openOn(t, p, installstore.WithEncryptionKey(key(1)))
	inst := full(1)
	mustSave(t, st, inst)
	org := full(2)
	org.TeamID, org.IsEnterpriseInstall = "", true
	org.EnterpriseID = "E0OTHER"
	mustSave(t, st, org)
	dump := dumpTables(t, p.DB)
	for _, secret := range []string{inst.BotToken, inst.BotRefreshToken, inst.UserToken, inst.UserRefreshToken,
		org.BotToken, org.UserToken, "secret"} {
		if strings.Contains(dump, secret) {
			t.Errorf("%q is stored in clear", secret)
		}
	}
	if !strings.Contains(dump, inst.TeamID) || !strings.Contains(dump, "enc1:") {
		t.Errorf("the dump lacks the team or the sealed values: the test reads the wrong place")
	}
}

// dumpTables is every value of every installstore table, as text.
func dumpTables(t *testing.T, db *sql.DB) string {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{"installstore_installations", "installstore_user_tokens", "installstore_oauth_states", "installstore_schema_version"} {
		rows, err := db.Query("SELECT * FROM " + table)
		if err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, "%v\t", v)
			}
			b.WriteString("\n")
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return b.String()
}

// schemaV1 is version 1 of the schema as it shipped, frozen here to test upgrades from it.
var schemaV1 = []string{
	`CREATE TABLE installstore_schema_version (version INTEGER NOT NULL)`,
	`INSERT INTO installstore_schema_version (version) VALUES (1)`,
	`CREATE TABLE installstore_installations (
		enterprise_id TEXT NOT NULL, team_id TEXT NOT NULL, app_id TEXT NOT NULL,
		enterprise_name TEXT NOT NULL, team_name TEXT NOT NULL, is_enterprise_install BOOLEAN NOT NULL,
		bot_token TEXT NOT NULL, bot_refresh_token TEXT NOT NULL, bot_token_expires_at BIGINT NOT NULL,
		bot_scopes TEXT NOT NULL, bot_id TEXT NOT NULL, bot_user_id TEXT NOT NULL,
		installer_user_id TEXT NOT NULL, installed_at BIGINT NOT NULL,
		PRIMARY KEY (enterprise_id, team_id))`,
	`CREATE TABLE installstore_user_tokens (
		enterprise_id TEXT NOT NULL, team_id TEXT NOT NULL, user_id TEXT NOT NULL,
		user_token TEXT NOT NULL, user_refresh_token TEXT NOT NULL, user_token_expires_at BIGINT NOT NULL,
		user_scopes TEXT NOT NULL, installed_at BIGINT NOT NULL,
		PRIMARY KEY (enterprise_id, team_id, user_id))`,
	`INSERT INTO installstore_installations VALUES ('', 'T0OLD', 'A0APP', '', 'Old', false,
		'xoxb-old', '', 0, 'chat:write', 'B0OLD', 'U0OLDBOT', 'U0OLD', 1767225600000000000)`,
	`INSERT INTO installstore_user_tokens VALUES ('', 'T0OLD', 'U0OLD', 'xoxp-old', '', 0, '', 1767225600000000000)`,
}

func testUpgrade(t *testing.T, newPlace func(*testing.T) Place) {
	p, ok := sqlPlace(t, newPlace)
	if !ok {
		return
	}
	ctx := context.Background()
	for _, stmt := range schemaV1 {
		if _, err := p.DB.Exec(stmt); err != nil {
			t.Fatalf("v1 schema: %v", err)
		}
	}
	for i := 0; i < 2; i++ { // the second open finds nothing to do
		st := openOn(t, p)
		got := mustFind(t, st, installstore.Key{TeamID: "T0OLD"})
		if got.BotToken != "xoxb-old" || got.UserToken != "xoxp-old" || got.BotUserID != "U0OLDBOT" {
			t.Errorf("open %d: the v1 installation reads %+v", i, got)
		}
		state, err := st.Issue(ctx, 0) // version 2's table
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Consume(ctx, state); err != nil {
			t.Fatal(err)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		var versions, version int
		if err := p.DB.QueryRow(`SELECT COUNT(*), MAX(version) FROM installstore_schema_version`).Scan(&versions, &version); err != nil {
			t.Fatal(err)
		}
		if versions != 1 || version < 2 {
			t.Errorf("open %d: schema_version has %d rows, version %d; want one, 2 or later", i, versions, version)
		}
	}
}

func testNewerSchema(t *testing.T, newPlace func(*testing.T) Place) {
	p, ok := sqlPlace(t, newPlace)
	if !ok {
		return
	}
	openOn(t, p).Close()
	if _, err := p.DB.Exec(`UPDATE installstore_schema_version SET version = 999`); err != nil {
		t.Fatal(err)
	}
	st, err := p.Open()
	if err == nil {
		st.Close()
		t.Fatal("Open of a database from a newer program = nil error")
	}
	if !strings.Contains(err.Error(), "999") {
		t.Errorf("the error does not say the version: %v", err)
	}
}

// testConcurrentOpen opens several stores on one new database at once (processes starting
// together): each migration runs once and all of them work.
func testConcurrentOpen(t *testing.T, newPlace func(*testing.T) Place) {
	p, ok := sqlPlace(t, newPlace)
	if !ok {
		return
	}
	var wg sync.WaitGroup
	stores := make([]Stores, 4)
	errs := make([]error, len(stores))
	for i := range stores {
		wg.Add(1)
		go func() { // owner: this test; one Open; the test waits on wg.
			defer wg.Done()
			stores[i], errs[i] = p.Open()
		}()
	}
	wg.Wait()
	for i, st := range stores {
		if errs[i] != nil {
			t.Errorf("open %d: %v", i, errs[i])
			continue
		}
		inst := full(i)
		mustSave(t, st, inst)
		mustFind(t, st, inst.Key())
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	}
}
