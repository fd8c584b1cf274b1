package fakeslack_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboard-go/switchboard/fakeslack"
)

// hookAnswer is the answer to one webhook post.
type hookAnswer struct {
	status int
	body   string
	header http.Header
}

// hookPost posts body to u with the given content type.
func hookPost(t testing.TB, u, contentType, body string) hookAnswer {
	t.Helper()
	resp, err := http.Post(u, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	return hookAnswer{status: resp.StatusCode, body: string(data), header: resp.Header}
}

// hookJSON posts a JSON body to u.
func hookJSON(t testing.TB, u, body string) hookAnswer {
	t.Helper()
	return hookPost(t, u, "application/json", body)
}

// wantHook fails the test unless a has status and body.
func wantHook(t testing.TB, what string, a hookAnswer, status int, body string) {
	t.Helper()
	if a.status != status || a.body != body {
		t.Fatalf("%s: %d %q, want %d %q", what, a.status, a.body, status, body)
	}
}

// hookAdmin sends a JSON body to an admin path and decodes the answer.
func hookAdmin(t testing.TB, srv *fakeslack.Server, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, srv.AdminURL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %v", method, path, err)
	}
	return resp.StatusCode, m
}

// issueResponseURL returns a new response_url of kind into the team's first channel.
func issueResponseURL(t testing.TB, srv *fakeslack.Server, kind string, ws fakeslack.Workspace) string {
	t.Helper()
	u, err := srv.IssueResponseURL(kind, ws.TeamID, ws.Channels[0].ID)
	if err != nil {
		t.Fatalf("IssueResponseURL: %v", err)
	}
	return u
}

func TestWebhookPostLandsInHistory(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	hook := ws.Webhooks[1]
	body := `{"text":"Hello, world.","thread_ts":"1234567890.000100","unfurl_links":"false","metadata":{"event_type":"x","event_payload":{}}}`

	a := hookJSON(t, hook.URL, body)
	wantHook(t, "post", a, 200, "ok")
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type = %q, want text/html", ct)
	}

	hist := srv.History(hook.Channel)
	if len(hist) != 1 {
		t.Fatalf("history = %+v, want one message", hist)
	}
	m := hist[0]
	if m.Text != "Hello, world." || m.Via != "webhook" || m.ThreadTS != "1234567890.000100" || string(m.Raw) != body || m.TS == "" || m.BotID == "" {
		t.Errorf("message = %+v", m)
	}
	if got := srv.History(ws.Webhooks[0].Channel); len(got) != 0 {
		t.Errorf("other channel got %+v", got)
	}

	posts := srv.WebhookPosts(hook.URL)
	if len(posts) != 1 {
		t.Fatalf("posts = %+v", posts)
	}
	p := posts[0]
	if p.Kind != "webhook" || p.Status != 200 || p.Answer != "ok" || p.Body != body || p.Action != "posted" || p.TS != m.TS || p.Channel != hook.Channel || p.URL != hook.URL {
		t.Errorf("post = %+v", p)
	}
	u, _ := url.Parse(hook.URL)
	if got := srv.WebhookPosts(u.Path); len(got) != 1 {
		t.Errorf("WebhookPosts(path) = %+v", got)
	}

	entries := srv.Transcript().Entries(func(e fakeslack.Entry) bool { return e.Kind == fakeslack.KindWebhook })
	if len(entries) != 1 || entries[0].Method != "webhook" || entries[0].Status != "200 ok" || string(entries[0].Data) != body || entries[0].Team != ws.TeamID {
		t.Errorf("transcript = %+v", entries)
	}
	if n := srv.Stats().WebhookPosts; n != 1 {
		t.Errorf("Stats().WebhookPosts = %d", n)
	}
}

