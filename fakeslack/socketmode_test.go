package fakeslack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboard-go/switchboard/fakeslack"
)

const smWait = 5 * time.Second

// smOpen calls apps.connections.open with the given Authorization token (none when "") and form
// body, and returns the HTTP status, the decoded body and the headers.
func smOpen(t testing.TB, srv *fakeslack.Server, bearer string, form url.Values) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.APIURL()+"apps.connections.open", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("apps.connections.open: %v", err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("apps.connections.open body: %v", err)
	}
	return resp.StatusCode, body, resp.Header
}

// smURL opens a socket URL for app's token, failing the test on an error answer.
func smURL(t testing.TB, srv *fakeslack.Server, app fakeslack.App) string {
	t.Helper()
	status, body, _ := smOpen(t, srv, app.AppToken, nil)
	if status != http.StatusOK || body["ok"] != true {
		t.Fatalf("apps.connections.open: %d %v", status, body)
	}
	return body["url"].(string)
}

// smClient is a raw Socket Mode client: a goroutine reads frames into channels; the test writes.
type smClient struct {
	t      testing.TB
	c      *websocket.Conn
	frames chan map[string]any
	pings  chan string
	pongs  chan string
	done   chan struct{} // closed when the read loop ends; err is then set
	err    error
	wmu    sync.Mutex
}

// smDialURL dials a socket URL and starts reading it; the socket is closed when the test ends.
func smDialURL(t testing.TB, u string) *smClient {
	t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial socket mode URL: %v", err)
	}
	_ = resp.Body.Close()
	cl := &smClient{t: t, c: c, frames: make(chan map[string]any, 100000), pings: make(chan string, 100),
		pongs: make(chan string, 100), done: make(chan struct{})}
	c.SetPingHandler(func(data string) error {
		select {
		case cl.pings <- data:
		default:
		}
		cl.wmu.Lock()
		defer cl.wmu.Unlock()
		return c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	c.SetPongHandler(func(data string) error {
		select {
		case cl.pongs <- data:
		default:
		}
		return nil
	})
	go func() { // owner: the test. Ends when the socket closes; the cleanup closes it and waits.
		defer close(cl.done)
		for {
			_, data, err := c.ReadMessage()
			if err != nil {
				cl.err = err
				return
			}
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				m = map[string]any{"unparsable": string(data)}
			}
			cl.frames <- m
		}
	}()
	t.Cleanup(func() {
		_ = c.Close()
		<-cl.done
	})
	return cl
}

// smConnect opens and dials a socket for app (with extra query text appended to the URL) and
// returns the client and its hello.
func smConnect(t testing.TB, srv *fakeslack.Server, app fakeslack.App, extra string) (*smClient, map[string]any) {
	t.Helper()
	cl := smDialURL(t, smURL(t, srv, app)+extra)
	hello := cl.next(smWait)
	if hello["type"] != "hello" {
		t.Fatalf("first frame = %v, want hello", hello)
	}
	return cl, hello
}

// next returns the next frame, failing the test on timeout or closure.
func (cl *smClient) next(timeout time.Duration) map[string]any {
	cl.t.Helper()
	select {
	case m := <-cl.frames:
		return m
	case <-time.After(timeout):
		cl.t.Fatalf("no frame within %v", timeout)
	case <-cl.done:
		select {
		case m := <-cl.frames:
			return m
		default:
		}
		cl.t.Fatalf("socket closed while waiting for a frame: %v", cl.err)
	}
	return nil
}

// nextEnvelope returns the next frame, which must carry an envelope_id.
func (cl *smClient) nextEnvelope(timeout time.Duration) map[string]any {
	cl.t.Helper()
	m := cl.next(timeout)
	if _, ok := m["envelope_id"].(string); !ok {
		cl.t.Fatalf("frame %v is not an envelope", m)
	}
	return m
}

// write sends a raw text frame.
func (cl *smClient) write(data string) {
	cl.t.Helper()
	cl.wmu.Lock()
	defer cl.wmu.Unlock()
	if err := cl.c.WriteMessage(websocket.TextMessage, []byte(data)); err != nil {
		cl.t.Fatalf("write: %v", err)
	}
}

// ack acks an envelope, with payload when it is not nil.
func (cl *smClient) ack(envelopeID string, payload any) {
	cl.t.Helper()
	m := map[string]any{"envelope_id": envelopeID}
	if payload != nil {
		m["payload"] = payload
	}
	b, _ := json.Marshal(m)
	cl.write(string(b))
}

// closed waits for the server to end the socket and returns the read error.
func (cl *smClient) closed(timeout time.Duration) error {
	cl.t.Helper()
	select {
	case <-cl.done:
		return cl.err
	case <-time.After(timeout):
		cl.t.Fatalf("socket still open after %v", timeout)
		return nil
	}
}

// closeCode returns the close code of a read error, or -1.
func closeCode(err error) int {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return -1
}

func firstApp(srv *fakeslack.Server) (fakeslack.App, fakeslack.Workspace) {
	return srv.Apps()[0], srv.Workspaces()[0]
}

func payloadOf(t testing.TB, env map[string]any) map[string]any {
	t.Helper()
	p, ok := env["payload"].(map[string]any)
	if !ok {
		t.Fatalf("envelope %v has no payload object", env)
	}
	return p
}

func TestSocketModeOpenErrors(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	app, ws := firstApp(srv)
	srv.RefuseOpens(app.AppID, 1, "ratelimited", 2*time.Second)
	status, body, hdr := smOpen(t, srv, app.AppToken, nil)
	if status != http.StatusTooManyRequests || body["error"] != "ratelimited" || hdr.Get("Retry-After") != "2" {
		t.Errorf("refused open = %d %v Retry-After %q, want 429 ratelimited 2", status, body, hdr.Get("Retry-After"))
	}
	for _, tt := range []struct {
		name   string
		bearer string
		form   url.Values
		want   string
	}{
		{"no token", "", nil, "not_authed"},
		{"form token", "", url.Values{"token": {app.AppToken}}, "invalid_auth"},
		{"unknown token", "xapp-1-nope", nil, "invalid_auth"},
		{"bot token", ws.BotToken, nil, "not_allowed_token_type"},
		{"user token", ws.UserToken, nil, "not_allowed_token_type"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body, _ := smOpen(t, srv, tt.bearer, tt.form)
			if status != http.StatusOK || body["ok"] != false || body["error"] != tt.want {
				t.Errorf("open = %d %v, want 200 %s", status, body, tt.want)
			}
		})
	}
	if !srv.RevokeToken(app.AppToken) {
		t.Fatal("RevokeToken: unknown token")
	}
	if _, body, _ := smOpen(t, srv, app.AppToken, nil); body["error"] != "token_revoked" {
		t.Errorf("open with a revoked token = %v, want token_revoked", body)
	}
}

