package cluster_test

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/internal/etcdtest"
)

// Membership from etcd (Debian's etcd-server, started by etcdtest): two members share the links;
// one is killed and the other takes them all within 10s (the etcd lease is 3s); then it stops.
func TestClusterEtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and member processes")
	}
	ep := etcdtest.Start(t)
	srv, err := fakeslack.New(fakeslack.Options{Workspaces: 20, Apps: 1, TranscriptSize: -1, RateLimits: map[string]fakeslack.Limit{}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	h := &harness{t: t, srv: srv, seen: map[string]int{}}
	dir := t.TempDir()
	mc := memberConfig{APIURL: srv.APIURL(), Store: filepath.Join(dir, "cluster.db"), Etcd: []string{ep}}
	apps := map[string]int{}
	for _, a := range srv.Apps() {
		mc.Apps = append(mc.Apps, appConfig{ID: a.AppID, Token: a.AppToken, Connections: 2})
		apps[a.AppID] = 2
	}
	var teams []string
	for _, w := range srv.Workspaces() {
		mc.Workspaces = append(mc.Workspaces, [2]string{w.TeamID, w.ClassicBotToken})
		teams = append(teams, w.TeamID)
	}
	h.addMembers(dir, 2, mc, false)
	defer h.killAll()
	h.startAll()
	h.awaitSettled(teams, apps, 30*time.Second, "start")
	h.members[1].cmd.Process.Signal(syscall.SIGKILL)
	<-h.members[1].done
	took := h.awaitSettled(teams, apps, 10*time.Second, "after SIGKILL (etcd)")
	t.Logf("etcd membership: the survivor ran every link %v after the kill", took.Round(time.Millisecond))
	h.members[0].cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.members[0].done:
	case <-time.After(30 * time.Second):
		t.Fatal("member did not stop within 30s of SIGTERM")
	}
}