func TestWebhookBodies(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{Webhooks: fakeslack.WebhookOptions{Rate: -1}})
	hook := srv.Workspaces()[0].Webhooks[0]
	many := "[" + strings.Repeat(`{"text":"a"},`, 100) + `{"text":"a"}]`
	form := url.Values{"payload": {`{"text":"from a form"}`}}.Encode()
	for _, tt := range []struct {
		name, contentType, body string
		status                  int
		answer                  string
	}{
		{"text", "application/json", `{"text":"hi"}`, 200, "ok"},
		{"blocks only", "application/json", `{"blocks":[{"type":"divider"}]}`, 200, "ok"},
		{"attachments only", "application/json", `{"attachments":[{"fallback":"f"}]}`, 200, "ok"},
		{"string booleans", "application/json", `{"text":"x","unfurl_links":"true","unfurl_media":false}`, 200, "ok"},
		{"numeric thread_ts", "application/json", `{"text":"x","thread_ts":1234567890}`, 200, "ok"},
		{"form payload", "application/x-www-form-urlencoded", form, 200, "ok"},
		{"json without content type", "", `{"text":"x"}`, 200, "ok"},
		{"100 attachments", "application/json", `{"attachments":[` + strings.Repeat(`{"text":"a"},`, 99) + `{"text":"a"}]}`, 200, "ok"},
		{"malformed", "application/json", `{"text":`, 400, "invalid_payload"},
		{"not an object", "application/json", `["text"]`, 400, "invalid_payload"},
		{"empty body", "application/json", ``, 400, "invalid_payload"},
		{"text not a string", "application/json", `{"text":12}`, 400, "invalid_payload"},
		{"blocks not an array", "application/json", `{"blocks":{}}`, 400, "invalid_payload"},
		{"bad boolean", "application/json", `{"text":"x","unfurl_links":"maybe"}`, 400, "invalid_payload"},
		{"form without payload", "application/x-www-form-urlencoded", `text=hi`, 400, "invalid_payload"},
		{"no text", "application/json", `{}`, 400, "no_text"},
		{"empty text", "application/json", `{"text":"","blocks":[],"attachments":[]}`, 400, "no_text"},
		{"delete_original on a webhook", "application/json", `{"delete_original":true}`, 400, "no_text"},
		{"too many attachments", "application/json", `{"attachments":` + many + `}`, 400, "too_many_attachments"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantHook(t, tt.name, hookPost(t, hook.URL, tt.contentType, tt.body), tt.status, tt.answer)
		})
	}
	if got := len(srv.History(hook.Channel)); got != 8 {
		t.Errorf("history has %d messages, want 8", got)
	}
	if got := srv.History(hook.Channel)[5].Text; got != "from a form" {
		t.Errorf("form message text = %q", got)
	}
}

func TestWebhookUnknownHook(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	u, _ := url.Parse(ws.Webhooks[0].URL)
	for _, path := range []string{
		strings.TrimSuffix(u.Path, u.Path[len(u.Path)-4:]) + "0000",
		"/services/" + ws.TeamID + "/B0/x",
		"/services/x",
		"/commands/" + ws.TeamID + "/1/nope",
		"/actions/x",
		"/app/" + ws.TeamID + "/2/nope",
	} {
		a := hookJSON(t, srv.URL()+path, `{"text":"x"}`)
		wantHook(t, path, a, 404, "no_service")
		if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s: Content-Type = %q", path, ct)
		}
	}
	entries := srv.Transcript().Entries(func(e fakeslack.Entry) bool { return e.Kind == fakeslack.KindWebhook })
	if len(entries) != 6 || entries[0].Status != "404 no_service" || entries[3].Method != "response_url" {
		t.Errorf("transcript = %+v", entries)
	}
	if n := srv.Stats().WebhookPosts; n != 6 {
		t.Errorf("WebhookPosts = %d", n)
	}
	if got := srv.WebhookPosts(""); len(got) != 6 || got[0].Seq >= got[5].Seq {
		t.Errorf("all posts = %+v", got)
	}
}

