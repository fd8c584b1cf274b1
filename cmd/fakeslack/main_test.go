package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sirupsen/logrus"
	"go.uber.org/goleak"

	"github.com/switchboard-go/switchboard/fakeslack"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		if buildDir != "" {
			_ = os.RemoveAll(buildDir)
		}
		os.Exit(code)
	}))
}

const wait = 10 * time.Second

// readBanner reads the first stdout line as the banner, failing the test after wait.
func readBanner(t *testing.T, r io.Reader) banner {
	t.Helper()
	lines := make(chan string, 1)
	errs := make(chan error, 1)
	go func() { // owner: readBanner. Ends at the first line or when r fails.
		line, err := bufio.NewReader(r).ReadString('\n')
		if err != nil {
			errs <- err
			return
		}
		lines <- line
	}()
	select {
	case line := <-lines:
		var b banner
		if err := json.Unmarshal([]byte(line), &b); err != nil {
			t.Fatalf("first line %q is not the banner: %v", line, err)
		}
		return b
	case err := <-errs:
		t.Fatalf("read first line: %v", err)
	case <-time.After(wait):
		t.Fatal("no first line")
	}
	return banner{}
}

// authTest calls auth.test with token over plain HTTP and returns the decoded answer.
func authTest(t *testing.T, apiURL, token string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, apiURL+"auth.test", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("auth.test: %v", err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("auth.test answer: %v", err)
	}
	return m
}

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
	buildDir  string
)

// build compiles the command once per test binary.
func build(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "fakeslack-cmd-test")
		if buildErr != nil {
			return
		}
		binary = filepath.Join(buildDir, "fakeslack")
		out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("go build: %v", buildErr)
	}
	return binary
}

