package fakeslack_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-go/switchboard/fakeslack"
)

// received is one request the app's request URL got, its signature checked.
type received struct {
	header   http.Header
	body     []byte
	verified error
}

// appEndpoint is an app's request URL: a real HTTP server that verifies each request with
// slack-go's SecretsVerifier and answers with answer(n, r, w) for the n-th request (from 0).
type appEndpoint struct {
	srv  *httptest.Server
	got  chan received
	mu   sync.Mutex
	n    int
	stop chan struct{} // closed at cleanup, ending any handler that waits
}

func newAppEndpoint(t *testing.T, secret string, answer func(n int, w http.ResponseWriter, body []byte, stop <-chan struct{})) *appEndpoint {
	t.Helper()
	e := &appEndpoint{got: make(chan received, 100), stop: make(chan struct{})}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/loop") { // a redirect loop
			http.Redirect(w, r, r.URL.Path+"x", http.StatusFound)
			return
		}
		body, _ := io.ReadAll(r.Body)
		rec := received{header: r.Header.Clone(), body: body}
		sv, err := slack.NewSecretsVerifier(r.Header, secret)
		if err == nil {
			_, _ = sv.Write(body)
			err = sv.Ensure()
		}
		rec.verified = err
		e.mu.Lock()
		n := e.n
		e.n++
		e.mu.Unlock()
		e.got <- rec
		answer(n, w, body, e.stop)
	}))
	t.Cleanup(func() {
		close(e.stop)
		e.srv.Close()
	})
	return e
}

// next returns the next request, failing the test after 5 s.
func (e *appEndpoint) next(t *testing.T) received {
	t.Helper()
	select {
	case r := <-e.got:
		if r.verified != nil {
			t.Errorf("signature of %s: %v", r.body, r.verified)
		}
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no request within 5s")
	}
	return received{}
}

// httpApp starts a server whose first app delivers by HTTP to an endpoint.
func httpApp(t *testing.T, o fakeslack.Options, answer func(n int, w http.ResponseWriter, body []byte, stop <-chan struct{})) (*fakeslack.Server, fakeslack.App, fakeslack.Workspace, *appEndpoint) {
	t.Helper()
	srv := start(t, o)
	app, ws := srv.Apps()[0], srv.Workspaces()[0]
	e := newAppEndpoint(t, app.SigningSecret, answer)
	if err := srv.ConfigureApp(app.AppID, fakeslack.AppConfig{RequestURL: e.srv.URL + "/slack"}); err != nil {
		t.Fatal(err)
	}
	return srv, srv.Apps()[0], ws, e
}

// delivery waits until the delivery id is done and returns it.
func delivery(t *testing.T, srv *fakeslack.Server, app, id string) fakeslack.Delivery {
	t.Helper()
	var d fakeslack.Delivery
	waitFor(t, 5*time.Second, "delivery "+id+" done", func() bool {
		for _, x := range srv.Deliveries(app) {
			if x.ID == id {
				d = x
			}
		}
		return d.Done
	})
	return d
}