func TestSocketModeOpenURLAndHello(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	app, _ := firstApp(srv)
	raw := smURL(t, srv, app)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "ws" || u.Path != "/link/" || u.Query().Get("ticket") == "" || u.Query().Get("app_id") != app.AppID {
		t.Errorf("url %s: want ws://host/link/?ticket=…&app_id=%s", u.Redacted(), app.AppID)
	}
	cl := smDialURL(t, raw)
	hello := cl.next(smWait)
	want := fmt.Sprintf(`{"connection_info":{"app_id":%q},"debug_info":{"approximate_connection_time":18060,"build_number":1,"host":"applink-local"},"num_connections":1,"type":"hello"}`, app.AppID)
	if got, _ := json.Marshal(hello); string(got) != want {
		t.Errorf("hello = %s\nwant    %s", got, want)
	}
	// The ticket is single-use.
	if c, resp, err := websocket.DefaultDialer.Dial(raw, nil); err == nil {
		_ = c.Close()
		t.Error("second dial with the same ticket succeeded")
	} else if resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("second dial: %v, want HTTP 401", err)
	}
	if n := len(srv.Connections(app.AppID)); n != 1 {
		t.Errorf("Connections(app) has %d sockets, want 1", n)
	}
}

func TestSocketModeNumConnectionsAndTooMany(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	app, _ := firstApp(srv)
	for i := 1; i <= 10; i++ {
		_, hello := smConnect(t, srv, app, "")
		if n := hello["num_connections"]; n != float64(i) {
			t.Fatalf("hello %d num_connections = %v", i, n)
		}
	}
	cl := smDialURL(t, smURL(t, srv, app))
	f := cl.next(smWait)
	if f["type"] != "disconnect" || f["reason"] != "too_many_websockets" ||
		f["debug_info"].(map[string]any)["host"] != "applink-local" {
		t.Errorf("11th socket's first frame = %v, want disconnect too_many_websockets", f)
	}
	if err := cl.closed(smWait); closeCode(err) != websocket.CloseAbnormalClosure {
		t.Errorf("11th socket ended with %v, want 1006 (no close frame)", err)
	}
	waitFor(t, smWait, "the refused socket gone", func() bool { return len(srv.Connections(app.AppID)) == 10 })
}

func TestSocketModeTooManyCloseCodeOption(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{SocketMode: fakeslack.SocketModeOptions{MaxConnections: 1, TooManyCloseCode: websocket.ClosePolicyViolation}})
	app, _ := firstApp(srv)
	smConnect(t, srv, app, "")
	cl := smDialURL(t, smURL(t, srv, app))
	if f := cl.next(smWait); f["reason"] != "too_many_websockets" {
		t.Errorf("second socket got %v", f)
	}
	if err := cl.closed(smWait); closeCode(err) != websocket.ClosePolicyViolation {
		t.Errorf("second socket ended with %v, want close 1008", err)
	}
}

func TestSocketModeMaxConnectionsOption(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{SocketMode: fakeslack.SocketModeOptions{MaxConnections: 1}})
	app, _ := firstApp(srv)
	first, _ := smConnect(t, srv, app, "")
	second := smDialURL(t, smURL(t, srv, app))
	if f := second.next(smWait); f["reason"] != "too_many_websockets" {
		t.Errorf("second socket got %v", f)
	}
	second.closed(smWait)
	// Once the first closes, a new one is welcome and counted alone.
	_ = first.c.Close()
	waitFor(t, smWait, "first socket gone", func() bool { return len(srv.Connections(app.AppID)) == 0 })
	if _, hello := smConnect(t, srv, app, ""); hello["num_connections"] != float64(1) {
		t.Errorf("hello after reopening = %v", hello)
	}
}

func TestSocketModePings(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{SocketMode: fakeslack.SocketModeOptions{PingInterval: 20 * time.Millisecond}})
	app, _ := firstApp(srv)
	cl, _ := smConnect(t, srv, app, "")
	for range 3 {
		select {
		case p := <-cl.pings:
			if p != "Ping from applink-local" {
				t.Fatalf("ping payload %q", p)
			}
		case <-time.After(smWait):
			t.Fatal("no server ping")
		}
	}
	// The server answers the client's pings with the same payload.
	cl.wmu.Lock()
	err := cl.c.WriteControl(websocket.PingMessage, []byte("Ping from client (1)"), time.Now().Add(time.Second))
	cl.wmu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-cl.pongs:
		if p != "Ping from client (1)" {
			t.Errorf("pong payload %q", p)
		}
	case <-time.After(smWait):
		t.Fatal("no pong")
	}
}

