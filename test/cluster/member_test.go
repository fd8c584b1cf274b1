package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/cluster"
	"github.com/switchboard-go/switchboard/ops"
)

// memberEnv names the member's JSON config; when set, the test binary is a member.
const memberEnv = "SWITCHBOARD_CLUSTER_MEMBER"

type memberConfig struct {
	APIURL           string      `json:"api_url"`
	Store            string      `json:"store"`
	Port             int         `json:"port"`
	HealthPort       int         `json:"health_port"`
	Peers            []string    `json:"peers"`
	Etcd             []string    `json:"etcd,omitempty"`
	OpsPort          int         `json:"ops_port,omitempty"`           // serves ops.ClusterHandler at /cluster`
	NoCluster        bool        `json:"no_cluster,omitempty"`         // a single process, for the throughput ratio
	Quiet            bool        `json:"quiet,omitempty"`              // print "N <events so far>" every 50ms instead of each event`
	SlowAcks         bool        `json:"slow_acks,omitempty"`          // ack after handlers, and each handler takes 500ms: Slack redelivers`
	Keyed            bool        `json:"keyed,omitempty"`              // a Clustered PerChannel subscription of app_mention: "KEY" and "READ" lines
	AckAfterHandlers bool        `json:"ack_after_handlers,omitempty"` // WithAckAfterHandlers
	QuietKeyed       bool        `json:"quiet_keyed,omitempty"`        // the counting subscription is Clustered and PerChannel
	RTMEcho          bool        `json:"rtm_echo,omitempty"`           // a Clustered PerChannel subscription of RTM messages that answers with Send: "RTMREAD" and "ECHO" lines
	Apps             []appConfig `json:"apps"`
	Workspaces       [][2]string `json:"workspaces"` // team, token
}

type appConfig struct {
	ID, Token   string
	Connections int
}

// runMember is a member's main: it joins, adds the apps and workspaces (every member does: the
// desired set is upserted), prints "EV <event id> <retry attempt>" per Socket Mode event, and
// stops on SIGTERM, handing its links over.
func runMember(path string) int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "member:", err)
		return 2
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fail(err)
	}
	var mc memberConfig
	if err := json.Unmarshal(b, &mc); err != nil {
		return fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	store, err := cluster.OpenSQLite(ctx, mc.Store)
	if err != nil {
		return fail(err)
	}
	defer store.Close()
	log := logrus.New()
	log.SetOutput(os.Stderr)
	log.SetLevel(logrus.WarnLevel)
	opts := []switchboard.Option{switchboard.WithAPIURL(mc.APIURL), switchboard.WithLogger(log),
		switchboard.WithBackoff(100*time.Millisecond, time.Second, time.Minute)}
	if mc.SlowAcks || mc.AckAfterHandlers {
		opts = append(opts, switchboard.WithAckAfterHandlers())
	}
	if !mc.NoCluster {
		opts = append(opts, switchboard.WithCluster(cluster.Config{Port: mc.Port, HealthPort: mc.HealthPort, Peers: mc.Peers, Etcd: mc.Etcd, Store: store}))
	}
	rt, err := switchboard.New(opts...)
	if err != nil {
		return fail(err)
	}
	var mu sync.Mutex
	var events atomic.Int64
	if mc.Quiet {
		go func() { // owner: the member; ends with the process
			last := int64(-1)
			for range time.Tick(20 * time.Millisecond) {
				if n := events.Load(); n != last {
					mu.Lock()
					fmt.Fprintf(os.Stdout, "N %d\n", n)
					mu.Unlock()
					last = n
				}
			}
		}()
	}
	if err := rt.OnEvent("", func(_ context.Context, ev *switchboard.Event) error {
		if mc.Quiet {
			events.Add(1)
			return nil
		}
		mu.Lock()
		fmt.Fprintf(os.Stdout, "EV %s %d\n", ev.EventID, ev.RetryAttempt)
		mu.Unlock()
		if mc.SlowAcks {
			time.Sleep(500 * time.Millisecond)
		}
		return nil
	}, everyOpts(mc)...); err != nil {
		return fail(err)
	}
	if mc.Keyed {
		if err := registerKeyed(rt, &mu); err != nil {
			return fail(err)
		}
	}
	if mc.RTMEcho {
		if err := registerRTMEcho(rt, &mu); err != nil {
			return fail(err)
		}
	}
	for _, a := range mc.Apps {
		if err := rt.AddApp(ctx, switchboard.App{ID: a.ID, Token: a.Token, Connections: a.Connections}); err != nil {
			return fail(err)
		}
	}
	for _, w := range mc.Workspaces {
		if err := rt.AddWorkspace(ctx, switchboard.Workspace{Team: w[0], Token: w[1]}); err != nil {
			return fail(err)
		}
	}
	if mc.OpsPort > 0 { // /metrics, /healthz, /status and /cluster
		opsSrv, err := ops.New(rt, ops.Options{Addr: "127.0.0.1:" + strconv.Itoa(mc.OpsPort)})
		if err != nil {
			return fail(err)
		}
		if _, err := opsSrv.Start(); err != nil {
			return fail(err)
		}
		defer opsSrv.Close(context.Background())
	}
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	go func() { // owner: the member; answers SIGUSR1 with its live heap after a GC
		for range usr1 {
			debug.FreeOSMemory()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			cs, _ := rt.ClusterStatus()
			mu.Lock()
			fmt.Fprintf(os.Stdout, "MEM %d %d\n", ms.HeapInuse+ms.StackInuse, len(cs.Running))
			mu.Unlock()
		}
	}()
	fmt.Fprintln(os.Stdout, "READY", rt.Member())
	if err := rt.Run(ctx, 30*time.Second); err != nil {
		return fail(err)
	}
	return 0
}

