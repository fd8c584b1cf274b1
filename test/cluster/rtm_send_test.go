package cluster_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/fakeslack"
)

// Send from any member: two members share 12 RTM workspaces, and a Clustered PerChannel
// subscription answers each message with Runtime.Send from wherever the channel's actor is. A
// Send on a member that does not run the workspace's socket goes to the member that does: every
// answer is posted over RTM, in its workspace's channel, and some were sent from the other member.
func TestClusterSendFromAnyMember(t *testing.T) {
	if testing.Short() {
		t.Skip("starts member processes")
	}
	const teams = 12
	srv, err := fakeslack.New(fakeslack.Options{Workspaces: teams, TranscriptSize: -1, RateLimits: map[string]fakeslack.Limit{}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	h := &harness{t: t, srv: srv, seen: map[string]int{}, rtmReaders: map[string]string{}}
	dir := t.TempDir()
	var ids []string
	var wss [][2]string
	for _, w := range srv.Workspaces() {
		wss = append(wss, [2]string{w.TeamID, w.ClassicBotToken})
		ids = append(ids, w.TeamID)
	}
	h.addMembers(dir, 2, memberConfig{APIURL: srv.APIURL(), Store: filepath.Join(dir, "cluster.db"), RTMEcho: true, Workspaces: wss}, false)
	defer h.killAll()
	h.startAll()
	h.awaitSettled(ids, nil, 30*time.Second, "start")
	time.Sleep(time.Second) // both members see both
	const perTeam = 3
	for _, w := range srv.Workspaces() {
		for i := range perTeam {
			if _, err := srv.InjectRTMMessage(w.TeamID, fakeslack.RTMMessage{Channel: w.Channels[0].ID, Text: fmt.Sprintf("hello %d", i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	echoed := func() (ok, remote int, failed []string) {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, e := range h.echoes {
			if e[3] != "ok" {
				failed = append(failed, strings.Join(e, " "))
				continue
			}
			ok++
			if reader := h.rtmReaders[e[1]]; reader != "" && reader != e[0] {
				remote++
			}
		}
		return ok, remote, failed
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ok, _, failed := echoed(); ok+len(failed) >= teams*perTeam {
			break
		}
	}
	ok, remote, failed := echoed()
	posted := 0
	for _, w := range srv.Workspaces() {
		for _, m := range srv.History(w.Channels[0].ID) {
			if m.Via == "rtm" && strings.HasPrefix(m.Text, "echo hello ") {
				posted++
			}
		}
	}
	t.Logf("%d messages: %d answered by Send (%d from the member without the workspace's socket), %d failed, %d posted over RTM",
		teams*perTeam, ok, remote, len(failed), posted)
	for _, f := range failed {
		t.Errorf("send failed: %s", f)
	}
	if ok != teams*perTeam || posted != teams*perTeam {
		t.Errorf("%d sends succeeded and %d answers posted, want %d", ok, posted, teams*perTeam)
	}
	if remote == 0 {
		t.Error("no Send went through the other member: the test tests nothing")
	}
}