func TestSocketModeEventEnvelope(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	app, ws := firstApp(srv)
	cl, _ := smConnect(t, srv, app, "")
	ev := fmt.Sprintf(`{"type":"app_mention","text":"<@%s> hey","user":%q,"channel":%q}`, ws.BotUserID, ws.Users[0].ID, ws.Channels[0].ID)
	inj, err := srv.InjectEvent(app.AppID, ws.TeamID, json.RawMessage(ev))
	if err != nil {
		t.Fatal(err)
	}
	env := cl.nextEnvelope(smWait)
	if env["envelope_id"] != inj.EnvelopeID || env["type"] != "events_api" || env["accepts_response_payload"] != false ||
		env["retry_attempt"] != float64(0) || env["retry_reason"] != "" {
		t.Errorf("envelope = %v", env)
	}
	p := payloadOf(t, env)
	for k, want := range map[string]any{"type": "event_callback", "team_id": ws.TeamID, "api_app_id": app.AppID,
		"event_id": inj.EventID, "is_ext_shared_channel": false} {
		if p[k] != want {
			t.Errorf("payload[%s] = %v, want %v", k, p[k], want)
		}
	}
	for _, k := range []string{"token", "event_time", "event_context"} {
		if _, ok := p[k]; !ok {
			t.Errorf("payload has no %s", k)
		}
	}
	auth := p["authorizations"].([]any)[0].(map[string]any)
	if auth["team_id"] != ws.TeamID || auth["user_id"] != ws.BotUserID || auth["is_bot"] != true || auth["enterprise_id"] != nil {
		t.Errorf("authorizations = %v", auth)
	}
	inner := p["event"].(map[string]any)
	if inner["type"] != "app_mention" || inner["channel"] != ws.Channels[0].ID || inner["event_ts"] == nil || inner["ts"] != inner["event_ts"] {
		t.Errorf("event = %v", inner)
	}
	cl.ack(inj.EnvelopeID, nil)
	waitFor(t, smWait, "ack counted", func() bool { return srv.Stats().Acked == 1 })
	if p, ok := srv.AckPayload(inj.EnvelopeID); !ok || p != nil {
		t.Errorf("AckPayload = %s, %v; want nil, true", p, ok)
	}
	if st := srv.Stats(); st.Delivered != 1 || st.Redelivered != 0 || st.Unacked != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestSocketModeInjectEventErrors(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	app, ws := firstApp(srv)
	for _, tt := range []struct {
		name      string
		app, team string
		event     string
		want      error
	}{
		{"unknown app", "A0NOPE", ws.TeamID, `{"type":"message"}`, fakeslack.ErrNoApp},
		{"unknown team", app.AppID, "T0NOPE", `{"type":"message"}`, fakeslack.ErrNoWorkspace},
		{"not an object", app.AppID, ws.TeamID, `[1]`, fakeslack.ErrNotObject},
		{"no type", app.AppID, ws.TeamID, `{"text":"x"}`, fakeslack.ErrInvalidInjection},
	} {
		if _, err := srv.InjectEvent(tt.app, tt.team, json.RawMessage(tt.event)); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := srv.InjectSlashCommand(app.AppID, fakeslack.SlashCommand{Team: ws.TeamID, Command: "/x"}); !errors.Is(err, fakeslack.ErrNoSocket) {
		t.Errorf("slash command with no socket: %v, want ErrNoSocket", err)
	}
	if _, err := srv.InjectInteraction(app.AppID, fakeslack.Interaction{Team: ws.TeamID}); !errors.Is(err, fakeslack.ErrNoSocket) {
		t.Errorf("interaction with no socket: %v, want ErrNoSocket", err)
	}
	if _, err := srv.InjectInteraction(app.AppID, fakeslack.Interaction{Team: ws.TeamID, Type: "nope"}); !errors.Is(err, fakeslack.ErrInvalidInjection) {
		t.Errorf("unknown interaction type: %v", err)
	}
}

func TestSocketModeSlashCommand(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	app, ws := firstApp(srv)
	cl, _ := smConnect(t, srv, app, "")
	inj, err := srv.InjectSlashCommand(app.AppID, fakeslack.SlashCommand{Team: ws.TeamID, Channel: "general", Command: "/deploy", Text: "prod now"})
	if err != nil {
		t.Fatal(err)
	}
	env := cl.nextEnvelope(smWait)
	if env["type"] != "slash_commands" || env["accepts_response_payload"] != true || env["envelope_id"] != inj.EnvelopeID {
		t.Errorf("envelope = %v", env)
	}
	if _, ok := env["retry_attempt"]; ok {
		t.Error("slash command envelope has retry_attempt")
	}
	p := payloadOf(t, env)
	for k, want := range map[string]any{"command": "/deploy", "text": "prod now", "team_id": ws.TeamID, "team_domain": ws.Domain,
		"channel_id": ws.Channels[0].ID, "channel_name": "general", "user_id": ws.Users[0].ID, "user_name": ws.Users[0].Name,
		"api_app_id": app.AppID, "response_url": inj.ResponseURL, "trigger_id": inj.TriggerID} {
		if p[k] != want {
			t.Errorf("payload[%s] = %v, want %v", k, p[k], want)
		}
	}
	if !strings.HasPrefix(inj.ResponseURL, srv.URL()+"/commands/"+ws.TeamID+"/") {
		t.Errorf("response_url %s", inj.ResponseURL)
	}
	cl.ack(inj.EnvelopeID, map[string]any{"response_type": "in_channel", "text": "deploying"})
	waitFor(t, smWait, "ack", func() bool { _, ok := srv.AckPayload(inj.EnvelopeID); return ok })
	got, _ := srv.AckPayload(inj.EnvelopeID)
	if string(got) != `{"response_type":"in_channel","text":"deploying"}` {
		t.Errorf("AckPayload = %s", got)
	}
	acks := srv.Transcript().Entries(func(e fakeslack.Entry) bool { return e.Kind == fakeslack.KindAck })
	if len(acks) != 1 || acks[0].Method != "slash_commands" || string(acks[0].Data) != string(got) || acks[0].App != app.AppID {
		t.Errorf("ack transcript = %+v", acks)
	}
}

func TestSocketModeInteractiveEnvelopes(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	app, ws := firstApp(srv)
	cl, _ := smConnect(t, srv, app, "")
	for _, tt := range []struct {
		in      fakeslack.Interaction
		accepts bool
		keys    []string
		respURL string // response_url path kind, "" for none
	}{
		{fakeslack.Interaction{ActionID: "approve", Value: "yes"}, false, []string{"actions", "container", "message", "channel", "trigger_id", "response_url"}, "actions"},
		{fakeslack.Interaction{Type: "view_submission", CallbackID: "form", Values: json.RawMessage(`{"b":{"a":{"type":"plain_text_input","value":"x"}}}`)}, true, []string{"view", "response_urls", "trigger_id"}, ""},
		{fakeslack.Interaction{Type: "shortcut", CallbackID: "do-something"}, false, []string{"callback_id", "trigger_id", "action_ts"}, ""},
		{fakeslack.Interaction{Type: "message_action", CallbackID: "msg"}, false, []string{"message", "channel", "message_ts", "response_url"}, "app"},
		{fakeslack.Interaction{Type: "block_suggestion", ActionID: "search", Value: "an"}, true, []string{"view", "block_id", "action_id", "value"}, ""},
	} {
		tt.in.Team = ws.TeamID
		inj, err := srv.InjectInteraction(app.AppID, tt.in)
		if err != nil {
			t.Fatalf("%s: %v", tt.in.Type, err)
		}
		env := cl.nextEnvelope(smWait)
		p := payloadOf(t, env)
		wantType := tt.in.Type
		if wantType == "" {
			wantType = "block_actions"
		}
		if env["type"] != "interactive" || env["accepts_response_payload"] != tt.accepts || p["type"] != wantType {
			t.Errorf("%s envelope = %v", wantType, env)
		}
		for _, k := range tt.keys {
			if _, ok := p[k]; !ok {
				t.Errorf("%s payload has no %s", wantType, k)
			}
		}
		if tt.respURL != "" && (p["response_url"] != inj.ResponseURL || !strings.Contains(inj.ResponseURL, "/"+tt.respURL+"/")) {
			t.Errorf("%s response_url %v (returned %s)", wantType, p["response_url"], inj.ResponseURL)
		}
		if team := p["team"].(map[string]any); team["id"] != ws.TeamID {
			t.Errorf("%s team = %v", wantType, team)
		}
		cl.ack(inj.EnvelopeID, nil)
	}
	waitFor(t, smWait, "5 acks", func() bool { return srv.Stats().Acked == 5 })
}

func TestSocketModeViewSubmissionAckPayload(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	app, ws := firstApp(srv)
	cl, _ := smConnect(t, srv, app, "")
	inj, err := srv.InjectInteraction(app.AppID, fakeslack.Interaction{Type: "view_submission", Team: ws.TeamID})
	if err != nil {
		t.Fatal(err)
	}
	env := cl.nextEnvelope(smWait)
	view := payloadOf(t, env)["view"].(map[string]any)
	if view["callback_id"] != "callback" || view["state"].(map[string]any)["values"] == nil {
		t.Errorf("view = %v", view)
	}
	cl.write(`{"envelope_id":"` + inj.EnvelopeID + `","payload":{"response_action":"clear"}}`)
	waitFor(t, smWait, "ack", func() bool { _, ok := srv.AckPayload(inj.EnvelopeID); return ok })
	if p, _ := srv.AckPayload(inj.EnvelopeID); string(p) != `{"response_action":"clear"}` {
		t.Errorf("AckPayload = %s", p)
	}
}

func TestSocketModeEmptyAckPayloads(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	app, ws := firstApp(srv)
	cl, _ := smConnect(t, srv, app, "")
	for _, ack := range []string{`{"envelope_id":%q,"payload":{}}`, `{"envelope_id":%q}`, `{"envelope_id":%q,"payload":null}`} {
		inj, err := srv.InjectSlashCommand(app.AppID, fakeslack.SlashCommand{Team: ws.TeamID, Command: "/x"})
		if err != nil {
			t.Fatal(err)
		}
		cl.nextEnvelope(smWait)
		cl.write(fmt.Sprintf(ack, inj.EnvelopeID))
		waitFor(t, smWait, "ack", func() bool { _, ok := srv.AckPayload(inj.EnvelopeID); return ok })
		if p, _ := srv.AckPayload(inj.EnvelopeID); p != nil {
			t.Errorf("ack %s: payload %s, want none", ack, p)
		}
	}
}

func TestSocketModeLargeAckIgnored(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{SocketMode: fakeslack.SocketModeOptions{AckTimeout: 500 * time.Millisecond}})
	app, ws := firstApp(srv)
	cl, _ := smConnect(t, srv, app, "")
	inj, err := srv.InjectSlashCommand(app.AppID, fakeslack.SlashCommand{Team: ws.TeamID, Command: "/big"})
	if err != nil {
		t.Fatal(err)
	}
	cl.nextEnvelope(smWait)
	cl.ack(inj.EnvelopeID, map[string]any{"text": strings.Repeat("x", 20480)})
	waitFor(t, smWait, "slash command given up", func() bool { return srv.Stats().Unacked == 1 })
	if _, ok := srv.AckPayload(inj.EnvelopeID); ok || srv.Stats().Acked != 0 {
		t.Errorf("a 20 KiB ack was matched: %+v", srv.Stats())
	}
	// Just under the limit is fine.
	inj, _ = srv.InjectSlashCommand(app.AppID, fakeslack.SlashCommand{Team: ws.TeamID, Command: "/big"})
	cl.nextEnvelope(smWait)
	frame := fmt.Sprintf(`{"envelope_id":%q,"payload":{"text":"%s"}}`, inj.EnvelopeID, strings.Repeat("y", 20000))
	cl.write(frame + strings.Repeat(" ", 20479-len(frame)))
	waitFor(t, smWait, "ack under the limit", func() bool { return srv.Stats().Acked == 1 })
}

func TestSocketModeRedelivery(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{SocketMode: fakeslack.SocketModeOptions{
		AckTimeout: 50 * time.Millisecond, RetryDelays: []time.Duration{0, 20 * time.Millisecond, 40 * time.Millisecond},
	}})
	app, ws := firstApp(srv)
	cl, _ := smConnect(t, srv, app, "")
	inj, err := srv.InjectEvent(app.AppID, ws.TeamID, json.RawMessage(`{"type":"reaction_added","reaction":"thumbsup"}`))
	if err != nil {
		t.Fatal(err)
	}
	for attempt := range 4 {
		env := cl.nextEnvelope(smWait)
		reason := "timeout"
		if attempt == 0 {
			reason = ""
		}
		if env["envelope_id"] != inj.EnvelopeID || env["retry_attempt"] != float64(attempt) || env["retry_reason"] != reason ||
			payloadOf(t, env)["event_id"] != inj.EventID {
			t.Fatalf("delivery %d = %v", attempt, env)
		}
	}
	waitFor(t, smWait, "event given up", func() bool { return srv.Stats().Unacked == 1 })
	if st := srv.Stats(); st.Delivered != 4 || st.Redelivered != 3 || st.Acked != 0 {
		t.Errorf("stats = %+v", st)
	}
	// A late ack is ignored.
	cl.ack(inj.EnvelopeID, nil)
	marker, _ := srv.InjectEvent(app.AppID, ws.TeamID, json.RawMessage(`{"type":"marker"}`))
	if env := cl.nextEnvelope(smWait); env["envelope_id"] != marker.EnvelopeID {
		t.Errorf("got %v, want the marker", env)
	}
	cl.ack(marker.EnvelopeID, nil)
	if _, ok := srv.AckPayload(inj.EnvelopeID); ok {
		t.Error("late ack matched")
	}
}

