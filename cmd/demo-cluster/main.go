// Command demo-cluster runs a cluster of three Switchboard members, each its own process, with
// fakeslack on loopback: steady Socket Mode traffic, one member killed (SIGKILL) and restarted,
// then a rolling restart (SIGTERM) of all three, with a live view of the links per member and a
// summary of lost and duplicate events. It exits 1 if any Socket Mode event was lost.
//
//	go run ./cmd/demo-cluster          (make demo-cluster)
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/cluster"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/ops"
)

type memberConfig struct {
	APIURL     string      `json:"api_url"`
	Store      string      `json:"store"`
	Port       int         `json:"port"`
	HealthPort int         `json:"health_port"`
	OpsPort    int         `json:"ops_port"`
	Peers      []string    `json:"peers"`
	Apps       [][2]string `json:"apps"`       // ID, token
	Workspaces [][2]string `json:"workspaces"` // team, token
}

func main() {
	memberCfg := flag.String("member", "", "run as a member with this config (the demo starts its members so)")
	teams := flag.Int("workspaces", 30, "RTM workspaces")
	rate := flag.Int("rate", 50, "Socket Mode events a second")
	flag.Parse()
	if *memberCfg != "" {
		os.Exit(member(*memberCfg))
	}
	os.Exit(demo(*teams, *rate))
}