// registerKeyed registers, for the keyed test, a plain subscription that prints "READ <member>
// <channel> <n>" for each app_mention where it is read, and a Clustered PerChannel one that prints
// "KEY <member> <channel> <n> <link> <start> <end>" where the channel's actor handled it (n is the
// mention's text "k <channel> <n>"; start and end are unix nanos around a 20ms handler; then the
// retry attempt). READ lines are the originals' only.
func registerKeyed(rt *switchboard.Runtime, mu *sync.Mutex) error {
	self := rt.Member()
	parse := func(ev *switchboard.Event) string {
		f := strings.Fields(ev.Text())
		if len(f) != 3 {
			return "?"
		}
		return f[2]
	}
	if err := rt.OnEvent("app_mention", func(_ context.Context, ev *switchboard.Event) error {
		mu.Lock()
		if ev.RetryAttempt == 0 { // the original's reader: redeliveries are not ordered
			fmt.Fprintf(os.Stdout, "READ %s %s %s\n", self, ev.Channel, parse(ev))
		}
		mu.Unlock()
		return nil
	}, switchboard.Named("read")); err != nil {
		return err
	}
	return rt.OnEvent("app_mention", func(_ context.Context, ev *switchboard.Event) error {
		start := time.Now().UnixNano()
		time.Sleep(20 * time.Millisecond)
		end := time.Now().UnixNano()
		mu.Lock()
		fmt.Fprintf(os.Stdout, "KEY %s %s %s %s %d %d %d\n", self, ev.Channel, parse(ev), ev.Link.Name, start, end, ev.RetryAttempt)
		mu.Unlock()
		return nil
	}, switchboard.Named("conv"), switchboard.PerChannel(0), switchboard.Clustered())
}

// registerRTMEcho registers, for the RTM send test, a plain subscription of RTM messages that
// prints "RTMREAD <member> <team> <channel>" where each is read (on the member that runs the
// workspace), and a Clustered PerChannel one that answers each with Send ("echo <text>") from
// wherever the channel's actor is, printing "ECHO <member> <team> <channel> <ok|error>".
func registerRTMEcho(rt *switchboard.Runtime, mu *sync.Mutex) error {
	self := rt.Member()
	rtmMessages := switchboard.Filter{Kinds: []switchboard.Kind{switchboard.KindRTM}, Types: []string{"message"}}
	if err := rt.Handle(rtmMessages, func(_ context.Context, ev *switchboard.Event) error {
		mu.Lock()
		fmt.Fprintf(os.Stdout, "RTMREAD %s %s %s\n", self, ev.Team, ev.Channel)
		mu.Unlock()
		return nil
	}, switchboard.Named("rtm-read")); err != nil {
		return err
	}
	return rt.Handle(rtmMessages, func(ctx context.Context, ev *switchboard.Event) error {
		_, err := rt.Send(ctx, ev.Team, switchboard.RTMMessage{Channel: ev.Channel, Text: "echo " + ev.Text()})
		res := "ok"
		if err != nil {
			res = strings.ReplaceAll(err.Error(), " ", "_")
		}
		mu.Lock()
		fmt.Fprintf(os.Stdout, "ECHO %s %s %s %s\n", self, ev.Team, ev.Channel, res)
		mu.Unlock()
		return nil
	}, switchboard.Named("rtm-echo"), switchboard.PerChannel(0), switchboard.Clustered())
}

// everyOpts are the options of the member's subscription of every event.
func everyOpts(mc memberConfig) []switchboard.SubscribeOption {
	if mc.QuietKeyed {
		return []switchboard.SubscribeOption{switchboard.Named("every"), switchboard.PerChannel(0), switchboard.Clustered()}
	}
	return nil
}