func TestSocketModeAckedRetryEndsRetries(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{SocketMode: fakeslack.SocketModeOptions{
		AckTimeout: 300 * time.Millisecond, RetryDelays: []time.Duration{0, 0, 0},
	}})
	app, ws := firstApp(srv)
	cl, _ := smConnect(t, srv, app, "")
	inj, _ := srv.InjectEvent(app.AppID, ws.TeamID, json.RawMessage(`{"type":"reaction_added"}`))
	cl.nextEnvelope(smWait)
	if env := cl.nextEnvelope(smWait); env["retry_attempt"] != float64(1) {
		t.Fatalf("second delivery = %v", env)
	}
	cl.ack(inj.EnvelopeID, nil)
	waitFor(t, smWait, "retry acked", func() bool { return srv.Stats().Acked == 1 })
	// Nothing else comes: the next frame is a marker event.
	marker, _ := srv.InjectEvent(app.AppID, ws.TeamID, json.RawMessage(`{"type":"marker"}`))
	if env := cl.nextEnvelope(smWait); env["envelope_id"] != marker.EnvelopeID {
		t.Errorf("after the ack got %v, want the marker", env)
	}
	if st := srv.Stats(); st.Redelivered != 1 || st.Unacked != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestSocketModeNewEnvelopePerRetry(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{SocketMode: fakeslack.SocketModeOptions{
		AckTimeout: 300 * time.Millisecond, RetryDelays: []time.Duration{0}, NewEnvelopePerRetry: true,
	}})
	app, ws := firstApp(srv)
	cl, _ := smConnect(t, srv, app, "")
	inj, _ := srv.InjectEvent(app.AppID, ws.TeamID, json.RawMessage(`{"type":"x"}`))
	first := cl.nextEnvelope(smWait)
	retry := cl.nextEnvelope(smWait)
	if first["envelope_id"] != inj.EnvelopeID || retry["envelope_id"] == inj.EnvelopeID || retry["retry_attempt"] != float64(1) {
		t.Errorf("first %v, retry %v", first["envelope_id"], retry)
	}
	cl.ack(retry["envelope_id"].(string), nil)
	waitFor(t, smWait, "retry acked", func() bool { return srv.Stats().Acked == 1 })
}