func TestWebhookArchivedChannel(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	hook := ws.Webhooks[0]
	if !srv.ArchiveChannel(ws.TeamID, ws.Channels[0].Name) {
		t.Fatal("ArchiveChannel: channel not found")
	}
	if srv.ArchiveChannel(ws.TeamID, "nope") || srv.ArchiveChannel("T0NOPE", ws.Channels[0].ID) {
		t.Error("ArchiveChannel of an unknown channel reported true")
	}
	wantHook(t, "archived", hookJSON(t, hook.URL, `{"text":"x"}`), 410, "channel_is_archived")
	wantHook(t, "other channel", hookJSON(t, ws.Webhooks[1].URL, `{"text":"x"}`), 200, "ok")

	status, body := hookAdmin(t, srv, http.MethodPost, "channels/archive", `{"team":"`+ws.TeamID+`","channel":"`+hook.Channel+`","archived":false}`)
	if status != 200 || body["ok"] != true {
		t.Fatalf("unarchive: %d %v", status, body)
	}
	wantHook(t, "unarchived", hookJSON(t, hook.URL, `{"text":"x"}`), 200, "ok")
	status, _ = hookAdmin(t, srv, http.MethodPost, "channels/archive", `{"team":"`+ws.TeamID+`","channel":"general"}`)
	if status != 200 {
		t.Fatalf("archive: %d", status)
	}
	wantHook(t, "archived again", hookJSON(t, hook.URL, `{"text":"x"}`), 410, "channel_is_archived")
	if len(srv.History(hook.Channel)) != 1 {
		t.Errorf("history = %+v", srv.History(hook.Channel))
	}

	for _, tt := range []struct {
		body   string
		status int
	}{
		{`{"team":"` + ws.TeamID + `"}`, 400},
		{`{"team":`, 400},
		{`{"team":"T0NOPE","channel":"general"}`, 404},
		{`{"team":"` + ws.TeamID + `","channel":"nope"}`, 404},
	} {
		if status, body := hookAdmin(t, srv, http.MethodPost, "channels/archive", tt.body); status != tt.status || body["ok"] != false {
			t.Errorf("archive %s: %d %v, want %d", tt.body, status, body, tt.status)
		}
	}
}

func TestWebhookRevokedBotToken(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	hook := ws.Webhooks[0]
	srv.RevokeToken(ws.BotToken)
	wantHook(t, "revoked", hookJSON(t, hook.URL, `{"text":"x"}`), 403, "invalid_token")
	wantHook(t, "other workspace", hookJSON(t, srv.Workspaces()[1].Webhooks[0].URL, `{"text":"x"}`), 200, "ok")
	srv.RestoreToken(ws.BotToken)
	srv.RevokeToken(ws.ClassicBotToken) // not the webhook's bot
	wantHook(t, "restored", hookJSON(t, hook.URL, `{"text":"x"}`), 200, "ok")
	srv.DeactivateToken(ws.BotToken)
	wantHook(t, "deactivated", hookJSON(t, hook.URL, `{"text":"x"}`), 403, "invalid_token")
	// A response_url keeps working: it belongs to the interaction.
	wantHook(t, "response_url", hookJSON(t, issueResponseURL(t, srv, "commands", ws), `{"text":"x"}`), 200, "ok")
}