// member runs one member: it joins, adds the apps and workspaces, prints "EV <event id>" per
// Socket Mode event, serves /cluster, and hands its links over on SIGTERM.
func member(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var mc memberConfig
	if err := json.Unmarshal(b, &mc); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	store, err := cluster.OpenSQLite(ctx, mc.Store)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer store.Close()
	log := logrus.New()
	log.SetLevel(logrus.WarnLevel)
	log.SetOutput(os.Stderr)
	rt, err := switchboard.New(switchboard.WithAPIURL(mc.APIURL), switchboard.WithLogger(log),
		switchboard.WithCluster(cluster.Config{Port: mc.Port, HealthPort: mc.HealthPort, Peers: mc.Peers, Store: store}))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var mu sync.Mutex
	rt.OnEvent("", func(_ context.Context, ev *switchboard.Event) error {
		mu.Lock()
		defer mu.Unlock()
		fmt.Printf("EV %s\n", ev.EventID)
		return nil
	})
	for _, a := range mc.Apps {
		if err := rt.AddApp(ctx, switchboard.App{ID: a[0], Token: a[1], Connections: 4}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
	}
	for _, w := range mc.Workspaces {
		if err := rt.AddWorkspace(ctx, switchboard.Workspace{Team: w[0], Token: w[1]}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /cluster", ops.ClusterHandler(rt))
	hs := &http.Server{Addr: "127.0.0.1:" + strconv.Itoa(mc.OpsPort), Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go hs.ListenAndServe() // owner: main; ends with the process
	defer hs.Close()
	fmt.Println("READY")
	if err := rt.Run(ctx, 30*time.Second); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

type proc struct {
	name    string
	cfg     string
	opsPort int
	cmd     *exec.Cmd
	done    chan struct{}
}

type demoState struct {
	mu   sync.Mutex
	seen map[string]int
}

func demo(nTeams, rate int) int {
	srv, err := fakeslack.New(fakeslack.Options{Workspaces: nTeams, Apps: 2, TranscriptSize: -1, RateLimits: map[string]fakeslack.Limit{}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer srv.Close()
	dir, err := os.MkdirTemp("", "demo-cluster-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer os.RemoveAll(dir)
	self, _ := os.Executable()
	mc := memberConfig{APIURL: srv.APIURL(), Store: filepath.Join(dir, "cluster.db")}
	for _, a := range srv.Apps() {
		mc.Apps = append(mc.Apps, [2]string{a.AppID, a.AppToken})
	}
	var teams []string
	for _, w := range srv.Workspaces() {
		mc.Workspaces = append(mc.Workspaces, [2]string{w.TeamID, w.ClassicBotToken})
		teams = append(teams, w.TeamID)
	}
	ports := make([][3]int, 3)
	for i := range ports {
		ports[i] = [3]int{freePort(), freePort(), freePort()}
		mc.Peers = append(mc.Peers, "127.0.0.1:"+strconv.Itoa(ports[i][1]))
	}
	st := &demoState{seen: map[string]int{}}
	var procs []*proc
	for i := range ports {
		c := mc
		c.Port, c.HealthPort, c.OpsPort = ports[i][0], ports[i][1], ports[i][2]
		b, _ := json.Marshal(c)
		p := filepath.Join(dir, fmt.Sprintf("member%d.json", i+1))
		os.WriteFile(p, b, 0o600)
		procs = append(procs, &proc{name: fmt.Sprintf("member%d", i+1), cfg: p, opsPort: c.OpsPort})
	}
	defer func() {
		for _, p := range procs {
			if p.cmd != nil && p.cmd.ProcessState == nil {
				p.cmd.Process.Kill()
				<-p.done
			}
		}
	}()
	start := func(p *proc) {
		cmd := exec.Command(self, "-member", p.cfg)
		out, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		p.cmd, p.done = cmd, make(chan struct{})
		ready := make(chan struct{})
		go func() { // owner: demo; ends when the member's stdout closes
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				if len(f) == 2 && f[0] == "EV" {
					st.mu.Lock()
					st.seen[f[1]]++
					st.mu.Unlock()
				} else if len(f) == 1 && f[0] == "READY" {
					close(ready)
				}
			}
			cmd.Wait()
			close(p.done)
		}()
		select {
		case <-ready:
		case <-p.done:
			fmt.Fprintf(os.Stderr, "%s exited before it was ready\n", p.name)
			os.Exit(2)
		}
		fmt.Printf("-- %s started (pid %d)\n", p.name, cmd.Process.Pid)
	}
	view := func(what string) {
		var parts []string
		for _, p := range procs {
			n := "down"
			if p.cmd != nil && p.cmd.ProcessState == nil {
				var v struct {
					Running []string `json:"running"`
				}
				if resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(p.opsPort) + "/cluster"); err == nil {
					json.NewDecoder(resp.Body).Decode(&v)
					resp.Body.Close()
					n = strconv.Itoa(len(v.Running))
				}
			}
			parts = append(parts, p.name+"="+n)
		}
		rtm, sm := 0, map[string]int{}
		for _, c := range srv.Connections("") {
			if c.App != "" {
				sm[c.App]++
			} else {
				rtm++
			}
		}
		fmt.Printf("   %-22s links per member: %s | fakeslack: %d/%d RTM sockets, Socket Mode per app %v\n", what, strings.Join(parts, " "), rtm, len(teams), sortedCounts(sm))
	}
	settled := func(what string) {
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			per := map[string]int{}
			sm := map[string]int{}
			for _, c := range srv.Connections("") {
				if c.App != "" {
					sm[c.App]++
				} else {
					per[c.Team]++
				}
			}
			ok := len(per) == len(teams)
			for _, n := range per {
				ok = ok && n == 1
			}
			for _, n := range sm {
				ok = ok && n == 4
			}
			if ok && len(sm) == 2 {
				view(what)
				return
			}
		}
		view(what + " (NOT settled)")
	}
	fmt.Printf("demo-cluster: 3 members, %d RTM workspaces, 2 apps of 4 Socket Mode connections, %d events/s\n", nTeams, rate)
	for _, p := range procs {
		start(p)
	}
	settled("all up")

	ctx, cancel := context.WithCancel(context.Background())
	var injected []string
	var injMu sync.Mutex
	var traffic sync.WaitGroup
	traffic.Add(1)
	go func() { // owner: demo; ends at cancel
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
			if err == nil {
				injMu.Lock()
				injected = append(injected, inj.EventID)
				injMu.Unlock()
			}
		}
	}()
	time.Sleep(2 * time.Second)
	view("traffic flowing")

	fmt.Println("-- SIGKILL member3")
	procs[2].cmd.Process.Signal(syscall.SIGKILL)
	<-procs[2].done
	killed := time.Now()
	settled("after SIGKILL")
	fmt.Printf("   every link up again %v after the kill\n", time.Since(killed).Round(time.Millisecond))
	start(procs[2])
	settled("member3 back")

	for _, p := range procs {
		fmt.Printf("-- SIGTERM %s (rolling restart)\n", p.name)
		p.cmd.Process.Signal(syscall.SIGTERM)
		<-p.done
		settled(p.name + " stopped")
		start(p)
		settled(p.name + " back")
		time.Sleep(time.Second)
	}
	cancel()
	traffic.Wait()
	count := func() (lost, dups int) {
		st.mu.Lock()
		defer st.mu.Unlock()
		for _, id := range injected {
			switch n := st.seen[id]; {
			case n == 0:
				lost++
			case n > 1:
				dups++
			}
		}
		return lost, dups
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if lost, _ := count(); lost == 0 {
			break
		}
	}
	lost, dups := count()
	fmt.Printf("\nsummary: %d Socket Mode events injected, %d lost, %d duplicates across the cluster\n", len(injected), lost, dups)
	for _, p := range procs {
		p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range procs {
		<-p.done
	}
	if lost > 0 {
		return 1
	}
	return 0
}

func sortedCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
