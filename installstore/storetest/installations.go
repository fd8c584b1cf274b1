package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/installstore"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

// full is an installation with every field set, told apart by n.
func full(n int) installstore.Installation {
	return installstore.Installation{
		AppID:              "A0APP",
		EnterpriseID:       "E0ORG",
		EnterpriseName:     "Org",
		TeamID:             fmt.Sprintf("T%04d", n),
		TeamName:           fmt.Sprintf("Team %d", n),
		BotToken:           fmt.Sprintf("xoxb-bot-%d-secret", n),
		BotRefreshToken:    fmt.Sprintf("xoxe-1-botrefresh-%d-secret", n),
		BotTokenExpiresAt:  t0.Add(12 * time.Hour),
		BotScopes:          []string{"chat:write", "channels:history"},
		BotID:              "B0BOT",
		BotUserID:          "U0BOT",
		UserID:             "U0ALICE",
		UserToken:          fmt.Sprintf("xoxp-user-%d-secret", n),
		UserRefreshToken:   fmt.Sprintf("xoxe-1-userrefresh-%d-secret", n),
		UserTokenExpiresAt: t0.Add(11 * time.Hour),
		UserScopes:         []string{"search:read"},
		InstalledAt:        t0,
	}
}

func mustSave(t *testing.T, st Stores, inst installstore.Installation) {
	t.Helper()
	if err := st.Save(context.Background(), inst); err != nil {
		t.Fatalf("Save(%s): %v", inst.TeamID, err)
	}
}

func mustFind(t *testing.T, st Stores, k installstore.Key) installstore.Installation {
	t.Helper()
	got, err := st.Find(context.Background(), k)
	if err != nil {
		t.Fatalf("Find(%+v): %v", k, err)
	}
	return got
}