func TestSocketModeNoRedeliveryForSlashAndInteractive(t *testing.T) {
	t.Parallel()
	// NoRetries keeps the marker event below from being redelivered.
	srv := start(t, fakeslack.Options{SocketMode: fakeslack.SocketModeOptions{AckTimeout: 30 * time.Millisecond, NoRetries: true}})
	app, ws := firstApp(srv)
	cl, _ := smConnect(t, srv, app, "")
	if _, err := srv.InjectSlashCommand(app.AppID, fakeslack.SlashCommand{Team: ws.TeamID, Command: "/x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.InjectInteraction(app.AppID, fakeslack.Interaction{Team: ws.TeamID}); err != nil {
		t.Fatal(err)
	}
	cl.nextEnvelope(smWait)
	cl.nextEnvelope(smWait)
	waitFor(t, smWait, "both given up", func() bool { return srv.Stats().Unacked == 2 })
	marker, _ := srv.InjectEvent(app.AppID, ws.TeamID, json.RawMessage(`{"type":"marker"}`))
	if env := cl.nextEnvelope(smWait); env["envelope_id"] != marker.EnvelopeID {
		t.Errorf("got %v, want the marker (no redelivery)", env)
	}
	if st := srv.Stats(); st.Redelivered != 0 || st.Delivered != 3 {
		t.Errorf("stats = %+v", st)
	}
}

func TestSocketModeLifetime(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{SocketMode: fakeslack.SocketModeOptions{
		Lifetime: 400 * time.Millisecond, WarningBefore: 200 * time.Millisecond, CloseGrace: 50 * time.Millisecond,
	}})
	app, _ := firstApp(srv)
	opened := time.Now()
	cl, hello := smConnect(t, srv, app, "")
	if hello["debug_info"].(map[string]any)["approximate_connection_time"] != float64(0) {
		t.Errorf("hello = %v", hello)
	}
	warn := cl.next(smWait)
	warnAt := time.Since(opened)
	refresh := cl.next(smWait)
	refreshAt := time.Since(opened)
	if warn["type"] != "disconnect" || warn["reason"] != "warning" || warn["debug_info"].(map[string]any)["host"] != "applink-local" {
		t.Errorf("first disconnect = %v", warn)
	}
	if refresh["type"] != "disconnect" || refresh["reason"] != "refresh_requested" {
		t.Errorf("second disconnect = %v", refresh)
	}
	if warnAt < 150*time.Millisecond || refreshAt < 350*time.Millisecond {
		t.Errorf("warning after %v, refresh after %v; want ≈200ms and ≈400ms", warnAt, refreshAt)
	}
	if err := cl.closed(smWait); closeCode(err) != websocket.CloseNormalClosure {
		t.Errorf("socket ended with %v, want close 1000", err)
	}
}

func TestSocketModeDebugReconnects(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	app, _ := firstApp(srv)
	_, hello := smConnect(t, srv, app, "&debug_reconnects=true")
	if v := hello["debug_info"].(map[string]any)["approximate_connection_time"]; v != float64(360) {
		t.Errorf("approximate_connection_time with debug_reconnects = %v, want 360", v)
	}
	srv2 := start(t, fakeslack.Options{SocketMode: fakeslack.SocketModeOptions{
		DebugLifetime: 100 * time.Millisecond, WarningBefore: -1, CloseGrace: 10 * time.Millisecond,
	}})
	app2, _ := firstApp(srv2)
	cl, _ := smConnect(t, srv2, app2, "&debug_reconnects=true")
	if f := cl.next(smWait); f["reason"] != "refresh_requested" {
		t.Errorf("frame = %v, want refresh_requested (no warning)", f)
	}
	cl.closed(smWait)
}

func TestSocketModeRefreshConnection(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{SocketMode: fakeslack.SocketModeOptions{CloseGrace: 10 * time.Millisecond}})
	app, ws := firstApp(srv)
	cl, _ := smConnect(t, srv, app, "")
	other, _ := smConnect(t, srv, app, "")
	id := srv.Connections(app.AppID)[0].ID
	if err := srv.RefreshConnection("nope", false); !errors.Is(err, fakeslack.ErrNoConnection) {
		t.Errorf("RefreshConnection(unknown) = %v", err)
	}
	if err := srv.RefreshConnection(id, true); err != nil {
		t.Fatal(err)
	}
	// Whichever socket it was sees warning, refresh_requested and a clean close.
	var target, rest *smClient = cl, other
	var f map[string]any
	select {
	case f = <-cl.frames:
	case f = <-other.frames:
		target, rest = other, cl
	case <-time.After(smWait):
		t.Fatal("no frame after RefreshConnection")
	}
	if f["reason"] != "warning" {
		t.Errorf("first frame %v, want warning", f)
	}
	if f := target.next(smWait); f["reason"] != "refresh_requested" {
		t.Errorf("second frame %v", f)
	}
	if err := target.closed(smWait); closeCode(err) != websocket.CloseNormalClosure {
		t.Errorf("closed with %v", err)
	}
	// Deliveries go to the remaining socket.
	inj, _ := srv.InjectEvent(app.AppID, ws.TeamID, json.RawMessage(`{"type":"x"}`))
	if env := rest.nextEnvelope(smWait); env["envelope_id"] != inj.EnvelopeID {
		t.Errorf("got %v", env)
	}
}