func TestWebhookFail(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	hook := ws.Webhooks[0]

	if !srv.FailWebhook(hook.URL, 2, 403, "invalid_token") || !srv.FailWebhook(hook.URL, 1, 0, "") {
		t.Fatal("FailWebhook: unknown hook")
	}
	if srv.FailWebhook(srv.URL()+"/services/T0/B0/nope", 1, 500, "") {
		t.Error("FailWebhook of an unknown hook reported true")
	}
	wantHook(t, "1st", hookJSON(t, hook.URL, `{"text":"x"}`), 403, "invalid_token")
	wantHook(t, "2nd (even malformed)", hookJSON(t, hook.URL, `{`), 403, "invalid_token")
	wantHook(t, "3rd", hookJSON(t, hook.URL, `{"text":"x"}`), 500, "rollup_error")
	wantHook(t, "4th", hookJSON(t, hook.URL, `{"text":"x"}`), 200, "ok")

	// Default bodies per status.
	u, _ := url.Parse(hook.URL)
	for status, body := range map[int]string{403: "action_prohibited", 404: "channel_not_found", 410: "channel_is_archived", 500: "rollup_error"} {
		srv.FailWebhook(u.Path, 1, status, "")
		wantHook(t, strconv.Itoa(status), hookJSON(t, hook.URL, `{"text":"x"}`), status, body)
	}
	srv.FailWebhook(hook.URL, 1, 429, "")
	a := hookJSON(t, hook.URL, `{"text":"x"}`)
	if a.status != 429 || a.header.Get("Retry-After") != "1" || !strings.Contains(a.body, `"rate_limited"`) {
		t.Errorf("injected 429: %d %q %v", a.status, a.body, a.header)
	}

	// Clearing.
	srv.FailWebhook(hook.URL, 5, 500, "")
	srv.FailWebhook(hook.URL, 0, 0, "")
	wantHook(t, "cleared", hookJSON(t, hook.URL, `{"text":"x"}`), 200, "ok")

	// Over the admin API, for a response_url too.
	ru := issueResponseURL(t, srv, "actions", ws)
	status, body := hookAdmin(t, srv, http.MethodPost, "webhooks/fail", fmt.Sprintf(`{"url":%q,"count":1,"status":404,"body":"channel_not_found"}`, ru))
	if status != 200 || body["ok"] != true {
		t.Fatalf("webhooks/fail: %d %v", status, body)
	}
	wantHook(t, "response_url fault", hookJSON(t, ru, `{"text":"x"}`), 404, "channel_not_found")
	wantHook(t, "response_url after fault", hookJSON(t, ru, `{"text":"x"}`), 200, "ok")
	for _, tt := range []struct {
		body   string
		status int
	}{
		{`{"count":1}`, 400},
		{fmt.Sprintf(`{"url":%q}`, hook.URL), 400},
		{fmt.Sprintf(`{"url":%q,"count":1,"status":200}`, hook.URL), 400},
		{`{"url":`, 400},
		{`{"url":"/services/T0/B0/nope","count":1}`, 404},
	} {
		status, body := hookAdmin(t, srv, http.MethodPost, "webhooks/fail", tt.body)
		if status != tt.status || body["ok"] != false {
			t.Errorf("webhooks/fail %s: %d %v, want %d", tt.body, status, body, tt.status)
		}
		if e, _ := body["error"].(string); strings.Contains(e, "nope") {
			t.Errorf("error %q shows the secret", e)
		}
	}
}

func TestWebhookRateLimit(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{Webhooks: fakeslack.WebhookOptions{Rate: 10, Burst: 3}})
	ws := srv.Workspaces()[0]
	hook := ws.Webhooks[0]
	for i := range 3 {
		wantHook(t, fmt.Sprintf("burst %d", i), hookJSON(t, hook.URL, `{"text":"x"}`), 200, "ok")
	}
	a := hookJSON(t, hook.URL, `{"text":"x"}`)
	if a.status != 429 || a.header.Get("Retry-After") != "1" {
		t.Fatalf("over the burst: %d %q Retry-After %q", a.status, a.body, a.header.Get("Retry-After"))
	}
	var j struct {
		RetryAfter int    `json:"retry_after"`
		OK         bool   `json:"ok"`
		Error      string `json:"error"`
	}
	if err := json.Unmarshal([]byte(a.body), &j); err != nil || j.RetryAfter != 1 || j.OK || j.Error != "rate_limited" {
		t.Errorf("429 body %q: %+v %v", a.body, j, err)
	}
	// Another hook has its own allowance.
	wantHook(t, "other hook", hookJSON(t, ws.Webhooks[1].URL, `{"text":"x"}`), 200, "ok")
	// The allowance refills at 10 a second.
	waitFor(t, 3*time.Second, "the hook to accept again", func() bool {
		return hookJSON(t, hook.URL, `{"text":"x"}`).status == 200
	})
	if got := len(srv.History(hook.Channel)); got != 4 {
		t.Errorf("history has %d messages, want 4", got)
	}
	entries := srv.Transcript().Entries(func(e fakeslack.Entry) bool { return e.Status == "429 rate_limited" })
	if len(entries) == 0 {
		t.Error("no 429 in the transcript")
	}
}

