package switchboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
)

// httpBot is a runtime with one HTTP app on fakeslack, served on a loopback socket.
type httpBot struct {
	srv *fakeslack.Server
	rt  *switchboard.Runtime
	app fakeslack.App
	ts  *httptest.Server
}

func newHTTPBot(t *testing.T, opts ...switchboard.Option) *httpBot {
	t.Helper()
	srv, err := fakeslack.New(fakeslack.Options{Workspaces: 2, Apps: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	rt, err := switchboard.New(append([]switchboard.Option{switchboard.WithAPIURL(srv.APIURL())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	b := &httpBot{srv: srv, rt: rt, app: srv.Apps()[0]}
	b.ts = httptest.NewServer(rt.HTTPHandler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rt.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
		b.ts.Close()
	})
	return b
}

func (b *httpBot) add(t *testing.T, inst switchboard.InstallationStore) {
	t.Helper()
	err := b.rt.AddApp(context.Background(), switchboard.App{ID: b.app.AppID, Transport: switchboard.HTTP,
		SigningSecret: b.app.SigningSecret, Installations: inst})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.srv.ConfigureApp(b.app.AppID, fakeslack.AppConfig{RequestURL: b.ts.URL + "/slack/events"}); err != nil {
		t.Fatal(err)
	}
}

// post sends body to the receiver, signed with secret at ts (unsigned when secret is "").
func (b *httpBot) post(t *testing.T, contentType, body, secret string, ts time.Time, hdr map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.ts.URL+"/slack/events", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if secret != "" {
		stamp := strconv.FormatInt(ts.Unix(), 10)
		req.Header.Set("X-Slack-Request-Timestamp", stamp)
		req.Header.Set("X-Slack-Signature", fakeslack.Sign(secret, stamp, []byte(body)))
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

func eventCallback(app, team, eventID, text string) string {
	b, _ := json.Marshal(map[string]any{"type": "event_callback", "api_app_id": app, "team_id": team, "event_id": eventID,
		"event": map[string]any{"type": "message", "channel": "C1", "user": "U1", "text": text, "ts": "1.000001"}})
	return string(b)
}

// Events, a slash command and a view submission come in over a loopback socket from fakeslack,
// signed; handlers see Link.Transport "http"; a command's Respond is the answer's body, which
// fakeslack posts in the channel; url_verification echoes the challenge.
func TestHTTPReceiverFromFakeslack(t *testing.T) {
	t.Parallel()
	b := newHTTPBot(t)
	events := make(chan *switchboard.Event, 100)
	if err := b.rt.OnEvent("message", func(_ context.Context, ev *switchboard.Event) error {
		events <- ev
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := b.rt.OnCommand("/deploy", func(_ context.Context, ev *switchboard.Event) error {
		cmd, err := ev.SlashCommand()
		if err != nil {
			return err
		}
		return ev.Respond(map[string]string{"response_type": "in_channel", "text": "deploying " + cmd.Text + " for " + ev.Link.Name})
	}); err != nil {
		t.Fatal(err)
	}
	if err := b.rt.OnInteraction("view_submission", func(_ context.Context, ev *switchboard.Event) error {
		return ev.Respond(map[string]string{"response_action": "clear"})
	}); err != nil {
		t.Fatal(err)
	}
	b.add(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.srv.VerifyRequestURL(ctx, b.app.AppID); err != nil {
		t.Fatalf("url_verification: %v", err)
	}
	team := b.srv.Workspaces()[0]
	n, err := b.srv.InjectMessages(ctx, b.app.AppID, fakeslack.MessageStream{Team: team.TeamID, Channel: team.Channels[0].ID, TextPrefix: "m", Count: 5})
	if err != nil || n != 5 {
		t.Fatalf("InjectMessages: %d, %v", n, err)
	}
	for i := 0; i < 5; i++ {
		select {
		case ev := <-events:
			if ev.Link.Transport != "http" || ev.Link.App != b.app.AppID || ev.Team != team.TeamID || ev.EventID == "" || ev.Kind != switchboard.KindEventsAPI {
				t.Errorf("event %d: %+v", i, ev.Link)
			}
		case <-ctx.Done():
			t.Fatalf("%d of 5 events", i)
		}
	}
	inj, err := b.srv.InjectSlashCommand(b.app.AppID, fakeslack.SlashCommand{Team: team.TeamID, Command: "/deploy", Text: "api"})
	if err != nil {
		t.Fatal(err)
	}
	d := awaitDelivery(ctx, t, b.srv, inj.EnvelopeID)
	if !d.OK || !strings.Contains(d.Attempts[0].Response, "deploying api for "+b.app.AppID+"/http") {
		t.Fatalf("command delivery: %+v", d)
	}
	inj, err = b.srv.InjectInteraction(b.app.AppID, fakeslack.Interaction{Type: "view_submission", Team: team.TeamID})
	if err != nil {
		t.Fatal(err)
	}
	if d := awaitDelivery(ctx, t, b.srv, inj.EnvelopeID); !d.OK || !strings.Contains(d.Attempts[0].Response, `"clear"`) {
		t.Fatalf("view_submission delivery: %+v", d)
	}
}

func awaitDelivery(ctx context.Context, t *testing.T, srv *fakeslack.Server, id string) fakeslack.Delivery {
	t.Helper()
	for ctx.Err() == nil {
		for _, d := range srv.Deliveries("") {
			if d.ID == id && d.Done {
				return d
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("delivery %s not done", id)
	return fakeslack.Delivery{}
}

// Requests that are unsigned, wrongly signed, stale, of another content type, malformed or of an
// unknown type are refused with a 4xx before any handler sees them; a redelivery (X-Slack-Retry-Num)
// of an event already in is answered 200 and dropped by dedupe.
func TestHTTPReceiverRefusesAndDedupes(t *testing.T) {
	t.Parallel()
	b := newHTTPBot(t)
	var mu sync.Mutex
	var seen []int
	if err := b.rt.OnEvent("message", func(_ context.Context, ev *switchboard.Event) error {
		mu.Lock()
		seen = append(seen, ev.RetryAttempt)
		mu.Unlock()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	b.add(t, nil)
	secret, app, now := b.app.SigningSecret, b.app.AppID, time.Now()
	body := eventCallback(app, "T1", "Ev1", "hi")
	const js, form = "application/json", "application/x-www-form-urlencoded"
	for _, c := range []struct {
		name, ct, body, secret string
		ts                     time.Time
		want                   int
	}{
		{"unsigned", js, body, "", now, 401},
		{"wrong secret", js, body, "not-" + secret, now, 401},
		{"stale timestamp", js, body, secret, now.Add(-10 * time.Minute), 401},
		{"future timestamp", js, body, secret, now.Add(10 * time.Minute), 401},
		{"content type", "text/plain", body, secret, now, 415},
		{"malformed json", js, `{"type":`, secret, now, 400},
		{"unknown type", js, `{"type":"surprise","api_app_id":"` + app + `"}`, secret, now, 400},
		{"unknown form", form, "a=b", secret, now, 400},
		{"malformed payload", form, "payload=" + url.QueryEscape(`{"type":"block_actions","team":[`), secret, now, 400},
		{"too large", js, `{"type":"event_callback","x":"` + strings.Repeat("x", switchboard.MaxHTTPBody) + `"}`, secret, now, 413},
	} {
		if got, text := b.post(t, c.ct, c.body, c.secret, c.ts, nil); got != c.want {
			t.Errorf("%s: %d %q, want %d", c.name, got, text, c.want)
		} else if got == 401 && text != "" {
			t.Errorf("%s: 401 with a body %q", c.name, text)
		}
	}
	if got, _ := b.post(t, form, "ssl_check=1&token=x", secret, now, nil); got != 200 {
		t.Errorf("ssl_check: %d", got)
	}
	if got, text := b.post(t, js, `{"type":"url_verification","challenge":"ch4ll"}`, secret, now, nil); got != 200 || !strings.Contains(text, "ch4ll") {
		t.Errorf("url_verification: %d %q", got, text)
	}
	if got, _ := b.post(t, js, `{"type":"app_rate_limited","api_app_id":"`+app+`","minute_rate_limited":1}`, secret, now, nil); got != 200 {
		t.Errorf("app_rate_limited: %d", got)
	}
	for i := 0; i < 3; i++ {
		hdr := map[string]string{}
		if i > 0 {
			hdr = map[string]string{"X-Slack-Retry-Num": strconv.Itoa(i), "X-Slack-Retry-Reason": "http_timeout"}
		}
		if got, text := b.post(t, js, body, secret, time.Now(), hdr); got != 200 || text != "" {
			t.Errorf("delivery %d: %d %q", i, got, text)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n >= 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0] != 0 {
		t.Errorf("handled %v, want one first delivery", seen)
	}
	if s := b.rt.Stats(); s.Duplicates != 2 {
		t.Errorf("duplicates %d, want 2", s.Duplicates)
	}
}

// While a Backpressure queue is full, an HTTP event waits at the flow gate and, still held at the
// deadline, is answered 503 without being dispatched; once the queue drains, its retry goes in.
func TestHTTPReceiverFlowControl(t *testing.T) {
	t.Parallel()
	b := newHTTPBot(t, switchboard.WithResponseDeadline(300*time.Millisecond))
	release := make(chan struct{})
	var mu sync.Mutex
	var got []string
	if err := b.rt.OnEvent("message", func(ctx context.Context, ev *switchboard.Event) error {
		select {
		case <-release:
		case <-ctx.Done():
		}
		mu.Lock()
		got = append(got, ev.EventID)
		mu.Unlock()
		return nil
	}, switchboard.Queue(1, switchboard.Backpressure)); err != nil {
		t.Fatal(err)
	}
	b.add(t, nil)
	secret, app := b.app.SigningSecret, b.app.AppID
	codes := map[int]int{}
	for i := 0; i < 4; i++ {
		code, _ := b.post(t, "application/json", eventCallback(app, "T1", fmt.Sprintf("Ev%d", i), "x"), secret, time.Now(), nil)
		codes[code]++
	}
	if codes[503] == 0 {
		t.Fatalf("answers %v: no 503 while the queue was full", codes)
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; i < 4; i++ {
		body := eventCallback(app, "T1", fmt.Sprintf("Ev%d", i), "x")
		for {
			code, _ := b.post(t, "application/json", body, secret, time.Now(), map[string]string{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"})
			if code == 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("retry of Ev%d: %d", i, code)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 4 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("handled %v, want Ev0..Ev3 once each", got)
}

// With two HTTP apps, a request goes to the app its path names, else to its body's api_app_id,
// and is verified with that app's signing secret; a request for neither is 404.
func TestHTTPReceiverRoutesApps(t *testing.T) {
	t.Parallel()
	b := newHTTPBot(t)
	got := make(chan string, 10)
	if err := b.rt.OnEvent("message", func(_ context.Context, ev *switchboard.Event) error {
		got <- ev.Link.App
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, a := range []struct{ id, secret string }{{"A1", "s1"}, {"A2", "s2"}} {
		if err := b.rt.AddApp(ctx, switchboard.App{ID: a.id, Transport: switchboard.HTTP, SigningSecret: a.secret}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.rt.AddApp(ctx, switchboard.App{ID: "A3", Transport: switchboard.HTTP}); err == nil {
		t.Error("an http app without a signing secret was added")
	}
	send := func(path, app, secret, id string) int {
		t.Helper()
		body := eventCallback(app, "T1", id, "x")
		stamp := strconv.FormatInt(time.Now().Unix(), 10)
		req, _ := http.NewRequest(http.MethodPost, b.ts.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Slack-Request-Timestamp", stamp)
		req.Header.Set("X-Slack-Signature", fakeslack.Sign(secret, stamp, []byte(body)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		path, app, secret, id string
		want                  int
		to                    string
	}{
		{"/slack/events/A2", "A1", "s2", "E1", 200, "A2"}, // the path wins
		{"/slack/events", "A1", "s1", "E2", 200, "A1"},
		{"/slack/events", "A2", "s1", "E3", 401, ""}, // A2's secret is s2
		{"/slack/events", "A9", "s1", "E4", 404, ""},
	} {
		if code := send(c.path, c.app, c.secret, c.id); code != c.want {
			t.Errorf("%s %s: %d, want %d", c.path, c.app, code, c.want)
			continue
		}
		if c.to == "" {
			continue
		}
		select {
		case app := <-got:
			if app != c.to {
				t.Errorf("%s %s: handled as %s, want %s", c.path, c.app, app, c.to)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s %s: not handled", c.path, c.app)
		}
	}
}

// A slash command whose handler does not respond in time is answered with an empty 200 at the
// response deadline, counted in Stats.ResponseTimeouts; a block_actions is answered at once, empty.
func TestHTTPReceiverResponseDeadline(t *testing.T) {
	t.Parallel()
	b := newHTTPBot(t, switchboard.WithResponseDeadline(200*time.Millisecond))
	release := make(chan struct{})
	defer close(release)
	if err := b.rt.OnCommand("/quiet", func(ctx context.Context, _ *switchboard.Event) error {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	b.add(t, nil)
	form := url.Values{"command": {"/quiet"}, "team_id": {"T1"}, "channel_id": {"C1"}, "user_id": {"U1"}, "api_app_id": {b.app.AppID}}.Encode()
	start := time.Now()
	code, body := b.post(t, "application/x-www-form-urlencoded", form, b.app.SigningSecret, time.Now(), nil)
	if code != 200 || body != "" || time.Since(start) < 200*time.Millisecond {
		t.Errorf("command: %d %q after %v", code, body, time.Since(start))
	}
	if n := b.rt.Stats().ResponseTimeouts; n != 1 {
		t.Errorf("response timeouts %d, want 1", n)
	}
	payload := `{"type":"block_actions","team":{"id":"T1"},"user":{"id":"U1"},"api_app_id":"` + b.app.AppID + `","actions":[{"action_id":"a"}]}`
	start = time.Now()
	code, body = b.post(t, "application/x-www-form-urlencoded", "payload="+url.QueryEscape(payload), b.app.SigningSecret, time.Now(), nil)
	if code != 200 || body != "" || time.Since(start) > 150*time.Millisecond {
		t.Errorf("block_actions: %d %q after %v", code, body, time.Since(start))
	}
}
