// The cluster tests run Switchboard members as real OS processes (this test binary, re-run with
// SWITCHBOARD_CLUSTER_MEMBER set) against one fakeslack, and kill and restart them: failover,
// handover and zero-loss checks. Short by default (make test); SWITCHBOARD_SOAK_CLUSTER=1 runs the
// long one (make soak-cluster).

package cluster_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/cluster"
	"github.com/switchboard-go/switchboard/fakeslack"
)

func TestMain(m *testing.M) {
	if p := os.Getenv(memberEnv); p != "" {
		os.Exit(runMember(p))
	}
	os.Exit(m.Run())
}

// soak reports whether the long run was asked for.
func soak() bool { return os.Getenv("SWITCHBOARD_SOAK_CLUSTER") != "" }

// member is one member process.
type member struct {
	name string // host:port, the cluster's name for it
	cfg  string // its config file
	cmd  *exec.Cmd
	done chan struct{}
	mem  chan [2]int  // answers to SIGUSR1: heap and stacks in use after a GC, links run
	n    atomic.Int64 // a quiet member's "N" lines: events handled so far
}

// harness is the test's side: fakeslack, the members, and what they received.
type harness struct {
	t       *testing.T
	srv     *fakeslack.Server
	members []*member

	mu         sync.Mutex
	seen       map[string]int    // Socket Mode event id → deliveries to handlers, across members
	keyed      []keyRecord       // the keyed test's KEY lines
	read       map[string]string // the keyed test's READ lines: "<channel> <n>" → the member that read it
	echoes     [][]string        // the RTM send test's ECHO lines: member, team, channel, result
	rtmReaders map[string]string // its RTMREAD lines: team → the member that reads it
}

// freePort returns a loopback port nobody listens on, below the kernel's ephemeral range
// (32768–60999 by default): a port of that range, found free and closed again, can be taken by
// any process's outgoing connection or :0 listener before the member binds it (a parallel test
// package's did, in CI), while ports below it are only ever taken by an explicit listen. Each is
// handed out once per test binary.
func freePort(t *testing.T) int {
	t.Helper()
	portMu.Lock()
	defer portMu.Unlock()
	for range 1000 {
		p := 20000 + rand.IntN(12000)
		if portsGiven[p] {
			continue
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		l.Close()
		portsGiven[p] = true
		return p
	}
	t.Fatal("no free loopback port in 20000-31999")
	return 0
}

var (
	portMu     sync.Mutex
	portsGiven = map[int]bool{}
)

func (h *harness) start(m *member) {
	h.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), memberEnv+"="+m.cfg, "GORACE=exitcode=0 halt_on_error=0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		h.t.Fatal(err)
	}
	cmd.Stderr = &prefixWriter{t: h.t, prefix: m.name, all: os.Getenv("SWITCHBOARD_CLUSTER_STDERR") != ""}
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	m.cmd, m.done, m.mem = cmd, make(chan struct{}), make(chan [2]int, 1)
	ready := make(chan struct{})
	go func() { // owner: the harness; ends when the member's stdout closes
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			switch {
			case len(f) == 3 && f[0] == "EV":
				h.mu.Lock()
				h.seen[f[1]]++
				h.mu.Unlock()
			case len(f) == 8 && f[0] == "KEY":
				start, _ := strconv.ParseInt(f[5], 10, 64)
				end, _ := strconv.ParseInt(f[6], 10, 64)
				n, _ := strconv.Atoi(f[3])
				retry, _ := strconv.Atoi(f[7])
				h.mu.Lock()
				h.keyed = append(h.keyed, keyRecord{host: f[1], channel: f[2], n: n, link: f[4], start: start, end: end, retry: retry})
				h.mu.Unlock()
			case len(f) == 5 && f[0] == "ECHO":
				h.mu.Lock()
				h.echoes = append(h.echoes, f[1:])
				h.mu.Unlock()
			case len(f) == 4 && f[0] == "RTMREAD":
				h.mu.Lock()
				if h.rtmReaders != nil {
					h.rtmReaders[f[2]] = f[1]
				}
				h.mu.Unlock()
			case len(f) == 4 && f[0] == "READ":
				h.mu.Lock()
				if h.read != nil {
					h.read[f[2]+" "+f[3]] = f[1]
				}
				h.mu.Unlock()
			case len(f) == 2 && f[0] == "N":
				n, _ := strconv.ParseInt(f[1], 10, 64)
				m.n.Store(n)
			case len(f) == 3 && f[0] == "MEM":
				a, _ := strconv.Atoi(f[1])
				b, _ := strconv.Atoi(f[2])
				select {
				case m.mem <- [2]int{a, b}:
				default:
				}
			case len(f) >= 1 && f[0] == "READY":
				close(ready)
			}
		}
		cmd.Wait()
		close(m.done)
	}()
	select {
	case <-ready:
	case <-m.done:
		h.t.Fatalf("member %s exited before it was ready", m.name)
	case <-time.After(30 * time.Second):
		h.t.Fatalf("member %s not ready after 30s", m.name)
	}
}