func TestHTTPEventRetries(t *testing.T) {
	t.Parallel()
	o := fakeslack.Options{HTTP: fakeslack.HTTPOptions{Timeout: 200 * time.Millisecond, RetryDelays: []time.Duration{0, 30 * time.Millisecond, 60 * time.Millisecond}}}
	var loopURL string
	srv, app, ws, e := httpApp(t, o, func(n int, w http.ResponseWriter, _ []byte, stop <-chan struct{}) {
		switch n {
		case 0:
			w.WriteHeader(http.StatusInternalServerError)
		case 1:
			select { // answer too late
			case <-time.After(time.Second):
			case <-stop:
			}
		case 2:
			w.Header().Set("Location", loopURL)
			w.WriteHeader(http.StatusFound)
		}
	})
	loopURL = e.srv.URL + "/loop"
	inj, err := srv.InjectEvent(app.AppID, ws.TeamID, json.RawMessage(`{"type":"app_mention","text":"hi","channel":"`+ws.Channels[0].ID+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for i, want := range []struct{ num, reason string }{{"", ""}, {"1", "http_error"}, {"2", "http_timeout"}, {"3", "too_many_redirects"}} {
		r := e.next(t)
		if r.header.Get("X-Slack-Retry-Num") != want.num || r.header.Get("X-Slack-Retry-Reason") != want.reason {
			t.Errorf("request %d: retry %q reason %q, want %q %q", i, r.header.Get("X-Slack-Retry-Num"), r.header.Get("X-Slack-Retry-Reason"), want.num, want.reason)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" || !strings.HasPrefix(r.header.Get("User-Agent"), "Slackbot 1.0") {
			t.Errorf("request %d: content type %q, user agent %q", i, ct, r.header.Get("User-Agent"))
		}
		bodies = append(bodies, string(r.body))
	}
	var cb struct {
		Type, TeamID, APIAppID, EventID string
		Event                           map[string]any
	}
	if err := json.Unmarshal([]byte(bodies[0]), &cb); err != nil || cb.Event["type"] != "app_mention" || bodies[3] != bodies[0] {
		t.Errorf("event body = %s (%v)", bodies[0], err)
	}
	if !strings.Contains(bodies[0], `"event_id":"`+inj.EventID+`"`) || !strings.Contains(bodies[0], `"type":"event_callback"`) {
		t.Errorf("event_callback = %s", bodies[0])
	}
	d := delivery(t, srv, app.AppID, inj.EnvelopeID)
	if !d.OK || len(d.Attempts) != 4 || d.Attempts[0].Status != 500 || d.Attempts[0].Failure != "http_error" ||
		d.Attempts[1].Failure != "http_timeout" || d.Attempts[2].Failure != "too_many_redirects" || d.Attempts[3].Status != 200 {
		t.Errorf("delivery = %+v", d)
	}
	st := srv.Stats()
	if st.HTTPRequests != 4 || st.HTTPRetries != 3 || st.HTTPFailed != 0 || st.Delivered != 1 {
		t.Errorf("stats = %+v", st)
	}
	if n := len(srv.Transcript().Entries(func(e fakeslack.Entry) bool { return e.Kind == fakeslack.KindHTTP && e.App == app.AppID })); n != 4 {
		t.Errorf("%d http transcript entries, want 4", n)
	}
}

func TestHTTPEventGivenUp(t *testing.T) {
	t.Parallel()
	o := fakeslack.Options{HTTP: fakeslack.HTTPOptions{RetryDelays: []time.Duration{0, 10 * time.Millisecond}}}
	srv, app, ws, e := httpApp(t, o, func(n int, w http.ResponseWriter, body []byte, _ <-chan struct{}) {
		if strings.Contains(string(body), "no-retry") {
			w.Header().Set("X-Slack-No-Retry", "1")
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	inj, err := srv.InjectEvent(app.AppID, ws.TeamID, json.RawMessage(`{"type":"app_mention","text":"fail"}`))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		e.next(t)
	}
	if d := delivery(t, srv, app.AppID, inj.EnvelopeID); d.OK || len(d.Attempts) != 3 {
		t.Errorf("failing delivery = %+v", d)
	}
	inj, err = srv.InjectEvent(app.AppID, ws.TeamID, json.RawMessage(`{"type":"app_mention","text":"no-retry"}`))
	if err != nil {
		t.Fatal(err)
	}
	e.next(t)
	if d := delivery(t, srv, app.AppID, inj.EnvelopeID); d.OK || len(d.Attempts) != 1 {
		t.Errorf("X-Slack-No-Retry delivery = %+v", d)
	}
	if st := srv.Stats(); st.HTTPFailed != 2 {
		t.Errorf("HTTPFailed = %d", st.HTTPFailed)
	}
}

func TestHTTPCommandsAndInteractions(t *testing.T) {
	t.Parallel()
	srv, app, ws, e := httpApp(t, fakeslack.Options{}, func(n int, w http.ResponseWriter, body []byte, _ <-chan struct{}) {
		switch n {
		case 0:
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"response_type":"ephemeral","text":"deploying"}`)
		case 1:
			_, _ = io.WriteString(w, "plain answer")
		case 2:
			w.WriteHeader(http.StatusInternalServerError)
		case 3:
			_, _ = io.WriteString(w, `{"response_action":"errors","errors":{"b1":"too short"}}`)
		}
	})
	inj, err := srv.InjectSlashCommand(app.AppID, fakeslack.SlashCommand{Team: ws.TeamID, Command: "/deploy", Text: "prod"})
	if err != nil {
		t.Fatalf("slash command to an HTTP app with no socket: %v", err)
	}
	r := e.next(t)
	req := httptest.NewRequest(http.MethodPost, "/slack", strings.NewReader(string(r.body)))
	req.Header.Set("Content-Type", r.header.Get("Content-Type"))
	cmd, err := slack.SlashCommandParse(req)
	if err != nil || cmd.Command != "/deploy" || cmd.Text != "prod" || cmd.TeamID != ws.TeamID || cmd.ResponseURL != inj.ResponseURL ||
		cmd.TriggerID != inj.TriggerID || cmd.APIAppID != app.AppID {
		t.Errorf("slash command = %+v, %v", cmd, err)
	}
	delivery(t, srv, app.AppID, inj.EnvelopeID)
	if p, ok := srv.AckPayload(inj.EnvelopeID); !ok || string(p) != `{"response_type":"ephemeral","text":"deploying"}` {
		t.Errorf("command response = %s, %v", p, ok)
	}
	if e := srv.Ephemeral(ws.Channels[0].ID); len(e) != 1 || e[0].Text != "deploying" {
		t.Errorf("the ephemeral command response = %+v", e)
	}
	inj, _ = srv.InjectSlashCommand(app.AppID, fakeslack.SlashCommand{Team: ws.TeamID, Command: "/deploy"})
	e.next(t)
	delivery(t, srv, app.AppID, inj.EnvelopeID)
	if p, _ := srv.AckPayload(inj.EnvelopeID); string(p) != `{"text":"plain answer"}` {
		t.Errorf("plain-text command response = %s", p)
	}
	inj, _ = srv.InjectSlashCommand(app.AppID, fakeslack.SlashCommand{Team: ws.TeamID, Command: "/deploy"})
	e.next(t)
	if d := delivery(t, srv, app.AppID, inj.EnvelopeID); d.OK || len(d.Attempts) != 1 {
		t.Errorf("a failed command is not retried: %+v", d)
	}

	inj, err = srv.InjectInteraction(app.AppID, fakeslack.Interaction{Type: "view_submission", Team: ws.TeamID, CallbackID: "form"})
	if err != nil {
		t.Fatal(err)
	}
	r = e.next(t)
	form, err := url.ParseQuery(string(r.body))
	if err != nil || r.header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Fatalf("interaction body %s: %v", r.body, err)
	}
	var ic slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &ic); err != nil || ic.Type != slack.InteractionTypeViewSubmission || ic.View.CallbackID != "form" {
		t.Errorf("interaction payload = %+v, %v", ic, err)
	}
	delivery(t, srv, app.AppID, inj.EnvelopeID)
	if p, _ := srv.AckPayload(inj.EnvelopeID); !strings.Contains(string(p), `"response_action":"errors"`) {
		t.Errorf("view_submission response = %s", p)
	}
	if _, err := api(srv, ws).OpenView(inj.TriggerID, modal("next", "")); err != nil {
		t.Errorf("the interaction's trigger opens a view: %v", err)
	}
}

func api(srv *fakeslack.Server, ws fakeslack.Workspace) *slack.Client {
	return slack.New(ws.BotToken, slack.OptionAPIURL(srv.APIURL()))
}

func TestUninstallByHTTP(t *testing.T) {
	t.Parallel()
	srv, app, ws, e := httpApp(t, fakeslack.Options{}, func(int, http.ResponseWriter, []byte, <-chan struct{}) {})
	in, err := srv.Install(app.AppID, ws.TeamID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Uninstall(app.AppID, ws.TeamID); err != nil {
		t.Fatal(err)
	}
	var types []string
	var revoked map[string][]string
	for range 2 {
		var cb struct {
			Event struct {
				Type   string              `json:"type"`
				Tokens map[string][]string `json:"tokens"`
			} `json:"event"`
		}
		r := e.next(t)
		if err := json.Unmarshal(r.body, &cb); err != nil {
			t.Fatal(err)
		}
		types = append(types, cb.Event.Type)
		if cb.Event.Type == "tokens_revoked" {
			revoked = cb.Event.Tokens
		}
	}
	slices.Sort(types) // two deliveries, in no set order (as Slack's)
	if strings.Join(types, ",") != "app_uninstalled,tokens_revoked" || len(revoked["bot"]) != 1 || revoked["bot"][0] != ws.BotUserID {
		t.Errorf("events %v, tokens_revoked %v", types, revoked)
	}
	for _, tok := range []string{in.BotToken, ws.BotToken} {
		if _, err := slack.New(tok, slack.OptionAPIURL(srv.APIURL())).AuthTest(); slackErr(err) != "token_revoked" {
			t.Errorf("auth.test after uninstall: %v", err)
		}
	}
	if _, err := srv.InjectEvent(app.AppID, ws.TeamID, json.RawMessage(`{"type":"app_mention"}`)); err == nil {
		t.Error("an event reached an uninstalled app")
	}
}

func TestHTTPAdminRoutes(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	app, ws := srv.Apps()[0], srv.Workspaces()[0]
	e := newAppEndpoint(t, app.SigningSecret, func(int, http.ResponseWriter, []byte, <-chan struct{}) {})
	if status, body := hookAdmin(t, srv, http.MethodPost, "apps/"+app.AppID+"/config", `{"request_url":"`+e.srv.URL+`"}`); status != 200 {
		t.Fatalf("config: %d %v", status, body)
	}
	if status, body := hookAdmin(t, srv, http.MethodPost, "apps/A0NOPE/config", `{}`); status != 404 {
		t.Errorf("config of no app: %d %v", status, body)
	}
	status, body := hookAdmin(t, srv, http.MethodPost, "apps/"+app.AppID+"/reactions", `{"team":"`+ws.TeamID+`","reaction":"eyes","ts":"1.2"}`)
	if status != 200 || body["envelope_id"] == "" {
		t.Fatalf("reactions: %d %v", status, body)
	}
	e.next(t)
	delivery(t, srv, app.AppID, body["envelope_id"].(string))
	status, body = hookAdmin(t, srv, http.MethodGet, "apps/"+app.AppID+"/deliveries", "")
	if ds, _ := body["deliveries"].([]any); status != 200 || len(ds) != 1 {
		t.Errorf("deliveries: %d %v", status, body)
	}
	status, body = hookAdmin(t, srv, http.MethodPost, "apps/"+app.AppID+"/install", `{"team":"new"}`)
	if in, _ := body["install"].(map[string]any); status != 200 || !strings.HasPrefix(in["bot_token"].(string), "xoxb-") {
		t.Errorf("install: %d %v", status, body)
	}
	status, body = hookAdmin(t, srv, http.MethodPost, "apps/"+app.AppID+"/triggers", `{"team":"`+ws.TeamID+`"}`)
	if status != 200 {
		t.Fatalf("triggers: %d %v", status, body)
	}
	v, err := api(srv, ws).OpenView(body["trigger_id"].(string), modal("m", ""))
	if err != nil {
		t.Fatal(err)
	}
	if status, body := hookAdmin(t, srv, http.MethodGet, "views/"+v.View.ID, ""); status != 200 || body["view"].(map[string]any)["callback_id"] != "m" {
		t.Errorf("views: %d %v", status, body)
	}
	if status, _ := hookAdmin(t, srv, http.MethodGet, "views/V0NOPE", ""); status != 404 {
		t.Errorf("no view: %d", status)
	}
	if status, _ := hookAdmin(t, srv, http.MethodPost, "channels/membership", `{"channel":"C0NOPE"}`); status != 404 {
		t.Errorf("membership of no channel: %d", status)
	}
	if status, _ := hookAdmin(t, srv, http.MethodGet, "channels/C0NOPE/ephemeral", ""); status != 404 {
		t.Errorf("ephemeral of no channel: %d", status)
	}
	if status, body := hookAdmin(t, srv, http.MethodPost, "tokens/expire", `{"token":"`+ws.BotToken+`"}`); status != 200 {
		t.Errorf("expire: %d %v", status, body)
	}
	if _, err := api(srv, ws).AuthTest(); slackErr(err) != "token_expired" {
		t.Errorf("after tokens/expire: %v", err)
	}
}

func TestVerifyRequestURL(t *testing.T) {
	t.Parallel()
	srv, app, _, e := httpApp(t, fakeslack.Options{}, func(n int, w http.ResponseWriter, body []byte, _ <-chan struct{}) {
		var v struct{ Type, Challenge string }
		_ = json.Unmarshal(body, &v)
		if n == 0 && v.Type == "url_verification" {
			_, _ = io.WriteString(w, v.Challenge) // the second time, the app answers nothing
		}
	})
	if err := srv.VerifyRequestURL(context.Background(), app.AppID); err != nil {
		t.Errorf("VerifyRequestURL: %v", err)
	}
	e.next(t)
	if err := srv.VerifyRequestURL(context.Background(), app.AppID); !errors.Is(err, fakeslack.ErrURLNotVerified) {
		t.Errorf("VerifyRequestURL of a silent app: %v", err)
	}
	e.next(t)
	if status, body := hookAdmin(t, srv, http.MethodPost, "apps/"+app.AppID+"/config", `{"request_url":"`+e.srv.URL+`","verify":true}`); status != http.StatusConflict {
		t.Errorf("config with verify of a silent app: %d %v", status, body)
	}
	e.next(t)
	if err := srv.VerifyRequestURL(context.Background(), "A0NOPE"); !errors.Is(err, fakeslack.ErrNoApp) {
		t.Errorf("VerifyRequestURL of no app: %v", err)
	}
}

func TestSignatureFaults(t *testing.T) {
	t.Parallel()
	srv, app, ws, e := httpApp(t, fakeslack.Options{HTTP: fakeslack.HTTPOptions{RetryDelays: []time.Duration{}}}, func(int, http.ResponseWriter, []byte, <-chan struct{}) {})
	for _, fault := range []string{"wrong_secret", "stale_timestamp", ""} {
		if err := srv.ConfigureApp(app.AppID, fakeslack.AppConfig{RequestURL: app.RequestURL, SignatureFault: fault}); err != nil {
			t.Fatal(err)
		}
		if _, err := srv.InjectEvent(app.AppID, ws.TeamID, json.RawMessage(`{"type":"app_mention"}`)); err != nil {
			t.Fatal(err)
		}
		var r received
		select {
		case r = <-e.got:
		case <-time.After(5 * time.Second):
			t.Fatal("no request")
		}
		if (r.verified == nil) != (fault == "") {
			t.Errorf("fault %q: SecretsVerifier says %v", fault, r.verified)
		}
	}
	if err := srv.ConfigureApp(app.AppID, fakeslack.AppConfig{SignatureFault: "garbled"}); !errors.Is(err, fakeslack.ErrBadConfig) {
		t.Errorf("unknown fault: %v", err)
	}
}