func TestSocketModeLinkDisabled(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	app, ws := firstApp(srv)
	cl, _ := smConnect(t, srv, app, "")
	if err := srv.DisableSocketMode("A0NOPE"); !errors.Is(err, fakeslack.ErrNoApp) {
		t.Errorf("DisableSocketMode(unknown) = %v", err)
	}
	if err := srv.DisableSocketMode(app.AppID); err != nil {
		t.Fatal(err)
	}
	if f := cl.next(smWait); f["type"] != "disconnect" || f["reason"] != "link_disabled" {
		t.Errorf("frame = %v, want link_disabled", f)
	}
	if err := cl.closed(smWait); closeCode(err) != websocket.CloseNormalClosure {
		t.Errorf("closed with %v", err)
	}
	// While disabled apps.connections.open is refused; events wait.
	inj, _ := srv.InjectEvent(app.AppID, ws.TeamID, json.RawMessage(`{"type":"queued"}`))
	wantError(t, apiForm(t, srv, "apps.connections.open", app.AppToken, nil), 200, "link_disabled")
	if err := srv.EnableSocketMode(app.AppID); err != nil {
		t.Fatal(err)
	}
	back, _ := smConnect(t, srv, app, "")
	if env := back.nextEnvelope(smWait); env["envelope_id"] != inj.EnvelopeID {
		t.Errorf("after re-enabling got %v, want the queued event", env)
	}
}

func TestSocketModeOpenWhileDisabledOption(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{SocketMode: fakeslack.SocketModeOptions{OpenWhileDisabled: true}})
	app, _ := firstApp(srv)
	if err := srv.DisableSocketMode(app.AppID); err != nil {
		t.Fatal(err)
	}
	again := smDialURL(t, smURL(t, srv, app)) // the open answers ok
	if f := again.next(smWait); f["reason"] != "link_disabled" {
		t.Errorf("socket opened while disabled got %v", f)
	}
	if err := again.closed(smWait); closeCode(err) != websocket.CloseNormalClosure {
		t.Errorf("closed with %v", err)
	}
	other := start(t, fakeslack.Options{SocketMode: fakeslack.SocketModeOptions{DisabledOpenError: "not_allowed"}})
	oapp, _ := firstApp(other)
	_ = other.DisableSocketMode(oapp.AppID)
	wantError(t, apiForm(t, other, "apps.connections.open", oapp.AppToken, nil), 200, "not_allowed")
}