func TestWebhookRateLimitDefault(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	hook := srv.Workspaces()[0].Webhooks[0]
	ok := 0
	start := time.Now()
	for {
		a := hookJSON(t, hook.URL, `{"text":"x"}`)
		if a.status == 429 {
			break
		}
		ok++
		if ok > 10 {
			t.Fatalf("no 429 after %d posts", ok)
		}
	}
	// A burst of 5, plus whatever refilled at 1/s while posting.
	if ok < 5 || ok > 5+int(time.Since(start).Seconds())+1 {
		t.Errorf("%d posts accepted before the first 429", ok)
	}
	posts := srv.WebhookPosts(hook.URL)
	if last := posts[len(posts)-1]; last.Status != 429 || last.Seq != posts[len(posts)-2].Seq+1 {
		t.Errorf("last post = %+v", last)
	}
}

func TestResponseURLResponses(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	ch := ws.Channels[0].ID
	ru := issueResponseURL(t, srv, "actions", ws)
	if !strings.HasPrefix(ru, srv.URL()+"/actions/"+ws.TeamID+"/") {
		t.Fatalf("response_url = %s", ru)
	}

	// Ephemeral by default: not in the history.
	wantHook(t, "ephemeral", hookJSON(t, ru, `{"text":"just you"}`), 200, "ok")
	if h := srv.History(ch); len(h) != 0 {
		t.Fatalf("history = %+v", h)
	}
	// In channel, in a thread, with booleans as strings.
	wantHook(t, "in_channel", hookJSON(t, ru, `{"text":"everyone","response_type":"in_channel","replace_original":"false","thread_ts":"1234567890"}`), 200, "ok")
	h := srv.History(ch)
	if len(h) != 1 || h[0].Text != "everyone" || h[0].Via != "response_url" || h[0].ThreadTS != "1234567890" || h[0].BotID != ws.BotID {
		t.Fatalf("history = %+v", h)
	}
	ts := h[0].TS
	// Replace it.
	wantHook(t, "replace", hookJSON(t, ru, `{"text":"edited","replace_original":"true"}`), 200, "ok")
	if h := srv.History(ch); len(h) != 1 || h[0].Text != "edited" || h[0].TS != ts {
		t.Fatalf("after replace: %+v", h)
	}
	// Delete it, alone.
	wantHook(t, "delete", hookJSON(t, ru, `{"delete_original":"true"}`), 200, "ok")
	if h := srv.History(ch); len(h) != 0 {
		t.Fatalf("after delete: %+v", h)
	}

	posts := srv.WebhookPosts(ru)
	want := []struct {
		action    string
		ephemeral bool
		ts        string
		deleted   string
	}{
		{"ephemeral", true, "", ""},
		{"posted", false, ts, ""},
		{"replaced", false, ts, ""},
		{"deleted", false, "", ts},
	}
	if len(posts) != len(want) {
		t.Fatalf("posts = %+v", posts)
	}
	for i, w := range want {
		p := posts[i]
		if p.Kind != "response_url" || p.Action != w.action || p.Ephemeral != w.ephemeral || p.TS != w.ts || p.DeletedTS != w.deleted || p.Channel != ch {
			t.Errorf("post %d = %+v, want %+v", i, p, w)
		}
	}
	// The fifth use works; a sixth is refused.
	wantHook(t, "5th", hookJSON(t, ru, `{"text":"last","response_type":"in_channel"}`), 200, "ok")
	wantHook(t, "6th", hookJSON(t, ru, `{"text":"one too many"}`), 404, "expired_url")

	entries := srv.Transcript().Entries(func(e fakeslack.Entry) bool { return e.Method == "response_url" })
	if len(entries) != 6 || entries[5].Status != "404 expired_url" {
		t.Errorf("transcript = %+v", entries)
	}
}