// addMembers writes the configs of n members into dir: mc, with each member's own remote port
// and, without mc.Etcd, its automanaged health port (Peers lists every member's); with ops, an ops
// port too, returned in order. Start them with startAll; defer killAll.
func (h *harness) addMembers(dir string, n int, mc memberConfig, ops bool) (opsPorts []int) {
	h.t.Helper()
	ports := make([][2]int, n)
	mc.Peers = nil
	for i := range ports {
		ports[i][0] = freePort(h.t)
		if len(mc.Etcd) == 0 {
			ports[i][1] = freePort(h.t)
			mc.Peers = append(mc.Peers, "127.0.0.1:"+strconv.Itoa(ports[i][1]))
		}
	}
	for i := range ports {
		c := mc
		c.Port, c.HealthPort = ports[i][0], ports[i][1]
		if ops {
			c.OpsPort = freePort(h.t)
			opsPorts = append(opsPorts, c.OpsPort)
		}
		b, err := json.Marshal(c)
		if err != nil {
			h.t.Fatal(err)
		}
		path := filepath.Join(dir, fmt.Sprintf("member%d.json", len(h.members)))
		if err := os.WriteFile(path, b, 0o600); err != nil {
			h.t.Fatal(err)
		}
		h.members = append(h.members, &member{name: "127.0.0.1:" + strconv.Itoa(c.Port), cfg: path})
	}
	return opsPorts
}

// startAll starts every member, one after the other, each once it is ready.
func (h *harness) startAll() {
	h.t.Helper()
	for _, m := range h.members {
		h.start(m)
	}
}

// killAll kills the members still running (deferred by each test, before fakeslack closes).
func (h *harness) killAll() {
	for _, m := range h.members {
		if m.cmd != nil && m.cmd.ProcessState == nil {
			m.cmd.Process.Kill()
			<-m.done
		}
	}
}

// prefixWriter logs a member's errors (all its stderr with SWITCHBOARD_CLUSTER_STDERR set). It
// reads the race detector's reports too (members run with GORACE exitcode=0): a race whose
// innermost frame is ours fails the test; one inside protoactor-go (its remote.BlockList, its etcd
// provider's shutdown flag, grpc's global logger it sets: upstream) is counted and logged once.
type prefixWriter struct {
	t        *testing.T
	prefix   string
	all      bool
	mu       sync.Mutex
	partial  string
	report   []string // the race report being read, if any
	upstream int
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	text := w.partial + string(p)
	lines := strings.Split(text, "\n")
	w.partial = lines[len(lines)-1]
	for _, line := range lines[:len(lines)-1] {
		switch {
		case strings.Contains(line, "WARNING: DATA RACE"):
			w.report = []string{line}
			continue
		case w.report != nil && strings.HasPrefix(line, "=================="):
			r := strings.Join(w.report, "\n")
			w.report = nil
			if racesInOurCode(w.report) {
				w.t.Errorf("%s: data race:\n%s", w.prefix, r)
			} else if w.upstream++; w.upstream == 1 {
				w.t.Logf("%s: a data race inside protoactor-go alone (not ours), first of its kind:\n%s", w.prefix, firstLines(r, 8))
			}
			continue
		case w.report != nil:
			w.report = append(w.report, line)
			continue
		}
		if w.all || strings.Contains(line, "level=error") || strings.Contains(line, "member:") {
			w.t.Logf("%s: %s", w.prefix, line)
		}
	}
	return len(p), nil
}

