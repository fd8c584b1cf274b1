package switchboard_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
)

// appEnv is a runtime with one Socket Mode app installed in every workspace of its own fakeslack,
// its logs kept as JSON lines.
type appEnv struct {
	t    *testing.T
	srv  *fakeslack.Server
	rt   *switchboard.Runtime
	app  fakeslack.App
	ws   []fakeslack.Workspace
	logs *logSink
}

func newAppEnv(t *testing.T, workspaces int, opts ...switchboard.Option) *appEnv {
	t.Helper()
	srv, err := fakeslack.New(fakeslack.Options{Workspaces: workspaces, Apps: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	logs := &logSink{}
	log := logrus.New()
	log.SetOutput(logs)
	log.SetFormatter(&logrus.JSONFormatter{})
	rt, err := switchboard.New(append([]switchboard.Option{switchboard.WithAPIURL(srv.APIURL()), switchboard.WithLogger(log)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rt.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return &appEnv{t: t, srv: srv, rt: rt, app: srv.Apps()[0], ws: srv.Workspaces(), logs: logs}
}

// start adds the app with every workspace's bot token and waits for its socket.
func (e *appEnv) start() {
	e.t.Helper()
	inst := switchboard.Installations{}
	for _, w := range e.ws {
		inst[w.TeamID] = w.BotToken
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.rt.AddApp(ctx, switchboard.App{ID: e.app.AppID, Token: e.app.AppToken, Installations: inst}); err != nil {
		e.t.Fatal(err)
	}
	waitUntil(e.t, "the app's socket", func() bool { return len(e.srv.Connections(e.app.AppID)) > 0 })
}

func (e *appEnv) interaction(in fakeslack.Interaction) fakeslack.Injected {
	e.t.Helper()
	if in.Team == "" {
		in.Team = e.ws[0].TeamID
	}
	inj, err := e.srv.InjectInteraction(e.app.AppID, in)
	if err != nil {
		e.t.Fatal(err)
	}
	return inj
}

func (e *appEnv) command(cmd fakeslack.SlashCommand) fakeslack.Injected {
	e.t.Helper()
	if cmd.Team == "" {
		cmd.Team = e.ws[0].TeamID
	}
	inj, err := e.srv.InjectSlashCommand(e.app.AppID, cmd)
	if err != nil {
		e.t.Fatal(err)
	}
	return inj
}

// event injects an Events API event of the first workspace, in its first channel unless fields
// say otherwise.
func (e *appEnv) event(fields map[string]any) fakeslack.Injected {
	e.t.Helper()
	ev := map[string]any{"type": "message", "channel": e.ws[0].Channels[0].ID, "user": e.ws[0].Users[0].ID}
	for k, v := range fields {
		ev[k] = v
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		e.t.Fatal(err)
	}
	inj, err := e.srv.InjectEvent(e.app.AppID, e.ws[0].TeamID, raw)
	if err != nil {
		e.t.Fatal(err)
	}
	return inj
}

// logLine returns the first JSON log line whose msg is msg and whose fields include want.
func (e *appEnv) logLine(msg string, want map[string]string) map[string]any {
	sc := bufio.NewScanner(strings.NewReader(e.logs.String()))
	sc.Buffer(nil, 1<<20)
next:
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil || m["msg"] != msg {
			continue
		}
		for k, v := range want {
			if fmt.Sprint(m[k]) != v {
				continue next
			}
		}
		return m
	}
	return nil
}

// recorder keeps what handlers saw, safe for concurrent use.
type recorder struct {
	mu  sync.Mutex
	got []string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, s)
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

func (r *recorder) has(s string) bool {
	for _, g := range r.list() {
		if g == s {
			return true
		}
	}
	return false
}

// waitUntil polls cond every 10 ms for up to 10 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