func TestResponseURLDeleteWithNewMessage(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	ch := ws.Channels[0].ID
	ru := issueResponseURL(t, srv, "commands", ws)
	wantHook(t, "first", hookJSON(t, ru, `{"text":"one","response_type":"in_channel"}`), 200, "ok")
	first := srv.History(ch)[0].TS
	wantHook(t, "delete and post", hookJSON(t, ru, `{"text":"two","response_type":"in_channel","delete_original":true}`), 200, "ok")
	h := srv.History(ch)
	if len(h) != 1 || h[0].Text != "two" || h[0].TS == first {
		t.Fatalf("history = %+v", h)
	}
	p := srv.WebhookPosts(ru)[1]
	if p.Action != "posted" || !p.Deleted || p.DeletedTS != first || p.TS != h[0].TS {
		t.Errorf("post = %+v", p)
	}
	// Nothing posted before: replace and delete still answer ok.
	ru2 := issueResponseURL(t, srv, "app", ws)
	wantHook(t, "replace unknown", hookJSON(t, ru2, `{"text":"x","replace_original":true}`), 200, "ok")
	wantHook(t, "delete unknown", hookJSON(t, ru2, `{"delete_original":true}`), 200, "ok")
	wantHook(t, "no text", hookJSON(t, ru2, `{"replace_original":true}`), 400, "no_text")
	if p := srv.WebhookPosts(ru2); p[0].Action != "replaced" || !p[0].Ephemeral || p[1].Action != "deleted" || p[1].DeletedTS != "" {
		t.Errorf("posts = %+v", p)
	}
	if len(srv.History(ch)) != 1 {
		t.Errorf("history = %+v", srv.History(ch))
	}
}

func TestResponseURLLimits(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{Webhooks: fakeslack.WebhookOptions{
		ResponseURLUses: 2, ResponseURLTTL: time.Hour, ExpiredStatus: 410, ExpiredBody: "used_up", NoTextBody: "missing_text_or_fallback_or_attachments",
	}})
	ws := srv.Workspaces()[0]
	ru := issueResponseURL(t, srv, "commands", ws)
	// Refused posts cost no use.
	wantHook(t, "malformed", hookJSON(t, ru, `{`), 400, "invalid_payload")
	wantHook(t, "empty", hookJSON(t, ru, `{}`), 400, "missing_text_or_fallback_or_attachments")
	wantHook(t, "1st", hookJSON(t, ru, `{"text":"a"}`), 200, "ok")
	wantHook(t, "2nd", hookJSON(t, ru, `{"text":"b"}`), 200, "ok")
	wantHook(t, "3rd", hookJSON(t, ru, `{"text":"c"}`), 410, "used_up")
	// Each response_url counts its own uses.
	wantHook(t, "another", hookJSON(t, issueResponseURL(t, srv, "commands", ws), `{"text":"d"}`), 200, "ok")

	// Expiry.
	srv2 := start(t, fakeslack.Options{Webhooks: fakeslack.WebhookOptions{ResponseURLTTL: time.Nanosecond}})
	ws2 := srv2.Workspaces()[0]
	ru2 := issueResponseURL(t, srv2, "commands", ws2)
	waitFor(t, time.Second, "the response_url to expire", func() bool {
		return hookJSON(t, ru2, `{"text":"late"}`).status == 404
	})
	if p := srv2.WebhookPosts(ru2); p[len(p)-1].Answer != "expired_url" {
		t.Errorf("posts = %+v", p)
	}
}

func TestResponseURLIssue(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[1]
	for _, tt := range []struct{ kind, team, channel string }{
		{"nope", ws.TeamID, "general"},
		{"commands", "T0NOPE", "general"},
		{"commands", ws.TeamID, "nope"},
	} {
		if u, err := srv.IssueResponseURL(tt.kind, tt.team, tt.channel); err == nil {
			t.Errorf("IssueResponseURL(%q, %q, %q) = %s, want an error", tt.kind, tt.team, tt.channel, u)
		}
	}
	status, body := hookAdmin(t, srv, http.MethodPost, "response-urls", `{"team":"`+ws.TeamID+`","channel":"general"}`)
	ru, _ := body["response_url"].(string)
	if status != 200 || !strings.HasPrefix(ru, srv.URL()+"/commands/"+ws.TeamID+"/") {
		t.Fatalf("response-urls: %d %v", status, body)
	}
	wantHook(t, "issued", hookJSON(t, ru, `{"text":"hi","response_type":"in_channel"}`), 200, "ok")
	if h := srv.History(ws.Channels[0].ID); len(h) != 1 || h[0].Text != "hi" {
		t.Errorf("history = %+v", h)
	}
	for _, tt := range []struct {
		body   string
		status int
	}{
		{`{"team":"` + ws.TeamID + `"}`, 400},
		{`{"kind":"nope","team":"` + ws.TeamID + `","channel":"general"}`, 400},
		{`{"team":"T0NOPE","channel":"general"}`, 404},
		{`{"team":"` + ws.TeamID + `","channel":"nope"}`, 404},
	} {
		if status, body := hookAdmin(t, srv, http.MethodPost, "response-urls", tt.body); status != tt.status || body["ok"] != false {
			t.Errorf("response-urls %s: %d %v, want %d", tt.body, status, body, tt.status)
		}
	}
}

