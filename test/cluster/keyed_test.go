package cluster_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/fakeslack"
)

// keyRecord is one KEY line: where a clustered PerChannel subscription's actor handled an event.
type keyRecord struct {
	host, channel, link string
	n, retry            int
	start, end          int64
}

// Clustered per-key actors: three members share an app's six connections, so each channel's
// mentions are read by all three; every member registers the same Clustered PerChannel
// subscription. Each channel's events must run on one actor in the cluster: each handled once,
// never two at a time (even while a member's SIGTERM moves its keys to the others), and in the
// order of each socket they came on (the originals: a redelivery comes late at Slack already). Some must have been read on one member and handled on
// another, and some channel must have moved.
func TestClusterKeyedActors(t *testing.T) { testKeyed(t, false) }

// The same with acks after handlers, and a member killed (SIGKILL) instead of stopped: the events
// its keys had accepted, and those its sockets had read, are not lost. Those read elsewhere were
// never answered (the members wait for their handlers on the key's member), so they are sent
// again to the keys' next grains; those it read were never acked, so Slack redelivers them. A
// key's event the member handled but did not answer for can run twice (at least once).
func TestClusterKeyedActorsMemberKilled(t *testing.T) { testKeyed(t, true) }

func testKeyed(t *testing.T, kill bool) {
	if testing.Short() {
		t.Skip("starts member processes")
	}
	srv, err := fakeslack.New(fakeslack.Options{Workspaces: 1, Apps: 1, TranscriptSize: -1, RateLimits: map[string]fakeslack.Limit{}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	app, ws := srv.Apps()[0], srv.Workspaces()[0]
	h := &harness{t: t, srv: srv, seen: map[string]int{}, read: map[string]string{}}
	dir := t.TempDir()
	h.addMembers(dir, 3, memberConfig{APIURL: srv.APIURL(), Store: filepath.Join(dir, "cluster.db"), Keyed: true, AckAfterHandlers: kill,
		Apps: []appConfig{{ID: app.AppID, Token: app.AppToken, Connections: 6}}}, false)
	defer h.killAll()
	h.startAll()
	h.awaitSettled(nil, map[string]int{app.AppID: 6}, 30*time.Second, "start")
	time.Sleep(time.Second) // the placement settles: every member runs slots

	const channels, perPhase = 30, 10
	inject := func(from, to int, pause time.Duration) {
		for n := from; n < to; n++ {
			for c := range channels {
				ch := fmt.Sprintf("C%03d", c)
				if _, err := srv.InjectEvent(app.AppID, ws.TeamID, json.RawMessage(fmt.Sprintf(
					`{"type":"app_mention","text":"k %s %d","user":"U1","channel":"%s"}`, ch, n, ch))); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(pause)
		}
	}
	handled := func() int { // distinct events handled
		h.mu.Lock()
		defer h.mu.Unlock()
		ids := map[string]bool{}
		for _, r := range h.keyed {
			ids[r.channel+" "+strconv.Itoa(r.n)] = true
		}
		return len(ids)
	}
	inject(0, perPhase, 5*time.Millisecond)
	// A member leaves (SIGTERM) while the channels' events keep coming: its keys move.
	victim := h.members[1]
	done := make(chan struct{})
	go func() { // owner: the test, which waits on done
		defer close(done)
		inject(perPhase, perPhase+5, 0)                      // a burst: the keys have events queued when the member goes
		inject(perPhase+5, 3*perPhase, 200*time.Millisecond) // 3s: the member's handover and leaving happen meanwhile
	}()
	time.Sleep(50 * time.Millisecond)
	if kill {
		victim.cmd.Process.Kill()
	} else {
		victim.cmd.Process.Signal(syscall.SIGTERM)
	}
	<-done
	select {
	case <-victim.done:
	case <-time.After(40 * time.Second):
		t.Fatalf("member %s did not end within 40s", victim.name)
	}
	total := channels * 3 * perPhase
	for deadline := time.Now().Add(30 * time.Second); handled() < total && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // a late duplicate would show now

	h.mu.Lock()
	recs := append([]keyRecord(nil), h.keyed...)
	read := h.read
	h.mu.Unlock()
	count := map[string]int{}
	byChannel := map[string][]keyRecord{}
	hosts := map[string]map[string]bool{}
	forwarded := 0
	for _, r := range recs {
		id := r.channel + " " + strconv.Itoa(r.n)
		count[id]++
		byChannel[r.channel] = append(byChannel[r.channel], r)
		if hosts[r.channel] == nil {
			hosts[r.channel] = map[string]bool{}
		}
		hosts[r.channel][r.host] = true
		if reader, ok := read[id]; ok && reader != r.host {
			forwarded++
		}
	}
	lost, dups, moved := 0, 0, 0
	for c := range channels {
		for n := range 3 * perPhase {
			switch k := count[fmt.Sprintf("C%03d %d", c, n)]; {
			case k == 0:
				lost++
			case k > 1:
				dups++
			}
		}
	}
	overlaps, outOfOrder := 0, 0
	for ch, rs := range byChannel {
		if len(hosts[ch]) > 1 {
			moved++
		}
		sort.Slice(rs, func(i, j int) bool { return rs[i].start < rs[j].start })
		lastOnLink := map[string]int{} // by the socket it came on: the member that read it and the slot
		for i, r := range rs {
			if i > 0 && r.start < rs[i-1].end {
				overlaps++
				if overlaps <= 3 {
					t.Errorf("channel %s: event %d (on %s) began before event %d (on %s) ended: two actors at once", ch, r.n, r.host, rs[i-1].n, rs[i-1].host)
				}
			}
			if r.retry > 0 {
				continue // a redelivery comes after what followed its original, at Slack already
			}
			socket := read[r.channel+" "+strconv.Itoa(r.n)] + " " + r.link
			if last, ok := lastOnLink[socket]; ok && r.n < last {
				outOfOrder++
				if outOfOrder <= 3 {
					t.Errorf("channel %s: event %d ran after event %d, both read on %s", ch, r.n, last, socket)
				}
			}
			lastOnLink[socket] = r.n
		}
	}
	if os.Getenv("KEYED_DEBUG") != "" {
		for c := range channels {
			ch := fmt.Sprintf("C%03d", c)
			for n := range 3 * perPhase {
				id := fmt.Sprintf("%s %d", ch, n)
				if count[id] == 0 {
					t.Logf("lost %s read by %q", id, read[id])
				}
			}
		}
		for _, r := range byChannel["C011"] {
			t.Logf("C011 %d host %s read %s link %s start %d", r.n, r.host, read[r.channel+" "+strconv.Itoa(r.n)], r.link, r.start/1e6%100000)
		}
		t.Logf("victim %s", victim.name)
	}
	t.Logf("%d events in %d channels: %d lost, %d handled twice, %d handled on another member than the one that read them, %d channels moved, %d overlaps, %d out of order",
		total, channels, lost, dups, forwarded, moved, overlaps, outOfOrder)
	if lost != 0 || (dups != 0 && !kill) {
		t.Errorf("%d lost, %d handled more than once", lost, dups)
	}
	if forwarded == 0 {
		t.Error("no event was handled on another member than the one that read it: the keys were not clustered")
	}
	if moved == 0 {
		t.Error("no channel moved when a member left: the handover was not exercised")
	}
}
