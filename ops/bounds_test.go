package ops_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/messages"
	"github.com/switchboard-go/switchboard/ops"
)

// labelValues returns the values label takes in the sample lines of metric in body.
func labelValues(body, metric, label string) []string {
	re := regexp.MustCompile(label + `="([^"]*)"`)
	var out []string
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, metric+"{") {
			continue
		}
		if m := re.FindStringSubmatch(line); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

// Slack's answers name any code they like: 30 distinct codes, with tokens and ANSI escapes in
// them, make no more reconnect series than the fixed vocabulary has, and show in clear neither in
// /metrics, nor /status, nor the logs.
func TestCausesBounded(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	app := f.srv.Apps()[0]
	const n = 30
	for i := range n {
		f.srv.RefuseOpens(app.AppID, 1, fmt.Sprintf("weird_%d \x1b[31mxoxb-1-2-SECRET%d\x1b[0m socket_dial ws://127.0.0.1:34609/link/?ticket=TICKET%d", i, i, i), 0)
	}
	f.addApp(1)
	eventually(t, "30 refusals, then connected", func() bool {
		_, body := f.get("/metrics")
		return metric(body, `switchboard_reconnects_total{app="`+app.AppID+`",cause="other",transport="socketmode"}`) == fmt.Sprint(n) &&
			metric(body, `switchboard_links{app="`+app.AppID+`",state="connected",transport="socketmode"}`) == "1"
	})
	_, body := f.get("/metrics")
	causes := labelValues(body, "switchboard_reconnects_total", "cause")
	if len(causes) != 1 {
		t.Errorf("reconnect series: %v", causes)
	}
	_, status := f.get("/status")
	for where, text := range map[string]string{"/metrics": body, "/status": status, "logs": f.logs.String()} {
		if strings.Contains(text, "SECRET") || strings.Contains(text, "TICKET") || strings.Contains(text, "\x1b") {
			t.Errorf("%s holds a secret or an escape:\n%s", where, grep(text, "xoxb"))
		}
	}
	if !strings.Contains(status, "weird_29") {
		t.Errorf("/status lost the last error:\n%s", status)
	}
	var rep ops.StatusReport
	if err := json.Unmarshal([]byte(status), &rep); err != nil || len(rep.Links) != 1 || !strings.Contains(rep.Links[0].LastError, "xoxb-…") {
		t.Errorf("last error %+v: %v", rep.Links, err)
	}
}

// Event types are Slack's too: the first 100 keep their name, the rest count as other.
func TestEventTypesBounded(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	app := f.addApp(1)
	eventually(t, "connected", func() bool { code, _ := f.get("/healthz"); return code == http.StatusOK })
	ws := f.srv.Workspaces()[0]
	const n = 130
	for i := range n {
		typ := fmt.Sprintf("type_%d", i)
		if i%10 == 0 {
			typ = fmt.Sprintf("xoxb-1-2-SECRET%d\x1b[0m", i)
		}
		ev, _ := json.Marshal(map[string]string{"type": typ, "channel": ws.Channels[0].ID})
		if _, err := f.srv.InjectEvent(app.AppID, ws.TeamID, ev); err != nil {
			t.Fatal(err)
		}
	}
	var body string
	eventually(t, "every event counted", func() bool {
		_, body = f.get("/metrics")
		total := 0
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, "switchboard_events_total{") {
				var v int
				_, _ = fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v)
				total += v
			}
		}
		return total == n
	})
	types := labelValues(body, "switchboard_events_total", "type")
	if len(types) != 101 || !slices.Contains(types, "other") {
		t.Errorf("%d type series, want 100 and other: %v", len(types), types)
	}
	if strings.Contains(body, "SECRET") {
		t.Errorf("a token became a label:\n%s", grep(body, "SECRET"))
	}
}