func TestSocketModeQueuedWhileOffline(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{SocketMode: fakeslack.SocketModeOptions{QueueSize: 2}})
	app, ws := firstApp(srv)
	var ids []string
	for i := range 3 {
		inj, err := srv.InjectEvent(app.AppID, ws.TeamID, json.RawMessage(fmt.Sprintf(`{"type":"n%d"}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, inj.EnvelopeID)
	}
	if st := srv.Stats(); st.Unacked != 1 || st.Delivered != 0 {
		t.Errorf("stats after overflowing the queue = %+v", st)
	}
	cl, _ := smConnect(t, srv, app, "")
	for _, want := range ids[1:] {
		env := cl.nextEnvelope(smWait)
		if env["envelope_id"] != want {
			t.Errorf("got %v, want %s", env["envelope_id"], want)
		}
		cl.ack(want, nil)
	}
	waitFor(t, smWait, "acks", func() bool { return srv.Stats().Acked == 2 })
}

func TestSocketModeDroppedSocketRedelivered(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{SocketMode: fakeslack.SocketModeOptions{AckTimeout: 500 * time.Millisecond}})
	app, ws := firstApp(srv)
	a, _ := smConnect(t, srv, app, "")
	aID := srv.Connections(app.AppID)[0].ID
	inj, _ := srv.InjectEvent(app.AppID, ws.TeamID, json.RawMessage(`{"type":"important"}`))
	if env := a.nextEnvelope(smWait); env["envelope_id"] != inj.EnvelopeID {
		t.Fatalf("got %v", env)
	}
	b, _ := smConnect(t, srv, app, "")
	if err := srv.DropConnection(aID, false); err != nil {
		t.Fatal(err)
	}
	a.closed(smWait)
	env := b.nextEnvelope(smWait)
	if env["envelope_id"] != inj.EnvelopeID || env["retry_attempt"] != float64(1) || env["retry_reason"] != "timeout" {
		t.Errorf("redelivery = %v", env)
	}
	b.ack(inj.EnvelopeID, nil)
	waitFor(t, smWait, "ack", func() bool { return srv.Stats().Acked == 1 })
}

func TestSocketModeSilencedSocket(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{SocketMode: fakeslack.SocketModeOptions{AckTimeout: 50 * time.Millisecond, NoRetries: true}})
	app, ws := firstApp(srv)
	cl, _ := smConnect(t, srv, app, "")
	if err := srv.SilenceConnection(srv.Connections(app.AppID)[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.InjectEvent(app.AppID, ws.TeamID, json.RawMessage(`{"type":"lost"}`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, smWait, "event given up", func() bool { return srv.Stats().Unacked == 1 })
	select {
	case f := <-cl.frames:
		t.Errorf("silent socket sent %v", f)
	default:
	}
}

func TestSocketModeDistribution(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	app, ws := firstApp(srv)
	a, _ := smConnect(t, srv, app, "")
	b, _ := smConnect(t, srv, app, "")
	for range 10 {
		if _, err := srv.InjectEvent(app.AppID, ws.TeamID, json.RawMessage(`{"type":"x"}`)); err != nil {
			t.Fatal(err)
		}
	}
	got := map[*smClient]int{}
	for range 10 {
		select {
		case env := <-a.frames:
			got[a]++
			a.ack(env["envelope_id"].(string), nil)
		case env := <-b.frames:
			got[b]++
			b.ack(env["envelope_id"].(string), nil)
		case <-time.After(smWait):
			t.Fatalf("only %v deliveries", got)
		}
	}
	if got[a] == 0 || got[b] == 0 {
		t.Errorf("deliveries per socket = %d and %d, want both used", got[a], got[b])
	}
	waitFor(t, smWait, "acks", func() bool { return srv.Stats().Acked == 10 })
	if st := srv.Stats(); st.Delivered != 10 {
		t.Errorf("delivered %d, want each event once", st.Delivered)
	}
}

func TestSocketModeMalformedFrames(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	app, ws := firstApp(srv)
	cl, _ := smConnect(t, srv, app, "")
	for _, f := range []string{`not json`, `{}`, `[]`, `{"envelope_id":42}`, `{"envelope_id":"unknown"}`, `{"envelope_id":"x","payload":`} {
		cl.write(f)
	}
	cl.wmu.Lock()
	_ = cl.c.WriteMessage(websocket.BinaryMessage, []byte{0, 1, 2})
	cl.wmu.Unlock()
	inj, _ := srv.InjectEvent(app.AppID, ws.TeamID, json.RawMessage(`{"type":"after"}`))
	env := cl.nextEnvelope(smWait)
	cl.ack(inj.EnvelopeID, nil)
	cl.ack(inj.EnvelopeID, nil) // a second ack is unknown by then
	if env["envelope_id"] != inj.EnvelopeID {
		t.Errorf("got %v", env)
	}
	waitFor(t, smWait, "ack", func() bool { return srv.Stats().Acked == 1 })
	if n := len(srv.Connections(app.AppID)); n != 1 {
		t.Errorf("socket closed by bad frames")
	}
}

func TestSocketModeInjectMessages(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	app, ws := firstApp(srv)
	cl, _ := smConnect(t, srv, app, "")
	const n = 500
	done := make(chan error, 1)
	go func() { // owner: this test; ends once InjectMessages returns, which the test waits for.
		_, err := srv.InjectMessages(context.Background(), app.AppID, fakeslack.MessageStream{Team: ws.TeamID, Channel: "general", TextPrefix: "load \"q\" ", Count: n})
		done <- err
	}()
	var lastTS string
	for i := 1; i <= n; i++ {
		env := cl.nextEnvelope(smWait)
		ev := payloadOf(t, env)["event"].(map[string]any)
		if ev["type"] != "message" || ev["text"] != fmt.Sprintf("load \"q\" %d", i) || ev["channel"] != ws.Channels[0].ID ||
			ev["user"] != ws.Users[0].ID || ev["channel_type"] != "channel" {
			t.Fatalf("event %d = %v", i, ev)
		}
		if ts := ev["ts"].(string); ts <= lastTS || ev["event_ts"] != ts {
			t.Fatalf("event %d ts %s after %s", i, ts, lastTS)
		} else {
			lastTS = ts
		}
		cl.ack(env["envelope_id"].(string), nil)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitFor(t, smWait, "acks", func() bool { return srv.Stats().Acked == n })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := srv.InjectMessages(ctx, app.AppID, fakeslack.MessageStream{Team: ws.TeamID, Channel: "general", Count: 1}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled stream: %v", err)
	}
	if _, err := srv.InjectMessages(context.Background(), app.AppID, fakeslack.MessageStream{Team: ws.TeamID, Channel: "nope", Count: 1}); !errors.Is(err, fakeslack.ErrNoChannel) {
		t.Errorf("unknown channel: %v", err)
	}
}

// smAdmin calls an admin route and returns the status and decoded body.
func smAdmin(t testing.TB, srv *fakeslack.Server, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s %s answered %q", method, path, data)
	}
	return resp.StatusCode, m
}

func TestSocketModeAdminRoutes(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{SocketMode: fakeslack.SocketModeOptions{CloseGrace: 10 * time.Millisecond}})
	app, ws := firstApp(srv)
	base := "/_admin/apps/" + app.AppID
	cl, _ := smConnect(t, srv, app, "")

	status, body := smAdmin(t, srv, "POST", base+"/events", fmt.Sprintf(`{"team":%q,"event":{"type":"app_mention","text":"hi"}}`, ws.TeamID))
	if status != 200 || body["envelope_id"] == nil || body["event_id"] == nil {
		t.Fatalf("events: %d %v", status, body)
	}
	env := cl.nextEnvelope(smWait)
	if env["envelope_id"] != body["envelope_id"] {
		t.Errorf("delivered %v", env)
	}
	cl.ack(env["envelope_id"].(string), nil)

	status, body = smAdmin(t, srv, "POST", base+"/events/stream", fmt.Sprintf(`{"team":%q,"channel":"general","text":"m","count":3}`, ws.TeamID))
	if status != 200 || body["injected"] != float64(3) {
		t.Fatalf("stream: %d %v", status, body)
	}
	for range 3 {
		e := cl.nextEnvelope(smWait)
		cl.ack(e["envelope_id"].(string), nil)
	}

	status, body = smAdmin(t, srv, "POST", base+"/commands", fmt.Sprintf(`{"team":%q,"command":"/hello","text":"world"}`, ws.TeamID))
	if status != 200 || body["response_url"] == nil || body["trigger_id"] == nil {
		t.Fatalf("commands: %d %v", status, body)
	}
	envID := body["envelope_id"].(string)
	cl.nextEnvelope(smWait)
	status, _ = smAdmin(t, srv, "GET", base+"/acks/"+envID, "")
	if status != 404 {
		t.Errorf("ack lookup before the ack: %d, want 404", status)
	}
	cl.ack(envID, map[string]any{"text": "hi back"})
	waitFor(t, smWait, "ack", func() bool { _, ok := srv.AckPayload(envID); return ok })
	status, body = smAdmin(t, srv, "GET", base+"/acks/"+envID, "")
	if status != 200 || body["payload"].(map[string]any)["text"] != "hi back" {
		t.Errorf("ack lookup: %d %v", status, body)
	}

	for _, typ := range []string{"block_actions", "view_submission", "shortcut", "message_action", "block_suggestion"} {
		status, body = smAdmin(t, srv, "POST", base+"/interactions", fmt.Sprintf(`{"team":%q,"type":%q}`, ws.TeamID, typ))
		if status != 200 || body["envelope_id"] == nil {
			t.Fatalf("interactions %s: %d %v", typ, status, body)
		}
		if e := cl.nextEnvelope(smWait); payloadOf(t, e)["type"] != typ {
			t.Errorf("interaction %s delivered as %v", typ, e)
		}
		cl.ack(body["envelope_id"].(string), nil)
	}

	// Errors.
	for _, tt := range []struct {
		method, path, body string
		want               int
	}{
		{"POST", "/_admin/apps/A0NOPE/events", `{"team":"` + ws.TeamID + `","event":{"type":"x"}}`, 404},
		{"POST", base + "/events", `{"team":"T0NOPE","event":{"type":"x"}}`, 404},
		{"POST", base + "/events", `{"team":"` + ws.TeamID + `"}`, 400},
		{"POST", base + "/events", `{"team":"` + ws.TeamID + `","event":[1]}`, 400},
		{"POST", base + "/events", `{"team":"` + ws.TeamID + `","event":{"text":"no type"}}`, 400},
		{"POST", base + "/events", `not json`, 400},
		{"POST", base + "/events/stream", `{"team":"` + ws.TeamID + `","channel":"general","count":0}`, 400},
		{"POST", base + "/events/stream", `{"team":"` + ws.TeamID + `","channel":"nope","count":1}`, 404},
		{"POST", base + "/commands", `{"team":"` + ws.TeamID + `","command":"no-slash"}`, 400},
		{"POST", base + "/commands", `{"team":"` + ws.TeamID + `","command":"/x","channel":"nope"}`, 404},
		{"POST", base + "/interactions", `{"team":"` + ws.TeamID + `","type":"nope"}`, 400},
		{"POST", base + "/interactions", `{"type":"shortcut"}`, 400},
		{"POST", base + "/refresh", `{"connection":"nope"}`, 404},
		{"POST", "/_admin/apps/A0NOPE/disable", ``, 404},
		{"POST", "/_admin/apps/A0NOPE/enable", ``, 404},
		{"GET", "/_admin/apps/A0NOPE/acks/x", ``, 404},
	} {
		status, body := smAdmin(t, srv, tt.method, tt.path, tt.body)
		if status != tt.want || body["ok"] != false || body["error"] == "" {
			t.Errorf("%s %s %s = %d %v, want %d", tt.method, tt.path, tt.body, status, body, tt.want)
		}
	}

	// Refresh every socket of the app.
	status, body = smAdmin(t, srv, "POST", base+"/refresh", `{"warning":true}`)
	if status != 200 || body["refreshed"] != float64(1) {
		t.Fatalf("refresh: %d %v", status, body)
	}
	if f := cl.next(smWait); f["reason"] != "warning" {
		t.Errorf("after refresh %v", f)
	}
	if f := cl.next(smWait); f["reason"] != "refresh_requested" {
		t.Errorf("after refresh %v", f)
	}
	cl.closed(smWait)

	// Disable, then commands have no socket (409), then enable.
	second, _ := smConnect(t, srv, app, "")
	if status, _ := smAdmin(t, srv, "POST", base+"/disable", ``); status != 200 {
		t.Errorf("disable: %d", status)
	}
	if f := second.next(smWait); f["reason"] != "link_disabled" {
		t.Errorf("after disable %v", f)
	}
	second.closed(smWait)
	waitFor(t, smWait, "sockets gone", func() bool { return len(srv.Connections(app.AppID)) == 0 })
	if status, _ := smAdmin(t, srv, "POST", base+"/commands", `{"team":"`+ws.TeamID+`","command":"/x"}`); status != 409 {
		t.Errorf("command with no socket: %d, want 409", status)
	}
	if status, _ := smAdmin(t, srv, "POST", base+"/enable", ``); status != 200 {
		t.Errorf("enable: %d", status)
	}
	smConnect(t, srv, app, "")
}

// BenchmarkSocketModeInject measures envelopes per second written to one raw client acking each,
// with the transcript off and on (the default keeps the last 100000 frames).
func BenchmarkSocketModeInject(b *testing.B) {
	b.Run("transcript=off", func(b *testing.B) { benchInject(b, -1) })
	b.Run("transcript=on", func(b *testing.B) { benchInject(b, 0) })
}

func benchInject(b *testing.B, transcript int) {
	srv := start(b, fakeslack.Options{TranscriptSize: transcript})
	app, ws := firstApp(srv)
	c, resp, err := websocket.DefaultDialer.Dial(smURL(b, srv, app), nil)
	if err != nil {
		b.Fatal(err)
	}
	_ = resp.Body.Close()
	defer c.Close()
	if _, _, err := c.ReadMessage(); err != nil { // hello
		b.Fatal(err)
	}
	acked := make(chan int, 1)
	go func() { // owner: the benchmark. Ends when the socket closes; the benchmark waits on acked.
		n := 0
		var ack struct {
			EnvelopeID string `json:"envelope_id"`
		}
		for {
			_, data, err := c.ReadMessage()
			if err != nil {
				acked <- n
				return
			}
			if json.Unmarshal(data, &ack) != nil || ack.EnvelopeID == "" {
				continue
			}
			if c.WriteMessage(websocket.TextMessage, []byte(`{"envelope_id":"`+ack.EnvelopeID+`"}`)) != nil {
				acked <- n
				return
			}
			n++
		}
	}()
	b.ResetTimer()
	begin := time.Now()
	if _, err := srv.InjectMessages(context.Background(), app.AppID, fakeslack.MessageStream{Team: ws.TeamID, Channel: "general", TextPrefix: "bench ", Count: b.N}); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for srv.Stats().Acked < int64(b.N) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // polling a counter for the last acks
	}
	elapsed := time.Since(begin)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "envelopes/s")
	_ = c.Close()
	<-acked
}

func TestSocketModeURLVariants(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	app, _ := firstApp(srv)
	// Without the trailing slash, and with the query reordered as slack-go's url.Values.Encode does.
	u, _ := url.Parse(smURL(t, srv, app))
	u.Path = "/link"
	q := u.Query()
	q.Set("debug_reconnects", "true")
	u.RawQuery = q.Encode()
	cl := smDialURL(t, u.String())
	if hello := cl.next(smWait); hello["type"] != "hello" || hello["debug_info"].(map[string]any)["approximate_connection_time"] != float64(360) {
		t.Errorf("hello = %v", hello)
	}
	// An unknown ticket is refused before the upgrade.
	if _, resp, err := websocket.DefaultDialer.Dial(strings.Replace(u.String(), "ticket=", "ticket=x", 1), nil); err == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("dial with a bad ticket: %v", err)
	}
}