// racesInOurCode reports whether the innermost frame of either racing access of a race report is
// ours (not protoactor-go's, grpc's or etcd's, even when called from ours).
func racesInOurCode(report []string) bool {
	for i, line := range report {
		l := strings.TrimSpace(line)
		access := strings.HasPrefix(l, "Write at") || strings.HasPrefix(l, "Read at") ||
			strings.HasPrefix(l, "Previous write at") || strings.HasPrefix(l, "Previous read at")
		if access && i+1 < len(report) && strings.Contains(report[i+1], "switchboard-go/switchboard") {
			return true
		}
	}
	return false
}

func firstLines(s string, n int) string {
	l := strings.Split(s, "\n")
	return strings.Join(l[:min(n, len(l))], "\n")
}

// sockets counts the open sockets per team (RTM) and per app (Socket Mode).
func (h *harness) sockets() (rtm, sm map[string]int) {
	rtm, sm = map[string]int{}, map[string]int{}
	for _, c := range h.srv.Connections("") {
		if c.App != "" {
			sm[c.App]++
		} else {
			rtm[c.Team]++
		}
	}
	return rtm, sm
}

// settled reports whether every team has one RTM socket and every app its connections.
func (h *harness) settled(teams []string, apps map[string]int) bool {
	rtm, sm := h.sockets()
	for _, t := range teams {
		if rtm[t] != 1 {
			return false
		}
	}
	for a, n := range apps {
		if sm[a] != n {
			return false
		}
	}
	return true
}