func same(t *testing.T, what string, got, want installstore.Installation) {
	t.Helper()
	// Times compare as instants; the rest field by field.
	for _, p := range []struct {
		name string
		g, w time.Time
	}{
		{"BotTokenExpiresAt", got.BotTokenExpiresAt, want.BotTokenExpiresAt},
		{"UserTokenExpiresAt", got.UserTokenExpiresAt, want.UserTokenExpiresAt},
		{"InstalledAt", got.InstalledAt, want.InstalledAt},
	} {
		if !p.g.Equal(p.w) {
			t.Errorf("%s: %s = %v, want %v", what, p.name, p.g, p.w)
		}
	}
	got.BotTokenExpiresAt, got.UserTokenExpiresAt, got.InstalledAt = time.Time{}, time.Time{}, time.Time{}
	want.BotTokenExpiresAt, want.UserTokenExpiresAt, want.InstalledAt = time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func testSaveFind(t *testing.T, s suite) {
	st, _ := s.open(t)
	ctx := context.Background()
	a, b := full(1), full(2)
	b.EnterpriseID, b.EnterpriseName = "", ""
	b.BotTokenExpiresAt, b.UserTokenExpiresAt, b.BotRefreshToken, b.UserRefreshToken = time.Time{}, time.Time{}, "", ""
	mustSave(t, st, a)
	mustSave(t, st, b)
	same(t, "workspace in an org", mustFind(t, st, installstore.Key{EnterpriseID: "E0ORG", TeamID: a.TeamID}), a)
	same(t, "plain workspace", mustFind(t, st, installstore.Key{TeamID: b.TeamID}), b)
	same(t, "by user", mustFind(t, st, installstore.Key{TeamID: b.TeamID, UserID: "U0ALICE"}), b)
	for _, inst := range []installstore.Installation{a, b} {
		if tok, err := st.BotToken(ctx, inst.TeamID); err != nil || tok != inst.BotToken {
			t.Errorf("BotToken(%s) = %q, %v; want %q", inst.TeamID, tok, err, inst.BotToken)
		}
	}

	// Saving again replaces.
	a.TeamName, a.BotToken, a.BotScopes = "Renamed", "xoxb-new", []string{"chat:write"}
	a.InstalledAt = t0.Add(time.Hour)
	mustSave(t, st, a)
	same(t, "after a second save", mustFind(t, st, installstore.Key{EnterpriseID: "E0ORG", TeamID: a.TeamID}), a)

	// A zero InstalledAt means now.
	c := full(3)
	c.InstalledAt = time.Time{}
	before := time.Now().Add(-time.Second)
	mustSave(t, st, c)
	if got := mustFind(t, st, c.Key()).InstalledAt; got.Before(before) || got.After(time.Now().Add(time.Second)) {
		t.Errorf("InstalledAt of a save without one = %v, want about now", got)
	}

	// No scopes, no user: nil slices and empty strings come back.
	d := installstore.Installation{TeamID: "T0MIN", BotToken: "xoxb-min"}
	d.InstalledAt = t0
	mustSave(t, st, d)
	same(t, "minimal", mustFind(t, st, installstore.Key{TeamID: "T0MIN"}), d)
}

func testNotFound(t *testing.T, s suite) {
	st, _ := s.open(t)
	ctx := context.Background()
	for _, k := range []installstore.Key{{TeamID: "T0NONE"}, {EnterpriseID: "E0NONE"}, {EnterpriseID: "E0NONE", TeamID: "T0NONE"}} {
		if _, err := st.Find(ctx, k); !errors.Is(err, installstore.ErrNotFound) {
			t.Errorf("Find(%+v) = %v, want ErrNotFound", k, err)
		}
	}
	if _, err := st.BotToken(ctx, "T0NONE"); !errors.Is(err, installstore.ErrNotFound) {
		t.Errorf("BotToken of no team = %v, want ErrNotFound", err)
	}
	if _, err := st.BotToken(ctx, ""); !errors.Is(err, installstore.ErrNotFound) {
		t.Errorf("BotToken(\"\") = %v, want ErrNotFound", err)
	}
	// A workspace with no bot token (user scopes only) has no BotToken.
	mustSave(t, st, installstore.Installation{TeamID: "T0USER", UserID: "U1", UserToken: "xoxp-only"})
	if _, err := st.BotToken(ctx, "T0USER"); !errors.Is(err, installstore.ErrNotFound) {
		t.Errorf("BotToken of a workspace without bot = %v, want ErrNotFound", err)
	}
	// Another workspace of the same org is not found: the org was not installed org-wide.
	mustSave(t, st, full(1))
	if _, err := st.Find(ctx, installstore.Key{EnterpriseID: "E0ORG", TeamID: "T9999"}); !errors.Is(err, installstore.ErrNotFound) {
		t.Errorf("Find of another workspace of the org = %v, want ErrNotFound", err)
	}
}

func testInvalid(t *testing.T, s suite) {
	st, _ := s.open(t)
	for _, inst := range []installstore.Installation{
		{BotToken: "xoxb-x"},                     // no team
		{EnterpriseID: "E1", BotToken: "xoxb-x"}, // enterprise without IsEnterpriseInstall
	} {
		if err := st.Save(context.Background(), inst); err == nil {
			t.Errorf("Save(%+v) = nil, want an error", inst)
		}
	}
}

func testEnterpriseInstall(t *testing.T, s suite) {
	st, _ := s.open(t)
	org := full(1)
	org.TeamID, org.TeamName, org.IsEnterpriseInstall = "", "", true
	mustSave(t, st, org)
	same(t, "by enterprise", mustFind(t, st, installstore.Key{EnterpriseID: "E0ORG"}), org)
	same(t, "by a workspace of the org", mustFind(t, st, installstore.Key{EnterpriseID: "E0ORG", TeamID: "T0ANY"}), org)
	same(t, "by user", mustFind(t, st, installstore.Key{EnterpriseID: "E0ORG", TeamID: "T0ANY", UserID: "U0ALICE"}), org)

	// Slack may name the workspace the install started from: the key is still the org's.
	withTeam := org
	withTeam.TeamID, withTeam.BotToken = "T0FROM", "xoxb-org-2"
	mustSave(t, st, withTeam)
	org.BotToken = "xoxb-org-2"
	same(t, "saved with a team", mustFind(t, st, installstore.Key{EnterpriseID: "E0ORG"}), org)

	// A workspace's own installation comes before the org's.
	ws := full(2)
	mustSave(t, st, ws)
	same(t, "workspace of its own", mustFind(t, st, installstore.Key{EnterpriseID: "E0ORG", TeamID: ws.TeamID}), ws)
	// Deleting the workspace's leaves the org's.
	if err := st.Delete(context.Background(), installstore.Key{EnterpriseID: "E0ORG", TeamID: ws.TeamID}); err != nil {
		t.Fatal(err)
	}
	same(t, "after deleting the workspace's", mustFind(t, st, installstore.Key{EnterpriseID: "E0ORG", TeamID: ws.TeamID}), org)
}

func testUsers(t *testing.T, s suite) {
	st, _ := s.open(t)
	ctx := context.Background()
	alice := full(1)
	bob := full(1)
	bob.UserID, bob.UserToken, bob.UserRefreshToken, bob.UserScopes = "U0BOB", "xoxp-bob", "", []string{"users:read"}
	bob.UserTokenExpiresAt, bob.BotToken, bob.InstalledAt = time.Time{}, "xoxb-bot-after-bob", t0.Add(time.Minute)
	mustSave(t, st, alice)
	mustSave(t, st, bob)
	k := installstore.Key{EnterpriseID: "E0ORG", TeamID: alice.TeamID}

	same(t, "last installer", mustFind(t, st, k), bob)
	k.UserID = "U0ALICE"
	wantAlice := alice
	wantAlice.BotToken = bob.BotToken // the workspace's bot is the latest
	same(t, "alice", mustFind(t, st, k), wantAlice)
	k.UserID = "U0CAROL"
	if _, err := st.Find(ctx, k); !errors.Is(err, installstore.ErrNotFound) {
		t.Errorf("Find of a user who did not install = %v, want ErrNotFound", err)
	}

	// A user without user scopes installs: the last installer changes, with no user token.
	carol := full(1)
	carol.UserID, carol.UserToken, carol.UserRefreshToken, carol.UserScopes = "U0CAROL", "", "", nil
	carol.UserTokenExpiresAt = time.Time{}
	mustSave(t, st, carol)
	got := mustFind(t, st, installstore.Key{EnterpriseID: "E0ORG", TeamID: alice.TeamID})
	if got.UserID != "U0CAROL" || got.UserToken != "" || got.BotToken != carol.BotToken {
		t.Errorf("after carol: UserID %q, UserToken %q, BotToken %q", got.UserID, got.UserToken, got.BotToken)
	}
}

func testSaveWithoutBot(t *testing.T, s suite) {
	st, _ := s.open(t)
	inst := full(1)
	mustSave(t, st, inst)
	userOnly := inst
	userOnly.UserID, userOnly.UserToken = "U0DAVE", "xoxp-dave"
	userOnly.BotToken, userOnly.BotRefreshToken, userOnly.BotTokenExpiresAt = "", "", time.Time{}
	userOnly.BotScopes, userOnly.BotID, userOnly.BotUserID = nil, "", ""
	mustSave(t, st, userOnly)
	got := mustFind(t, st, installstore.Key{EnterpriseID: "E0ORG", TeamID: inst.TeamID, UserID: "U0DAVE"})
	want := inst
	want.UserID, want.UserToken = "U0DAVE", "xoxp-dave"
	same(t, "user-only save", got, want)
}

func testDelete(t *testing.T, s suite) {
	st, _ := s.open(t)
	ctx := context.Background()
	a := full(1)
	b := a
	b.UserID, b.UserToken = "U0BOB", "xoxp-bob"
	other := full(2)
	mustSave(t, st, a)
	mustSave(t, st, b)
	mustSave(t, st, other)
	k := installstore.Key{EnterpriseID: "E0ORG", TeamID: a.TeamID}

	if err := st.Delete(ctx, installstore.Key{EnterpriseID: k.EnterpriseID, TeamID: k.TeamID, UserID: "U0BOB"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Find(ctx, installstore.Key{EnterpriseID: k.EnterpriseID, TeamID: k.TeamID, UserID: "U0BOB"}); !errors.Is(err, installstore.ErrNotFound) {
		t.Errorf("Find of a deleted user = %v, want ErrNotFound", err)
	}
	mustFind(t, st, installstore.Key{EnterpriseID: k.EnterpriseID, TeamID: k.TeamID, UserID: "U0ALICE"})

	if err := st.Delete(ctx, k); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Find(ctx, k); !errors.Is(err, installstore.ErrNotFound) {
		t.Errorf("Find of a deleted workspace = %v, want ErrNotFound", err)
	}
	if _, err := st.BotToken(ctx, a.TeamID); !errors.Is(err, installstore.ErrNotFound) {
		t.Errorf("BotToken of a deleted workspace = %v, want ErrNotFound", err)
	}
	// Its users went with it: saving the workspace again brings back no old user token.
	c := a
	c.UserID, c.UserToken = "", ""
	mustSave(t, st, c)
	if _, err := st.Find(ctx, installstore.Key{EnterpriseID: k.EnterpriseID, TeamID: k.TeamID, UserID: "U0ALICE"}); !errors.Is(err, installstore.ErrNotFound) {
		t.Errorf("a deleted workspace's user came back: %v", err)
	}
	same(t, "untouched", mustFind(t, st, other.Key()), other)
	if err := st.Delete(ctx, installstore.Key{TeamID: "T0NONE"}); err != nil {
		t.Errorf("Delete of nothing = %v", err)
	}
}

func testExpiring(t *testing.T, s suite) {
	st, _ := s.open(t)
	ctx := context.Background()
	a := full(1) // bot at +12h, alice at +11h
	b := full(2)
	b.BotTokenExpiresAt = t0.Add(time.Hour)
	b.UserTokenExpiresAt = time.Time{} // a user token that does not expire
	noRefresh := full(3)
	noRefresh.BotRefreshToken, noRefresh.UserRefreshToken = "", "" // expiring, but nothing to refresh with
	for _, inst := range []installstore.Installation{a, b, noRefresh} {
		mustSave(t, st, inst)
	}
	got, err := st.Expiring(ctx, t0.Add(11*time.Hour+time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("Expiring = %d installations, want b's bot and a's user: %+v", len(got), got)
	}
	wantB := b
	wantB.UserToken, wantB.UserRefreshToken, wantB.UserScopes = "", "", nil
	same(t, "b's bot", got[0], wantB)
	wantA := a
	wantA.BotToken, wantA.BotRefreshToken, wantA.BotTokenExpiresAt = "", "", time.Time{}
	same(t, "a's user", got[1], wantA)

	// The refresher saves the new pairs; each changes its token alone.
	refreshedBot := got[0]
	refreshedBot.BotToken, refreshedBot.BotRefreshToken = "xoxb-refreshed", "xoxe-1-refreshed"
	refreshedBot.BotTokenExpiresAt = t0.Add(13 * time.Hour)
	mustSave(t, st, refreshedBot)
	refreshedUser := got[1]
	refreshedUser.UserToken, refreshedUser.UserRefreshToken = "xoxp-refreshed", "xoxe-1-urefreshed"
	refreshedUser.UserTokenExpiresAt = t0.Add(14 * time.Hour)
	mustSave(t, st, refreshedUser)

	wantB.BotToken, wantB.BotRefreshToken, wantB.BotTokenExpiresAt = refreshedBot.BotToken, refreshedBot.BotRefreshToken, refreshedBot.BotTokenExpiresAt
	wantB.UserToken, wantB.UserRefreshToken, wantB.UserScopes = b.UserToken, b.UserRefreshToken, b.UserScopes
	same(t, "b after refresh", mustFind(t, st, b.Key()), wantB)
	wantA = a
	wantA.UserToken, wantA.UserRefreshToken, wantA.UserTokenExpiresAt = refreshedUser.UserToken, refreshedUser.UserRefreshToken, refreshedUser.UserTokenExpiresAt
	same(t, "a after refresh", mustFind(t, st, a.Key()), wantA)
	if tok, _ := st.BotToken(ctx, b.TeamID); tok != "xoxb-refreshed" {
		t.Errorf("BotToken after refresh = %q", tok)
	}

	got, err = st.Expiring(ctx, t0.Add(11*time.Hour+time.Minute))
	if err != nil || len(got) != 0 {
		t.Errorf("Expiring after the refresh = %+v, %v; want none", got, err)
	}
	got, err = st.Expiring(ctx, t0.Add(24*time.Hour))
	if err != nil || len(got) != 3 {
		t.Fatalf("Expiring within a day = %d, %v; want a's bot, b's bot, a's user", len(got), err)
	}
	for i, want := range []time.Time{a.BotTokenExpiresAt, refreshedBot.BotTokenExpiresAt, refreshedUser.UserTokenExpiresAt} {
		exp := got[i].BotTokenExpiresAt
		if got[i].BotToken == "" {
			exp = got[i].UserTokenExpiresAt
		}
		if !exp.Equal(want) {
			t.Errorf("Expiring[%d] expires %v, want %v (soonest first)", i, exp, want)
		}
	}
}

func testConcurrent(t *testing.T, s suite) {
	st, _ := s.open(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 80)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() { // owner: this test; ends after its loop; the test waits on wg.
			defer wg.Done()
			for i := 0; i < 10; i++ {
				inst := full(g*100 + i)
				if err := st.Save(ctx, inst); err != nil {
					errs <- err
					continue
				}
				if tok, err := st.BotToken(ctx, inst.TeamID); err != nil || tok != inst.BotToken {
					errs <- fmt.Errorf("BotToken(%s) = %q, %v", inst.TeamID, tok, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testCanceled(t *testing.T, s suite) {
	st, _ := s.open(t)
	mustSave(t, st, full(1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	k := full(1).Key()
	if err := st.Save(ctx, full(2)); !errors.Is(err, context.Canceled) {
		t.Errorf("Save = %v, want context.Canceled", err)
	}
	if _, err := st.Find(ctx, k); !errors.Is(err, context.Canceled) {
		t.Errorf("Find = %v, want context.Canceled", err)
	}
	if err := st.Delete(ctx, k); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete = %v, want context.Canceled", err)
	}
	if _, err := st.Expiring(ctx, t0); !errors.Is(err, context.Canceled) {
		t.Errorf("Expiring = %v, want context.Canceled", err)
	}
	if _, err := st.BotToken(ctx, k.TeamID); !errors.Is(err, context.Canceled) {
		t.Errorf("BotToken = %v, want context.Canceled", err)
	}
	if _, err := st.Issue(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("Issue = %v, want context.Canceled", err)
	}
	if err := st.Consume(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("Consume = %v, want context.Canceled", err)
	}
	mustFind(t, st, k) // nothing was deleted
}

func testReopen(t *testing.T, s suite) {
	p := s.newPlace(t)
	if p.DB == nil {
		return // a volatile place keeps nothing across stores
	}
	st, err := p.Open(s.opts...)
	if err != nil {
		t.Fatal(err)
	}
	inst := full(1)
	mustSave(t, st, inst)
	state, err := st.Issue(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	st = openOn(t, p, s.opts...)
	same(t, "after reopening", mustFind(t, st, inst.Key()), inst)
	if err := st.Consume(context.Background(), state); err != nil {
		t.Errorf("Consume of a state issued before reopening = %v", err)
	}
}
