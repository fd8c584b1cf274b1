package ops_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/ops"
	"github.com/switchboard-go/switchboard/webhook"
)

// fixture is a runtime on fakeslack with an ops server on a free port.
type fixture struct {
	t    *testing.T
	srv  *fakeslack.Server
	rt   *switchboard.Runtime
	ops  *ops.Server
	base string
	logs *syncBuffer // the runtime's and the ops server's logs, at debug level
}

func newFixture(t *testing.T) *fixture { return newFixtureWith(t, ops.Options{}) }

// newFixtureWith starts the ops server with opts (Addr, NoProcessMetrics set here).
func newFixtureWith(t *testing.T, opts ops.Options) *fixture {
	t.Helper()
	srv, err := fakeslack.New(fakeslack.Options{Workspaces: 2})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := logrus.New()
	log.SetOutput(logs)
	log.SetLevel(logrus.DebugLevel)
	rt, err := switchboard.New(switchboard.WithAPIURL(srv.APIURL()), switchboard.WithLogger(log),
		switchboard.WithBackoff(20*time.Millisecond, 200*time.Millisecond, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	opts.Addr, opts.NoProcessMetrics, opts.Logger = "127.0.0.1:0", true, log
	o, err := ops.New(rt, opts)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := o.Start()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, srv: srv, rt: rt, ops: o, base: "http://" + addr, logs: logs}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rt.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
		if err := o.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		_ = srv.Close()
		http.DefaultClient.CloseIdleConnections()
	})
	return f
}

func (f *fixture) get(path string) (int, string) {
	f.t.Helper()
	resp, err := http.Get(f.base + path)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func (f *fixture) addApp(conns int) fakeslack.App {
	f.t.Helper()
	app := f.srv.Apps()[0]
	inst := switchboard.Installations{}
	for _, ws := range f.srv.Workspaces() {
		inst[ws.TeamID] = ws.BotToken
	}
	if err := f.rt.AddApp(context.Background(), switchboard.App{ID: app.AppID, Token: app.AppToken, Connections: conns, Installations: inst}); err != nil {
		f.t.Fatal(err)
	}
	return app
}

// eventually polls cond until it holds, failing after 10s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// metric returns the value of the sample line starting with name{labels} (or name), or "".
func metric(body, series string) string {
	for _, line := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			return rest
		}
	}
	return ""
}

// /healthz is 503 with no links and while a link is not up, 200 once every link is connected,
// and stays 200 when a link stops for good (a fatal link needs a person, not a restart).
func TestHealthz(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if code, _ := f.get("/healthz"); code != http.StatusServiceUnavailable {
		t.Fatalf("no links: /healthz %d, want 503", code)
	}
	ws := f.srv.Workspaces()[1]
	f.srv.RefuseOpens(ws.TeamID, 1000, "ratelimited", 30*time.Second) // held reconnecting
	if err := f.rt.AddWorkspace(context.Background(), switchboard.Workspace{Team: ws.TeamID, Token: ws.ClassicBotToken}); err != nil {
		t.Fatal(err)
	}
	f.addApp(2)
	eventually(t, "app links connected", func() bool {
		var h ops.Health
		_, body := f.get("/healthz")
		_ = json.Unmarshal([]byte(body), &h)
		return len(h.Waiting) == 1 && h.Waiting[0] == ws.TeamID
	})
	code, body := f.get("/healthz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, `"ready": false`) {
		t.Fatalf("a link reconnecting: /healthz %d %s, want 503 not ready", code, body)
	}
	if err := f.rt.RemoveWorkspace(context.Background(), ws.TeamID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "ready", func() bool { code, _ := f.get("/healthz"); return code == http.StatusOK })

	f.srv.RevokeToken(f.srv.Apps()[0].AppToken)
	eventually(t, "both app links fatal", func() bool {
		for _, st := range f.rt.Status() {
			if st.State != "fatal" {
				return false
			}
		}
		return true
	})
	if code, body := f.get("/healthz"); code != http.StatusOK {
		t.Fatalf("fatal links: /healthz %d %s, want 200", code, body)
	}
}

// /status is the fleet as rt.Status() sees it, sorted, with the runtime's counters.
func TestStatus(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	app := f.addApp(2)
	eventually(t, "connected", func() bool { code, _ := f.get("/healthz"); return code == http.StatusOK })
	ws := f.srv.Workspaces()[0]
	if _, err := f.srv.InjectMessages(context.Background(), app.AppID, fakeslack.MessageStream{Team: ws.TeamID, Channel: ws.Channels[0].ID, TextPrefix: "m", Count: 5}); err != nil {
		t.Fatal(err)
	}
	var rep ops.StatusReport
	eventually(t, "5 events in /status", func() bool {
		code, body := f.get("/status")
		if code != http.StatusOK || json.Unmarshal([]byte(body), &rep) != nil {
			return false
		}
		return rep.Stats.EventsIn == 5
	})
	if len(rep.Links) != 2 || rep.Links[0].Link.Name != app.AppID+"/1" || rep.Links[1].Link.Name != app.AppID+"/2" {
		t.Fatalf("links %+v", rep.Links)
	}
	for _, l := range rep.Links {
		if l.State != "connected" || l.Session == 0 || l.ConnectedAt.IsZero() {
			t.Errorf("link %+v", l)
		}
	}

	// One naming style throughout: every key snake_case, the link's and the counters' included.
	_, body := f.get("/status")
	var doc any
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	jsonKeys(doc, keys)
	for k := range keys {
		if !snakeCase.MatchString(k) {
			t.Errorf("/status key %q is not snake_case:\n%s", k, body)
		}
	}
	for _, k := range []string{"links", "link", "transport", "app", "name", "state", "session_start", "connected_at", "stats", "events_in", "handler_errors"} {
		if !keys[k] {
			t.Errorf("/status has no key %q:\n%s", k, body)
		}
	}
}

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// jsonKeys adds every object key in v, at any depth, to keys.
func jsonKeys(v any, keys map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			keys[k] = true
			jsonKeys(e, keys)
		}
	case []any:
		for _, e := range v {
			jsonKeys(e, keys)
		}
	}
}

