package cluster_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/switchboard-go/switchboard/cluster"
	"github.com/switchboard-go/switchboard/internal/pgtest"
)

func TestStore(t *testing.T) {
	s, err := cluster.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	testStore(t, s)
}

// The same on PostgreSQL (a throwaway server of internal/pgtest), for members on several hosts.
func TestStorePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	pg, err := pgtest.Start()
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { pg.Stop() }) // after NewDatabase's own cleanup, which drops the database
	s, err := cluster.OpenPostgres(context.Background(), pg.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	testStore(t, s)
}

func testStore(t *testing.T, s *cluster.Store) {
	ctx := context.Background()
	if err := s.PutLinks(ctx, cluster.LinkSpec{Name: "T1", Kind: cluster.KindRTM, Token: "xoxb-1"},
		cluster.LinkSpec{Name: "A1/1", Kind: cluster.KindSocketMode, App: "A1", Slot: 1, Token: "xapp-1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetClaims(ctx, "m1", map[string]bool{"T1": true}, nil); err != nil {
		t.Fatal(err)
	}
	links, _ := s.Links(ctx)
	claims, _ := s.Claims(ctx)
	if len(links) != 2 || len(claims) != 1 || !claims[0].Connected || claims[0].Member != "m1" {
		t.Fatalf("links %v claims %v", links, claims)
	}
	if err := s.DeleteApp(ctx, "A1"); err != nil {
		t.Fatal(err)
	}
	if links, _ = s.Links(ctx); len(links) != 1 {
		t.Fatalf("after DeleteApp: %v", links)
	}
	s.SetLeaving(ctx, "m1")
	if l, _ := s.Leaving(ctx); !l["m1"] {
		t.Fatal("m1 not leaving")
	}
	s.ForgetMember(ctx, "m1")
	claims, _ = s.Claims(ctx)
	if l, _ := s.Leaving(ctx); l["m1"] || len(claims) != 0 {
		t.Fatal("ForgetMember left claims or the leaving mark")
	}
	// Dedupe across members: the first member to handle an event keeps it.
	e := cluster.SeenEvent{App: "A1", EventID: "Ev1"}
	if err := s.RecordSeen(ctx, "m1", 100, e); err != nil {
		t.Fatal(err)
	}
	if first, err := s.ClaimSeen(ctx, "m2", 101, e); err != nil || first != "m1" {
		t.Fatalf("ClaimSeen of a handled event: %q, %v; want m1", first, err)
	}
	if first, _ := s.ClaimSeen(ctx, "m2", 101, cluster.SeenEvent{App: "A1", EventID: "Ev2"}); first != "m2" {
		t.Fatalf("ClaimSeen of a new event: %q, want m2", first)
	}
	s.PruneSeen(ctx, 101)
	if first, _ := s.ClaimSeen(ctx, "m3", 102, e); first != "m3" {
		t.Fatalf("after PruneSeen: %q, want m3", first)
	}
}