func TestCommandServesUntilSIGTERM(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the command")
	}
	cmd := exec.Command(build(t), "-addr", "127.0.0.1:0", "-workspaces", "3", "-apps", "2")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }() // owner: this test. Ends when the process exits.
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = cmd.Process.Kill()
			<-done
		}
	})

	b := readBanner(t, stdout)
	if !strings.HasSuffix(b.APIURL, "/api/") || !strings.HasSuffix(b.AdminURL, "/_admin/") || len(b.Workspaces) != 3 || len(b.Apps) != 2 {
		t.Fatalf("banner = %+v", b)
	}
	ws := b.Workspaces[1]
	if len(ws.Channels) != 2 || len(ws.Webhooks) != 2 || ws.UserToken == "" || ws.BotToken == "" || len(b.Apps[0].Teams) != 3 {
		t.Fatalf("workspace = %+v", ws)
	}
	if m := authTest(t, b.APIURL, ws.ClassicBotToken); m["ok"] != true || m["team_id"] != ws.TeamID {
		t.Fatalf("auth.test = %v", m)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		stopped = true
		if err != nil {
			t.Fatalf("exit: %v; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(wait):
		t.Fatalf("still running after SIGTERM; stderr:\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "fakeslack serving") {
		t.Errorf("stderr = %q", stderr.String())
	}
	if strings.Contains(stderr.String(), ws.ClassicBotToken) {
		t.Error("a token was logged")
	}
}

func TestCommandBadScriptExits2(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the command")
	}
	script := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(script, []byte("- action: explode\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(build(t), "-script", script)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), `step 1: unknown action "explode"`) {
		t.Fatalf("exit %v, output %q", err, out)
	}
}

// start runs the command in-process until the test ends and returns its banner.
func start(t *testing.T, args ...string) banner {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	codes := make(chan int, 1)
	go func() { // owner: start. Ends when the test's cleanup cancels ctx; the cleanup waits.
		codes <- run(ctx, args, pw, io.Discard)
		_ = pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-codes; code != 0 {
			t.Errorf("run returned %d", code)
		}
	})
	b := readBanner(t, pr)
	go func() { _, _ = io.Copy(io.Discard, pr) }() // owner: start. Ends when run closes pw.
	return b
}

func TestRunScript(t *testing.T) {
	t.Parallel()
	script := filepath.Join(t.TempDir(), "scenario.yaml")
	if err := os.WriteFile(script, []byte(`
- action: archive_channel
  team: ${T1}
  channel: ${T1.C1}
- action: fail_webhook
  url: ${T1.W2}
  count: 1
  status: 403
  body: invalid_token
- action: drop            # no connection yet: drops none
  subject: ${T1}
- after: 10ms
  action: admin
  path: /_admin/tokens/revoke
  body: {token: "${T1.user_token}"}
  repeat: 2
  every: 0.01
`), 0o600); err != nil {
		t.Fatal(err)
	}
	b := start(t, "-workspaces", "1", "-apps", "0", "-script", script)
	ws := b.Workspaces[0]
	// Steps run in order: once the last has run, so have the others.
	deadline := time.Now().Add(wait)
	for authTest(t, b.APIURL, ws.UserToken)["error"] != "token_revoked" {
		if time.Now().After(deadline) {
			t.Fatal("the script did not revoke the user token")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for i, want := range []struct {
		status int
		body   string
	}{{410, "channel_is_archived"}, {403, "invalid_token"}} {
		resp, err := http.Post(ws.Webhooks[i].URL, "application/json", strings.NewReader(`{"text":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != want.status || string(data) != want.body {
			t.Errorf("webhook %d: %d %q, want %d %q", i+1, resp.StatusCode, data, want.status, want.body)
		}
	}
}

func TestRunnerDropsConnections(t *testing.T) {
	t.Parallel()
	srv, err := fakeslack.New(fakeslack.Options{Workspaces: 1, Apps: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ws := srv.Workspaces()[0]
	var conns []*websocket.Conn
	for range 2 {
		req, _ := http.NewRequest(http.MethodPost, srv.APIURL()+"rtm.connect", nil)
		req.Header.Set("Authorization", "Bearer "+ws.ClassicBotToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var m struct{ URL string }
		_ = json.NewDecoder(resp.Body).Decode(&m)
		_ = resp.Body.Close()
		c, r, err := websocket.DefaultDialer.Dial(m.URL, nil)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		_ = r.Body.Close()
		defer c.Close()
		conns = append(conns, c)
	}
	steps, err := parseScript([]byte(`[{"action":"drop","subject":"${T1}","count":1,"clean":true}]`))
	if err != nil {
		t.Fatal(err)
	}
	if err := resolve(steps, srv.Workspaces(), srv.Apps()); err != nil {
		t.Fatal(err)
	}
	l := logrus.New()
	l.SetOutput(io.Discard)
	r := &runner{admin: srv.AdminURL(), hc: http.DefaultClient, log: logrus.NewEntry(l)}
	answer, err := r.do(context.Background(), steps[0])
	if err != nil || !strings.Contains(answer, "rtm-") {
		t.Fatalf("drop: %q %v", answer, err)
	}
	deadline := time.Now().Add(wait)
	for len(srv.Connections(ws.TeamID)) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("connections = %+v, want one left", srv.Connections(ws.TeamID))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := r.do(context.Background(), step{action: "admin", spec: actions["admin"], args: map[string]any{"path": "connections/nope/drop"}}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("unknown connection: %v", err)
	}
}

func TestParseScriptErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ script, want string }{
		{`{"not": "a list"}`, "not a YAML or JSON list"},
		{`- after: 1s`, `step 1: "action" is required`},
		{`- action: nope`, `step 1: unknown action "nope"`},
		{"- action: drop\n- action: drop\n  after: soon", "step 2: after:"},
		{`- {action: drop, every: -1}`, "every: -1 is not a duration"},
		{`- {action: drop, repeat: 0}`, "repeat: 0"},
		{`- {action: drop, repeat: two}`, "repeat: two"},
		{`- {action: inject_rtm_message, team: T1, channel: general}`, `inject_rtm_message needs "text"`},
		{`- {action: inject_rtm_message, team: T1, channel: general, text: x, colour: red}`, `takes no argument "colour"`},
		{`- {action: admin, path: "http://x/_admin/world"}`, "admin: \"path\" must be a path"},
		{`- {action: admin, path: world, method: DELETE}`, "method DELETE"},
	} {
		if _, err := parseScript([]byte(tt.script)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseScript(%q) = %v, want an error with %q", tt.script, err, tt.want)
		}
	}
	steps, err := parseScript([]byte(`{"steps": [{"action": "drop", "after": 1.5}, {"action": "rtm_goodbye", "team": "${T2}"}]}`))
	if err != nil || len(steps) != 2 || steps[0].after != 1500*time.Millisecond || steps[1].repeat != 1 {
		t.Fatalf("steps = %+v, %v", steps, err)
	}
}

func TestResolvePlaceholders(t *testing.T) {
	t.Parallel()
	wss := []fakeslack.Workspace{{
		TeamID: "T1X", ClassicBotToken: "xoxb-c", BotToken: "xoxb-g", UserToken: "xoxp-u", BotUserID: "UBOT",
		Channels: []fakeslack.Channel{{ID: "C1X"}}, Users: []fakeslack.User{{ID: "U1X"}},
		Webhooks: []fakeslack.Webhook{{URL: "http://h/services/T1X/B/s"}},
	}}
	apps := []fakeslack.App{{AppID: "A1X", AppToken: "xapp-1"}}
	steps, err := parseScript([]byte(`
- action: inject_event
  app: ${A1}
  team: ${T1}
  event: {type: message, channel: "${T1.C1}", user: "${T1.U1}", text: "<@${T1.bot_user}> hi", list: ["${A1.app_token}"]}
- {action: revoke_token, token: "${T1.classic_bot_token}"}
- {action: fail_webhook, url: "${T1.W1}", count: 1}
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := resolve(steps, wss, apps); err != nil {
		t.Fatal(err)
	}
	ev := steps[0].args["event"].(map[string]any)
	if steps[0].args["app"] != "A1X" || steps[0].args["team"] != "T1X" || ev["channel"] != "C1X" || ev["user"] != "U1X" ||
		ev["text"] != "<@UBOT> hi" || ev["list"].([]any)[0] != "xapp-1" || steps[1].args["token"] != "xoxb-c" ||
		steps[2].args["url"] != "http://h/services/T1X/B/s" {
		t.Errorf("resolved = %+v", steps)
	}
	for _, bad := range []string{"${T2}", "${T1.C2}", "${T1.W9}", "${A2}", "${A1.bot_token}", "${T1.secret}", "${X1}", "${}"} {
		steps, err := parseScript([]byte(`- {action: revoke_token, token: "` + bad + `"}`))
		if err != nil {
			t.Fatal(err)
		}
		if err := resolve(steps, wss, apps); err == nil || !strings.Contains(err.Error(), "step 1: token:") {
			t.Errorf("resolve(%s) = %v, want an error", bad, err)
		}
	}
}

// TestRecordThenReplay records a session with -record, then replays its server side from a
// script's replay step on a fresh run: a new client gets the recorded message.
func TestRecordThenReplay(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rec := filepath.Join(dir, "session.jsonl")

	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	codes := make(chan int, 1)
	go func() { // owner: this test. Ends when cancel is called below.
		codes <- run(ctx, []string{"-workspaces", "1", "-apps", "0", "-record", rec}, pw, io.Discard)
		_ = pw.Close()
	}()
	b := readBanner(t, pr)
	go func() { _, _ = io.Copy(io.Discard, pr) }() // owner: this test. Ends when run closes pw.
	ws := b.Workspaces[0]
	c := rtmClient(t, b.APIURL, ws.ClassicBotToken)
	resp, err := http.Post(b.AdminURL+"teams/"+ws.TeamID+"/rtm/messages", "application/json",
		strings.NewReader(`{"channel":"general","text":"recorded"}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if f := rtmRead(t, c); f["text"] != "recorded" {
		t.Fatalf("frame = %v", f)
	}
	_ = c.Close()
	cancel()
	if code := <-codes; code != 0 {
		t.Fatalf("recording run returned %d", code)
	}
	data, err := os.ReadFile(rec)
	if err != nil || !strings.Contains(string(data), `"kind":"frame_out"`) || !strings.Contains(string(data), "recorded") {
		t.Fatalf("recording %q (%v) lacks the frame sent", data, err)
	}

	script := filepath.Join(dir, "replay.yaml")
	if err := os.WriteFile(script, []byte("- action: replay\n  file: session.jsonl\n  speed: -1\n  conn_wait: 10s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b2 := start(t, "-workspaces", "1", "-apps", "0", "-script", script)
	c2 := rtmClient(t, b2.APIURL, b2.Workspaces[0].ClassicBotToken)
	if f := rtmRead(t, c2); f["type"] != "message" || f["text"] != "recorded" {
		t.Errorf("replayed frame = %v", f)
	}
}

func TestReplayOfBadRecordingExits2(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, "bad.jsonl"), []byte("not json\n"), 0o600)
	script := filepath.Join(dir, "s.yaml")
	_ = os.WriteFile(script, []byte("- action: replay\n  file: bad.jsonl\n"), 0o600)
	var stderr strings.Builder
	if code := run(context.Background(), []string{"-script", script}, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "recording line 1") {
		t.Errorf("run = %d, stderr %q; want 2 naming the bad line", code, stderr.String())
	}
}

// rtmClient connects over RTM (rtm.connect, then the socket) and reads hello.
func rtmClient(t *testing.T, apiURL, token string) *websocket.Conn {
	t.Helper()
	resp, err := http.PostForm(apiURL+"rtm.connect", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		OK  bool   `json:"ok"`
		URL string `json:"url"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	_ = resp.Body.Close()
	if !body.OK {
		t.Fatalf("rtm.connect: %+v", body)
	}
	c, r, err := websocket.DefaultDialer.Dial(body.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = r.Body.Close()
	t.Cleanup(func() { _ = c.Close() })
	if f := rtmRead(t, c); f["type"] != "hello" {
		t.Fatalf("first frame = %v", f)
	}
	return c
}

func rtmRead(t *testing.T, c *websocket.Conn) map[string]any {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(wait))
	var f map[string]any
	if err := c.ReadJSON(&f); err != nil {
		t.Fatalf("read: %v", err)
	}
	return f
}

func TestHTTPDeliveryFlags(t *testing.T) {
	t.Parallel()
	got := make(chan http.Header, 4)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		w.WriteHeader(http.StatusInternalServerError) // retried after -retry-delays
	}))
	t.Cleanup(app.Close)
	b := start(t, "-apps", "1", "-request-url", app.URL, "-token-rotation", "-retry-delays", "10ms", "-redirect-url", "https://bot.example/cb")
	a := b.Apps[0]
	if a.RequestURL != app.URL || !a.TokenRotation || a.RedirectURL != "https://bot.example/cb" || a.SigningSecret == "" || a.ClientID == "" {
		t.Fatalf("banner app = %+v", a)
	}
	body := `{"team":"` + b.Workspaces[0].TeamID + `","event":{"type":"app_mention","text":"hi"}}`
	resp, err := http.Post(b.AdminURL+"apps/"+a.AppID+"/events", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	for i, want := range []string{"", "1"} {
		select {
		case h := <-got:
			if h.Get("X-Slack-Retry-Num") != want || !strings.HasPrefix(h.Get("X-Slack-Signature"), "v0=") {
				t.Errorf("request %d: retry %q, signature %q", i, h.Get("X-Slack-Retry-Num"), h.Get("X-Slack-Signature"))
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("request %d not received", i)
		}
	}
}

func TestBadDurationFlagsExit2(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-retry-delays", "soon"}, {"-token-lifetime", "0s"}, {"-retry-delays", "-1s"}} {
		if code := run(context.Background(), args, io.Discard, io.Discard); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func TestRunScriptAppActions(t *testing.T) {
	t.Parallel()
	got := make(chan []byte, 8)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- body
	}))
	t.Cleanup(app.Close)
	script := filepath.Join(t.TempDir(), "apps.yaml")
	if err := os.WriteFile(script, []byte(`
- action: configure_app
  app: ${A1}
  request_url: `+app.URL+`
- action: bot_membership
  channel: ${T1.C2}
  member: false
- action: reaction_added
  app: ${A1}
  team: ${T1}
  reaction: eyes
  ts: "1.2"
- action: app_home_opened
  app: ${A1}
  team: ${T1}
- action: expire_token
  token: ${T1.user_token}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	b := start(t, "-workspaces", "1", "-apps", "1", "-script", script)
	var types []string
	for range 2 {
		select {
		case body := <-got:
			var cb struct {
				Event struct{ Type string } `json:"event"`
			}
			_ = json.Unmarshal(body, &cb)
			types = append(types, cb.Event.Type)
		case <-time.After(wait):
			t.Fatalf("events received: %v", types)
		}
	}
	slices.Sort(types) // separate deliveries, in no set order
	if types[0] != "app_home_opened" || types[1] != "reaction_added" {
		t.Errorf("events = %v", types)
	}
	deadline := time.Now().Add(wait)
	for authTest(t, b.APIURL, b.Workspaces[0].UserToken)["error"] != "token_expired" {
		if time.Now().After(deadline) {
			t.Fatal("the script did not expire the user token")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