// /metrics carries links by state, connects, reconnects by cause, events by type, the runtime's
// counters, ack latency, subscriber queues and webhook outcomes, by app and transport; per link
// only when asked.
func TestMetrics(t *testing.T) {
	t.Parallel()
	for _, perLink := range []bool{false, true} {
		t.Run(fmt.Sprintf("per-link=%v", perLink), func(t *testing.T) {
			t.Parallel()
			testMetrics(t, perLink)
		})
	}
}

func testMetrics(t *testing.T, perLink bool) {
	f := newFixtureWith(t, ops.Options{PerLinkMetrics: perLink})
	app := f.addApp(1)
	eventually(t, "connected", func() bool { code, _ := f.get("/healthz"); return code == http.StatusOK })
	ws := f.srv.Workspaces()[0]
	if _, err := f.srv.InjectMessages(context.Background(), app.AppID, fakeslack.MessageStream{Team: ws.TeamID, Channel: ws.Channels[0].ID, TextPrefix: "m", Count: 7}); err != nil {
		t.Fatal(err)
	}
	link := app.AppID + "/1"
	eventually(t, "7 message events counted", func() bool {
		_, body := f.get("/metrics")
		return metric(body, `switchboard_events_total{kind="events_api",type="message"}`) == "7" &&
			metric(body, "switchboard_acks_total") == "7" && metric(body, "switchboard_ack_latency_seconds_count") == "7"
	})
	conns := f.srv.Connections(app.AppID)
	if err := f.srv.DropConnection(conns[0].ID, false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a reconnect counted and the link back up", func() bool {
		_, body := f.get("/metrics")
		ok := metric(body, `switchboard_reconnects_total{app="`+app.AppID+`",cause="read",transport="socketmode"}`) == "1" &&
			metric(body, `switchboard_connects_total{app="`+app.AppID+`",transport="socketmode"}`) == "2" &&
			metric(body, `switchboard_links{app="`+app.AppID+`",state="connected",transport="socketmode"}`) == "1"
		if perLink {
			ok = ok && metric(body, `switchboard_link_reconnects_total{cause="read",link="`+link+`"}`) == "1" &&
				metric(body, `switchboard_link_connects_total{link="`+link+`"}`) == "2" &&
				metric(body, `switchboard_link_state{link="`+link+`",state="connected",transport="socketmode"}`) == "1"
		}
		return ok
	})
	if _, body := f.get("/metrics"); !perLink && strings.Contains(body, "link=") {
		t.Errorf("per-link series without PerLinkMetrics:\n%s", grep(body, "link="))
	}

	hooks, err := webhook.New()
	if err != nil {
		t.Fatal(err)
	}
	defer hooks.Close()
	sender, err := webhook.NewSender(hooks, webhook.WithResultHandler(f.ops.ObserveWebhook))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := sender.Enqueue(ctx, ws.Webhooks[0].URL, webhook.Message{Text: "deployed"}); err != nil {
		t.Fatal(err)
	}
	if _, err := sender.Enqueue(ctx, f.srv.URL()+"/services/TNOPE/BNOPE/nope", webhook.Message{Text: "lost"}); err != nil {
		t.Fatal(err)
	}
	if err := sender.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	_, body := f.get("/metrics")
	for series, want := range map[string]string{
		`switchboard_webhook_sends_total{outcome="delivered"}`:                                   "1",
		`switchboard_webhook_sends_total{outcome="no_service"}`:                                  "1",
		`switchboard_links{app="` + app.AppID + `",state="reconnecting",transport="socketmode"}`: "0",
		"switchboard_events_in_total":                                                            "7",
		"switchboard_duplicates_dropped_total":                                                   "0",
		"switchboard_callback_panics_total":                                                      "0",
		`switchboard_subscriber_queue_depth{subscription="ops-events"}`:                          "0",
		`switchboard_subscriber_dropped_total{subscription="ops-events"}`:                        "0",
	} {
		if got := metric(body, series); got != want {
			t.Errorf("%s = %q, want %q", series, got, want)
		}
	}
	if !strings.Contains(body, `switchboard_webhook_sends_total{outcome="`) || strings.Count(body, "switchboard_webhook_sends_total{") != 2 {
		t.Errorf("webhook outcomes:\n%s", grep(body, "webhook"))
	}
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func grep(body, s string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