func (h *harness) awaitSettled(teams []string, apps map[string]int, within time.Duration, what string) time.Duration {
	h.t.Helper()
	start := time.Now()
	for !h.settled(teams, apps) {
		if time.Since(start) > within {
			rtm, sm := h.sockets()
			bad := 0
			for _, t := range teams {
				if rtm[t] != 1 {
					bad++
				}
			}
			h.t.Fatalf("%s: not settled after %v: %d teams without exactly one RTM socket, apps %v", what, within, bad, sm)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

func TestClusterChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("starts member processes")
	}
	nTeams, rate := 60, 100
	if soak() {
		nTeams, rate = 3000, 200
	}
	srv, err := fakeslack.New(fakeslack.Options{Workspaces: nTeams, Apps: 2, TranscriptSize: -1, RateLimits: map[string]fakeslack.Limit{}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	h := &harness{t: t, srv: srv, seen: map[string]int{}}
	dir := t.TempDir()
	mc := memberConfig{APIURL: srv.APIURL(), Store: filepath.Join(dir, "cluster.db")}
	apps := map[string]int{}
	for _, a := range srv.Apps() {
		mc.Apps = append(mc.Apps, appConfig{ID: a.AppID, Token: a.AppToken, Connections: 4})
		apps[a.AppID] = 4
	}
	var teams []string
	for _, w := range srv.Workspaces() {
		mc.Workspaces = append(mc.Workspaces, [2]string{w.TeamID, w.ClassicBotToken})
		teams = append(teams, w.TeamID)
	}
	opsPorts := h.addMembers(dir, 3, mc, true)
	defer h.killAll()
	h.startAll()
	h.awaitSettled(teams, apps, 60*time.Second, "start")
	h.checkClusterView(opsPorts[0], len(teams)+8, 3)

	// Invariants watched all along: no app over Slack's 10 sockets; after each settling, one RTM
	// socket per team (checked by awaitSettled).
	stopWatch := make(chan struct{})
	var watch sync.WaitGroup
	maxSM, maxRTM := 0, 0
	var rolling atomic.Bool // RTM is break before make on SIGTERM: never two sockets for a team
	watch.Add(1)
	go func() { // owner: the test; ends at stopWatch
		defer watch.Done()
		for {
			select {
			case <-stopWatch:
				return
			case <-time.After(10 * time.Millisecond):
			}
			rtm, sm := h.sockets()
			for _, n := range sm {
				maxSM = max(maxSM, n)
			}
			if rolling.Load() {
				for _, n := range rtm {
					maxRTM = max(maxRTM, n)
				}
			}
		}
	}()

	// Steady Socket Mode traffic, spread over the apps and teams.
	var injected []string
	var injMu sync.Mutex
	ctx, cancel := context.WithCancel(context.Background())
	var traffic sync.WaitGroup
	traffic.Add(1)
	go func() { // owner: the test; ends at cancel
		defer traffic.Done()
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			a := srv.Apps()[i%2]
			inj, err := srv.InjectEvent(a.AppID, teams[i%len(teams)], json.RawMessage(fmt.Sprintf(`{"type":"app_mention","text":"n%d","user":"U1","channel":"C1"}`, i)))
			if err != nil {
				t.Errorf("inject: %v", err)
				return
			}
			injMu.Lock()
			injected = append(injected, inj.EventID)
			injMu.Unlock()
		}
	}()
	time.Sleep(time.Second)

	h.logMemory()

	// 1. SIGKILL one member: its links come back on the survivors.
	victim := h.members[2]
	all := []string{h.members[0].name, h.members[1].name, h.members[2].name}
	var its []string
	for _, tm := range teams {
		if cluster.Owner(tm, all) == victim.name {
			its = append(its, tm)
		}
	}
	old := map[string]string{} // team → the victim's socket
	for _, c := range srv.Connections("") {
		if c.App == "" {
			old[c.Team] = c.ID
		}
	}
	killed := time.Now()
	victim.cmd.Process.Signal(syscall.SIGKILL)
	<-victim.done
	back := map[string]time.Duration{}
	for len(back) < len(its) && time.Since(killed) < 60*time.Second {
		for _, c := range srv.Connections("") {
			if _, ok := back[c.Team]; !ok && c.App == "" && c.ID != old[c.Team] && slices.Contains(its, c.Team) {
				back[c.Team] = time.Since(killed) // a new socket: on a survivor
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	var lat []time.Duration
	for _, d := range back {
		lat = append(lat, d)
	}
	slices.Sort(lat)
	if len(lat) < len(its) {
		t.Fatalf("failover: %d of %d RTM links of the killed member came back", len(lat), len(its))
	}
	h.awaitSettled(teams, apps, 30*time.Second, "after SIGKILL")
	p50, p99 := lat[len(lat)/2], lat[(len(lat)*99)/100]
	t.Logf("failover of %d RTM links after SIGKILL: p50 %v, p99 %v", len(lat), p50.Round(time.Millisecond), p99.Round(time.Millisecond))
	if p99 > 10*time.Second {
		t.Errorf("failover p99 %v over 10s", p99)
	}
	h.start(victim)
	h.awaitSettled(teams, apps, 60*time.Second, "after restart")
	time.Sleep(time.Second) // the rebalance is done once the old owners let go

	// 2. Rolling restart: SIGTERM each member in turn, then start it again.
	rolling.Store(true)
	for _, m := range h.members {
		m.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-m.done:
		case <-time.After(40 * time.Second):
			t.Fatalf("member %s did not stop within 40s of SIGTERM", m.name)
		}
		if code := m.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("member %s exited %d after SIGTERM", m.name, code)
		}
		h.awaitSettled(teams, apps, 30*time.Second, "after SIGTERM of "+m.name)
		h.start(m)
		h.awaitSettled(teams, apps, 60*time.Second, "after restart of "+m.name)
		time.Sleep(time.Second)
	}

	cancel()
	traffic.Wait()
	// Let the last events arrive, and any redelivery.
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if lost, _ := h.count(injected); lost == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	close(stopWatch)
	watch.Wait()
	lost, dups := h.count(injected)
	t.Logf("Socket Mode events: %d injected, %d lost, %d delivered twice or more across members; at most %d sockets per app", len(injected), lost, dups, maxSM)
	if lost != 0 {
		t.Errorf("%d Socket Mode events lost", lost)
	}
	if dups != 0 {
		t.Errorf("%d Socket Mode events delivered more than once across the cluster", dups)
	}
	if maxRTM > 1 {
		t.Errorf("a workspace had %d RTM sockets at once during the rolling restart", maxRTM)
	}
	if maxSM > 10 {
		t.Errorf("an app had %d Socket Mode sockets open at once; Slack allows 10", maxSM)
	}
}

// checkClusterView asks a member's /cluster: ready, every link owned, the owners spread over
// members.
func (h *harness) checkClusterView(port, links, members int) {
	h.t.Helper()
	var v struct {
		Ready   bool              `json:"ready"`
		Members []string          `json:"members"`
		Owners  map[string]string `json:"owners"`
	}
	for deadline := time.Now().Add(5 * time.Second); ; {
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/cluster")
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&v)
			resp.Body.Close()
		}
		if err == nil && v.Ready && len(v.Owners) == links {
			break
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("/cluster: %v, ready %v, %d links owned, want %d", err, v.Ready, len(v.Owners), links)
		}
		time.Sleep(100 * time.Millisecond)
	}
	per := map[string]int{}
	for _, o := range v.Owners {
		per[o]++
	}
	if len(v.Members) != members || len(per) != members {
		h.t.Errorf("/cluster: members %v, links per owner %v", v.Members, per)
	}
	h.t.Logf("/cluster: links per member %v", per)
	// /status lists every link with its owner, /healthz is ready, /metrics name the member.
	get := func(path string) (int, string) {
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + path)
		if err != nil {
			h.t.Fatalf("%s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	var st struct {
		Cluster struct {
			Member string            `json:"member"`
			Owners map[string]string `json:"owners"`
		} `json:"cluster"`
	}
	if _, body := get("/status"); json.Unmarshal([]byte(body), &st) != nil || len(st.Cluster.Owners) != links {
		h.t.Errorf("/status: %d links with an owner, want %d", len(st.Cluster.Owners), links)
	}
	if code, body := get("/healthz"); code != http.StatusOK {
		h.t.Errorf("/healthz: %d %s", code, body)
	}
	if _, body := get("/metrics"); !strings.Contains(body, `member="`+st.Cluster.Member+`"`) {
		h.t.Errorf("/metrics do not name the member %s", st.Cluster.Member)
	}
}

// logMemory logs each member's live memory (heap and stacks in use after a GC) per link it runs.
func (h *harness) logMemory() {
	for _, m := range h.members {
		m.cmd.Process.Signal(syscall.SIGUSR1)
		select {
		case v := <-m.mem:
			if v[1] > 0 {
				h.t.Logf("member %s: %.1f MiB live (heap and stacks, after a GC), %d links: %.1f KiB per link", m.name, float64(v[0])/(1<<20), v[1], float64(v[0])/1024/float64(v[1]))
			}
		case <-time.After(5 * time.Second):
		}
	}
}

func (h *harness) count(injected []string) (lost, dups int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, id := range injected {
		switch n := h.seen[id]; {
		case n == 0:
			lost++
		case n > 1:
			dups++
		}
	}
	return lost, dups
}