func TestCause(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{nil, "none"},
		{&messages.SlackError{Method: "apps.connections.open", Code: messages.ErrRateLimited}, "ratelimited"},
		{fmt.Errorf("x: %w", messages.ErrTokenRevoked), "token_revoked"},
		{&messages.SlackError{Method: "rtm.connect", Code: "weird \x1b[31m xoxb-1-2-SECRET"}, "other"},
		{&messages.SocketError{Op: "dial ws://127.0.0.1:34609/…", Err: errors.New("refused")}, "dial"},
		{&messages.SocketError{Op: "read", Err: io.EOF}, "read"},
		{&messages.SocketError{Op: "write", Err: io.EOF}, "write"},
		{&messages.SocketError{Op: "peek xoxb-1", Err: io.EOF}, "other"},
		{messages.ErrStale, "stale"},
		{messages.ErrGoodbye, "goodbye"},
		{messages.ErrHelloTimeout, "hello_timeout"},
		{&messages.RTMReplyError{Code: 1, Msg: "xoxb-1-2-SECRET"}, "rtm_error"},
		{&url.Error{Op: "Post", URL: "http://h/api/x", Err: errors.New("refused")}, "http"},
		{context.DeadlineExceeded, "timeout"},
		{errors.New("xoxb-1-2-SECRET"), "other"},
	} {
		got := ops.Cause(tt.err)
		if got != tt.want {
			t.Errorf("Cause(%v) = %q, want %q", tt.err, got, tt.want)
		}
		if !slices.Contains(ops.Causes(), got) {
			t.Errorf("Cause(%v) = %q is not in Causes()", tt.err, got)
		}
	}
}

// A keep-alive connection left idle is closed after IdleTimeout.
func TestIdleConnectionsClosed(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, ops.Options{IdleTimeout: 200 * time.Millisecond})
	conn, err := net.Dial("tcp", strings.TrimPrefix(f.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: ops\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection: read %v, want EOF (closed by the server)", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("closed after %v", d)
	}
}

// Metrics go to the Registerer given, which may hold the Go and process collectors already;
// /metrics serves it.
func TestRegisterer(t *testing.T) {
	t.Parallel()
	rt, err := switchboard.New()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = rt.Stop(ctx)
	}()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mine := prometheus.NewCounter(prometheus.CounterOpts{Name: "my_own_total", Help: "mine"})
	reg.MustRegister(mine)
	o, err := ops.New(rt, ops.Options{Addr: "127.0.0.1:0", Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	if o.Registry() != nil {
		t.Error("Registry() with a Registerer given")
	}
	addr, err := o.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close(context.Background())
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	for _, want := range []string{"my_own_total 0", "switchboard_acks_total 0", "go_goroutines"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if _, err := ops.New(rt, ops.Options{Registerer: reg}); err == nil {
		t.Error("registering twice on one registry: no error")
	}
	if _, err := ops.New(rt, ops.Options{Registerer: prometheus.WrapRegistererWithPrefix("x_", reg)}); err == nil {
		t.Error("a Registerer that is no Gatherer and no Gatherer: no error")
	}
}

// OnAck observers compose: the program's and ops' both see every ack; one that panics is removed
// and counted, and the others go on.
func TestAckObserversCompose(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	mine := make(chan time.Duration, 100)
	f.rt.OnAck(func(d time.Duration) { mine <- d })
	f.rt.OnAck(func(time.Duration) { panic("ack boom xoxb-1-2-SECRET") })
	app := f.addApp(1)
	eventually(t, "connected", func() bool { code, _ := f.get("/healthz"); return code == http.StatusOK })
	ws := f.srv.Workspaces()[0]
	if _, err := f.srv.InjectMessages(context.Background(), app.AppID, fakeslack.MessageStream{Team: ws.TeamID, Channel: ws.Channels[0].ID, TextPrefix: "m", Count: 5}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "5 acks seen by ops", func() bool {
		_, body := f.get("/metrics")
		return metric(body, "switchboard_ack_latency_seconds_count") == "5" && metric(body, "switchboard_callback_panics_total") == "1"
	})
	if len(mine) != 5 {
		t.Errorf("the program's observer saw %d acks, want 5", len(mine))
	}
	if got := f.rt.Stats().CallbackPanics; got != 1 {
		t.Errorf("CallbackPanics = %d, want 1 (the panicking observer is removed)", got)
	}
	logs := f.logs.String()
	if !strings.Contains(logs, "ack observer panicked") || strings.Contains(logs, "SECRET") {
		t.Errorf("logs:\n%s", grep(logs, "panic"))
	}
}