// TestResponseURLFromSlashCommand answers a slash command delivered over Socket Mode through its
// response_url.
func TestResponseURLFromSlashCommand(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{Workspaces: 1})
	app, ws := srv.Apps()[0], srv.Workspaces()[0]

	req, err := http.NewRequest(http.MethodPost, srv.APIURL()+"apps.connections.open", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+app.AppToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var open struct {
		OK  bool   `json:"ok"`
		URL string `json:"url"`
	}
	err = json.NewDecoder(resp.Body).Decode(&open)
	_ = resp.Body.Close()
	if err != nil || !open.OK {
		t.Fatalf("apps.connections.open: %+v %v", open, err)
	}
	c := dial(t, open.URL)
	if f := readFrame(t, c, 5*time.Second); f["type"] != "hello" {
		t.Fatalf("first frame = %v", f)
	}
	inj, err := srv.InjectSlashCommand(app.AppID, fakeslack.SlashCommand{Team: ws.TeamID, Command: "/deploy"})
	if err != nil {
		t.Fatalf("InjectSlashCommand: %v", err)
	}
	env := readFrame(t, c, 5*time.Second)
	payload, _ := env["payload"].(map[string]any)
	if payload["response_url"] != inj.ResponseURL {
		t.Fatalf("envelope = %v, want response_url %s", env, inj.ResponseURL)
	}
	ack, _ := json.Marshal(map[string]any{"envelope_id": env["envelope_id"]})
	if err := c.WriteMessage(websocket.TextMessage, ack); err != nil {
		t.Fatal(err)
	}
	wantHook(t, "answer", hookJSON(t, inj.ResponseURL, `{"text":"deployed","response_type":"in_channel"}`), 200, "ok")
	channel, _ := payload["channel_id"].(string)
	if h := srv.History(channel); len(h) != 1 || h[0].Text != "deployed" || h[0].Via != "response_url" {
		t.Errorf("history of %s = %+v", channel, h)
	}
}

func TestWebhookPostsAdmin(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	wantHook(t, "a", hookJSON(t, ws.Webhooks[0].URL, `{"text":"a"}`), 200, "ok")
	wantHook(t, "b", hookJSON(t, ws.Webhooks[1].URL, `{}`), 400, "no_text")

	status, body := hookAdmin(t, srv, http.MethodGet, "webhooks/posts?url="+url.QueryEscape(ws.Webhooks[0].URL), "")
	posts, _ := body["posts"].([]any)
	if status != 200 || len(posts) != 1 {
		t.Fatalf("posts: %d %v", status, body)
	}
	p, _ := posts[0].(map[string]any)
	if p["status"] != float64(200) || p["answer"] != "ok" || p["body"] != `{"text":"a"}` || p["action"] != "posted" || p["kind"] != "webhook" {
		t.Errorf("post = %v", p)
	}
	status, body = hookAdmin(t, srv, http.MethodGet, "webhooks/posts", "")
	if posts, _ := body["posts"].([]any); status != 200 || len(posts) != 2 {
		t.Errorf("all posts: %d %v", status, body)
	}
	status, body = hookAdmin(t, srv, http.MethodGet, "webhooks/posts?url=/services/T0/B0/none", "")
	if posts, ok := body["posts"].([]any); status != 200 || !ok || len(posts) != 0 {
		t.Errorf("posts of an unused URL: %d %v", status, body)
	}
}
