package cluster_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/fakeslack"
)

// Dedupe across members: handlers slower than Slack's ack deadline (acks after handlers) make
// fakeslack redeliver each event, on any of the app's connections, which two members share; each
// event is still handled once in the cluster. The events are spaced so that each one's handler
// has begun when its redelivery comes: a redelivery racing an original still queued on another
// member is not caught (the original is recorded when its handler begins; see README).
func TestClusterDedupeAcrossMembers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts member processes")
	}
	srv, err := fakeslack.New(fakeslack.Options{Workspaces: 1, Apps: 1, TranscriptSize: -1, RateLimits: map[string]fakeslack.Limit{},
		SocketMode: fakeslack.SocketModeOptions{AckTimeout: 300 * time.Millisecond, RetryDelays: []time.Duration{0, 0, 0}}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	app, ws := srv.Apps()[0], srv.Workspaces()[0]
	h := &harness{t: t, srv: srv, seen: map[string]int{}}
	dir := t.TempDir()
	opsPorts := h.addMembers(dir, 2, memberConfig{APIURL: srv.APIURL(), Store: filepath.Join(dir, "cluster.db"), SlowAcks: true,
		Apps: []appConfig{{ID: app.AppID, Token: app.AppToken, Connections: 8}}}, true)
	defer h.killAll()
	h.startAll()
	h.awaitSettled(nil, map[string]int{app.AppID: 8}, 30*time.Second, "start")
	time.Sleep(time.Second) // the placement settles: both members run slots
	var injected []string
	for i := range 10 {
		inj, err := srv.InjectEvent(app.AppID, ws.TeamID, json.RawMessage(fmt.Sprintf(`{"type":"app_mention","text":"slow %d","user":"U1","channel":"C1"}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		injected = append(injected, inj.EventID)
		time.Sleep(700 * time.Millisecond)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if lost, _ := h.count(injected); lost == 0 {
			break
		}
	}
	time.Sleep(3 * time.Second) // every redelivery is over: 3 retries, 300ms apart
	lost, dups := h.count(injected)
	t.Logf("10 events, %d redeliveries by fakeslack: %d lost, %d handled more than once across the 2 members", srv.Stats().Redelivered, lost, dups)
	var dropped, unreadable int64
	for _, port := range opsPorts {
		var v struct {
			Dropped       int64  `json:"dedupe_dropped"`
			RemoteDropped *int64 `json:"remote_dropped"`
		}
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/cluster")
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if v.RemoteDropped == nil {
			t.Fatal("/cluster has no remote_dropped")
		}
		dropped += v.Dropped
		unreadable += *v.RemoteDropped
	}
	if unreadable != 0 { // members of one version always read each other
		t.Errorf("the members dropped %d of each other's messages as unreadable", unreadable)
	}
	t.Logf("redeliveries dropped because the other member had handled the event: %d (the rest were the same member's, dropped by its own dedupe)", dropped)
	if srv.Stats().Redelivered == 0 {
		t.Fatal("no redelivery happened: the test tests nothing")
	}
	if lost != 0 || dups != 0 {
		t.Errorf("%d lost, %d handled twice", lost, dups)
	}
}
