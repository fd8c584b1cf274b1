package fakeslack_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/fakeslack"
)

// apiResult is one Web API answer.
type apiResult struct {
	Status int
	Header http.Header
	Body   map[string]any
}

// apiDo sends req and decodes the JSON answer.
func apiDo(t testing.TB, req *http.Request) apiResult {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	var body map[string]any
	if err := json.Unmarshal(data, &body); err != nil {
		t.Fatalf("%s answered %d %q: not a JSON object: %v", req.URL.Path, resp.StatusCode, data, err)
	}
	return apiResult{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// apiForm posts form values to a method, with the token as a Bearer header unless it is "".
func apiForm(t testing.TB, srv *fakeslack.Server, method, bearer string, form url.Values) apiResult {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.APIURL()+method, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return apiDo(t, req)
}

// apiJSON posts a JSON body to a method, with the token as a Bearer header unless it is "".
func apiJSON(t testing.TB, srv *fakeslack.Server, method, bearer, body string) apiResult {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.APIURL()+method, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return apiDo(t, req)
}

// wantOK fails the test unless the answer is HTTP 200 with ok:true.
func wantOK(t testing.TB, r apiResult) {
	t.Helper()
	if r.Status != http.StatusOK || r.Body["ok"] != true {
		t.Fatalf("answer %d %v, want 200 ok:true", r.Status, r.Body)
	}
}

// wantError fails the test unless the answer is HTTP status with ok:false and error code.
func wantError(t testing.TB, r apiResult, status int, code string) {
	t.Helper()
	if r.Status != status || r.Body["ok"] != false || r.Body["error"] != code {
		t.Fatalf("answer %d %v, want %d error %q", r.Status, r.Body, status, code)
	}
}

func TestWebAPITokenSources(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	tok := srv.Workspaces()[0].BotToken

	get := func(s *fakeslack.Server, path string) apiResult {
		req, err := http.NewRequest(http.MethodGet, s.URL()+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		return apiDo(t, req)
	}
	t.Run("bearer header", func(t *testing.T) { wantOK(t, apiForm(t, srv, "auth.test", tok, nil)) })
	t.Run("form field", func(t *testing.T) {
		wantOK(t, apiForm(t, srv, "auth.test", "", url.Values{"token": {tok}}))
	})
	t.Run("json with bearer", func(t *testing.T) { wantOK(t, apiJSON(t, srv, "auth.test", tok, `{}`)) })
	t.Run("json without bearer", func(t *testing.T) {
		wantError(t, apiJSON(t, srv, "auth.test", "", `{"token":"`+tok+`"}`), 200, "not_authed")
	})
	t.Run("invalid json", func(t *testing.T) {
		wantError(t, apiJSON(t, srv, "auth.test", tok, `{"channel":`), 200, "invalid_json")
	})
	t.Run("json not object", func(t *testing.T) {
		wantError(t, apiJSON(t, srv, "auth.test", tok, `[1,2]`), 200, "json_not_object")
	})
	t.Run("unknown method", func(t *testing.T) {
		wantError(t, apiForm(t, srv, "chat.doesNotExist", tok, nil), 200, "unknown_method")
		wantError(t, get(srv, "/api/nope.nothing"), 200, "unknown_method")
	})
	t.Run("headers", func(t *testing.T) {
		r := apiForm(t, srv, "chat.postMessage", tok, url.Values{"channel": {"general"}, "text": {"hi"}})
		wantOK(t, r)
		if ct := r.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("Content-Type = %q", ct)
		}
		if r.Header.Get("X-Slack-Req-Id") == "" || r.Header.Get("X-Accepted-OAuth-Scopes") != "chat:write" {
			t.Errorf("headers = %v", r.Header)
		}
	})
}

func TestWebAPIAuthErrors(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{RateLimits: map[string]fakeslack.Limit{"auth.test": {PerMinute: 1, Burst: 2}}})
	ws := srv.Workspaces()[0]
	app := srv.Apps()[0]

	t.Run("not_authed", func(t *testing.T) {
		wantError(t, apiForm(t, srv, "users.info", "", url.Values{"user": {"U1"}}), 200, "not_authed")
	})
	t.Run("invalid_auth", func(t *testing.T) {
		wantError(t, apiForm(t, srv, "users.info", "xoxb-1-2-nope", nil), 200, "invalid_auth")
	})
	t.Run("token_revoked", func(t *testing.T) {
		if !srv.RevokeToken(ws.UserToken) {
			t.Fatal("RevokeToken: unknown token")
		}
		wantError(t, apiForm(t, srv, "users.info", ws.UserToken, nil), 200, "token_revoked")
		srv.RestoreToken(ws.UserToken)
		wantOK(t, apiForm(t, srv, "users.info", ws.UserToken, url.Values{"user": {ws.BotUserID}}))
	})
	t.Run("account_inactive", func(t *testing.T) {
		w2 := srv.Workspaces()[1]
		srv.DeactivateToken(w2.BotToken)
		wantError(t, apiForm(t, srv, "chat.postMessage", w2.BotToken, url.Values{"channel": {"general"}, "text": {"x"}}), 200, "account_inactive")
	})
	t.Run("not_allowed_token_type", func(t *testing.T) {
		wantError(t, apiForm(t, srv, "rtm.connect", ws.BotToken, nil), 200, "not_allowed_token_type")
		wantError(t, apiForm(t, srv, "rtm.start", ws.BotToken, nil), 200, "not_allowed_token_type")
		wantError(t, apiForm(t, srv, "rtm.connect", app.AppToken, nil), 200, "not_allowed_token_type")
	})
	t.Run("missing_scope", func(t *testing.T) {
		w2 := srv.Workspaces()[1]
		srv.SetScopes(w2.ClassicBotToken, []string{"bot", "users:read"})
		r := apiForm(t, srv, "chat.postMessage", w2.ClassicBotToken, url.Values{"channel": {"general"}, "text": {"x"}})
		wantError(t, r, 200, "missing_scope")
		if r.Body["needed"] != "chat:write" || r.Body["provided"] != "bot,users:read" {
			t.Errorf("needed/provided = %v / %v", r.Body["needed"], r.Body["provided"])
		}
		wantError(t, apiForm(t, srv, "conversations.list", w2.ClassicBotToken, nil), 200, "missing_scope")
	})
	t.Run("ratelimited", func(t *testing.T) {
		wantOK(t, apiForm(t, srv, "auth.test", ws.ClassicBotToken, nil))
		wantOK(t, apiForm(t, srv, "auth.test", ws.ClassicBotToken, nil))
		r := apiForm(t, srv, "auth.test", ws.ClassicBotToken, nil)
		wantError(t, r, http.StatusTooManyRequests, "ratelimited")
		if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
			t.Errorf("Retry-After = %q", ra)
		}
		// Limits are per method and token: another token is not limited.
		wantOK(t, apiForm(t, srv, "auth.test", ws.UserToken, nil))
	})
}

func TestWebAPIAuthTest(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	app := srv.Apps()[0]
	for _, tt := range []struct {
		name, token, user, botID string
	}{
		{"classic bot", ws.ClassicBotToken, ws.BotUserID, ws.BotID},
		{"granular bot", ws.BotToken, ws.BotUserID, ws.BotID},
		{"user", ws.UserToken, ws.Users[0].ID, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := apiForm(t, srv, "auth.test", "", url.Values{"token": {tt.token}})
			wantOK(t, r)
			b := r.Body
			if b["team_id"] != ws.TeamID || b["team"] != ws.Name || b["user_id"] != tt.user ||
				b["url"] != "https://"+ws.Domain+".slack.com/" || b["user"] == "" {
				t.Errorf("auth.test = %v", b)
			}
			if got, _ := b["bot_id"].(string); got != tt.botID {
				t.Errorf("bot_id = %q, want %q", got, tt.botID)
			}
		})
	}
	t.Run("app token", func(t *testing.T) {
		r := apiForm(t, srv, "auth.test", app.AppToken, nil)
		wantOK(t, r)
		if r.Body["app_id"] != app.AppID {
			t.Errorf("auth.test = %v", r.Body)
		}
	})
}

func TestWebAPIChatPostMessage(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{ChannelsPerWorkspace: 3})
	ws := srv.Workspaces()[0]
	general, archived := ws.Channels[0], ws.Channels[2]
	srv.SetChannelArchived(archived.ID, true)
	tok := ws.BotToken

	for _, tt := range []struct {
		name string
		form url.Values
		code string
	}{
		{"no channel", url.Values{"text": {"x"}}, "invalid_arguments"},
		{"unknown channel", url.Values{"channel": {"C0NOPE"}, "text": {"x"}}, "channel_not_found"},
		{"archived", url.Values{"channel": {archived.ID}, "text": {"x"}}, "is_archived"},
		{"no text", url.Values{"channel": {general.ID}}, "no_text"},
		{"empty blocks", url.Values{"channel": {general.ID}, "blocks": {"[]"}}, "no_text"},
		{"too long", url.Values{"channel": {general.ID}, "text": {strings.Repeat("é", 40001)}}, "msg_too_long"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := apiForm(t, srv, "chat.postMessage", tok, tt.form)
			wantError(t, r, 200, tt.code)
			if tt.code == "invalid_arguments" {
				msgs := r.Body["response_metadata"].(map[string]any)["messages"].([]any)
				if len(msgs) != 1 || msgs[0] != "[ERROR] missing required field: channel" {
					t.Errorf("messages = %v", msgs)
				}
			}
		})
	}

	r := apiForm(t, srv, "chat.postMessage", tok, url.Values{"channel": {"general"}, "text": {"parent"}})
	wantOK(t, r)
	parentTS := r.Body["ts"].(string)
	msg := r.Body["message"].(map[string]any)
	if r.Body["channel"] != general.ID || msg["ts"] != parentTS || msg["text"] != "parent" || msg["type"] != "message" ||
		msg["user"] != ws.BotUserID || msg["bot_id"] != ws.BotID || msg["app_id"] == "" || msg["team"] != ws.TeamID {
		t.Errorf("chat.postMessage = %v", r.Body)
	}
	if _, ok := msg["thread_ts"]; ok {
		t.Errorf("top-level message has thread_ts: %v", msg)
	}

	// JSON body, a thread reply, by the user token.
	r = apiJSON(t, srv, "chat.postMessage", ws.UserToken, `{"channel":"`+general.ID+`","text":"reply","thread_ts":"`+parentTS+`"}`)
	wantOK(t, r)
	msg = r.Body["message"].(map[string]any)
	if msg["thread_ts"] != parentTS || msg["parent_user_id"] != ws.BotUserID || msg["user"] != ws.Users[0].ID {
		t.Errorf("thread reply = %v", msg)
	}
	if _, ok := msg["bot_id"]; ok {
		t.Errorf("user token message has bot_id: %v", msg)
	}

	// Blocks without text are accepted.
	wantOK(t, apiForm(t, srv, "chat.postMessage", tok, url.Values{"channel": {general.ID},
		"blocks": {`[{"type":"section","text":{"type":"mrkdwn","text":"hi"}}]`}}))

	hist := srv.History(general.ID)
	if len(hist) != 3 {
		t.Fatalf("history has %d messages, want 3: %+v", len(hist), hist)
	}
	if hist[0].Text != "parent" || hist[0].Via != "chat.postMessage" || hist[0].TS != parentTS || hist[0].BotID != ws.BotID {
		t.Errorf("history[0] = %+v", hist[0])
	}
	if hist[1].ThreadTS != parentTS || !(hist[0].TS < hist[1].TS && hist[1].TS < hist[2].TS) {
		t.Errorf("history = %+v", hist)
	}
}

func TestWebAPIConversationsList(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{ChannelsPerWorkspace: 5})
	ws := srv.Workspaces()[0]
	srv.SetChannelArchived(ws.Channels[4].ID, true)

	var got []string
	cursor := ""
	for page := 0; ; page++ {
		if page > 5 {
			t.Fatal("pagination does not end")
		}
		form := url.Values{"limit": {"2"}}
		if cursor != "" {
			form.Set("cursor", cursor)
		}
		r := apiForm(t, srv, "conversations.list", ws.BotToken, form)
		wantOK(t, r)
		chans := r.Body["channels"].([]any)
		if len(chans) > 2 {
			t.Fatalf("page of %d channels with limit 2", len(chans))
		}
		for _, c := range chans {
			m := c.(map[string]any)
			if m["is_channel"] != true {
				t.Errorf("channel = %v", m)
			}
			got = append(got, m["id"].(string))
		}
		cursor = r.Body["response_metadata"].(map[string]any)["next_cursor"].(string)
		if cursor == "" {
			break
		}
	}
	if len(got) != 5 || got[0] != ws.Channels[0].ID || got[4] != ws.Channels[4].ID {
		t.Errorf("channels = %v", got)
	}

	r := apiForm(t, srv, "conversations.list", ws.BotToken, url.Values{"exclude_archived": {"true"}})
	wantOK(t, r)
	if n := len(r.Body["channels"].([]any)); n != 4 {
		t.Errorf("exclude_archived gave %d channels, want 4", n)
	}
	wantError(t, apiForm(t, srv, "conversations.list", ws.BotToken, url.Values{"cursor": {"!!"}}), 200, "invalid_cursor")
	wantError(t, apiForm(t, srv, "conversations.list", ws.BotToken, url.Values{"limit": {"x"}}), 200, "invalid_limit")
	r = apiForm(t, srv, "conversations.list", ws.BotToken, url.Values{"types": {"im"}})
	wantOK(t, r)
	if n := len(r.Body["channels"].([]any)); n != 0 {
		t.Errorf("types=im gave %d channels", n)
	}
}

func TestWebAPIUsersInfo(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	r := apiForm(t, srv, "users.info", ws.BotToken, url.Values{"user": {ws.Users[1].ID}})
	wantOK(t, r)
	u := r.Body["user"].(map[string]any)
	if u["id"] != ws.Users[1].ID || u["name"] != ws.Users[1].Name || u["team_id"] != ws.TeamID || u["is_bot"] != false {
		t.Errorf("user = %v", u)
	}
	r = apiForm(t, srv, "users.info", ws.BotToken, url.Values{"user": {ws.BotUserID}})
	wantOK(t, r)
	if u := r.Body["user"].(map[string]any); u["is_bot"] != true || u["profile"].(map[string]any)["bot_id"] != ws.BotID {
		t.Errorf("bot user = %v", u)
	}
	wantError(t, apiForm(t, srv, "users.info", ws.BotToken, nil), 200, "invalid_arguments")
	wantError(t, apiForm(t, srv, "users.info", ws.BotToken, url.Values{"user": {"U0NOBODY"}}), 200, "user_not_found")
	// A user of another workspace is not found with this workspace's token.
	wantError(t, apiForm(t, srv, "users.info", ws.BotToken, url.Values{"user": {srv.Workspaces()[1].Users[0].ID}}), 200, "user_not_found")
}

func TestWebAPIRTMConnect(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]

	r := apiForm(t, srv, "rtm.connect", "", url.Values{"token": {ws.ClassicBotToken}})
	wantOK(t, r)
	u, _ := r.Body["url"].(string)
	if !strings.HasPrefix(u, "ws://"+strings.TrimPrefix(srv.URL(), "http://")+"/websocket/") {
		t.Errorf("url = %q", u)
	}
	team := r.Body["team"].(map[string]any)
	self := r.Body["self"].(map[string]any)
	if team["id"] != ws.TeamID || team["name"] != ws.Name || team["domain"] != ws.Domain ||
		self["id"] != ws.BotUserID || self["name"] == "" {
		t.Errorf("rtm.connect = %v", r.Body)
	}
	if _, ok := r.Body["warning"]; ok {
		t.Errorf("rtm.connect has a warning: %v", r.Body)
	}

	r = apiForm(t, srv, "rtm.connect", ws.UserToken, nil)
	wantOK(t, r)
	if r.Body["self"].(map[string]any)["id"] != ws.Users[0].ID {
		t.Errorf("user token self = %v", r.Body["self"])
	}
	wantOK(t, apiJSON(t, srv, "rtm.connect", ws.ClassicBotToken, `{}`)) // JSON attributes are not read

	r = apiForm(t, srv, "rtm.start", ws.ClassicBotToken, nil)
	wantOK(t, r)
	if r.Body["warning"] != "method_deprecated" || len(r.Body["users"].([]any)) != len(ws.Users) ||
		len(r.Body["channels"].([]any)) != len(ws.Channels) || r.Body["latest_event_ts"] == "" ||
		r.Body["cache_version"] == "" || r.Body["url"] == "" {
		t.Errorf("rtm.start = %v", r.Body)
	}
	for _, k := range []string{"groups", "ims", "bots"} {
		if _, ok := r.Body[k].([]any); !ok {
			t.Errorf("rtm.start %s = %v", k, r.Body[k])
		}
	}
	warnings := r.Body["response_metadata"].(map[string]any)["warnings"].([]any)
	if len(warnings) != 1 || warnings[0] != "method_deprecated" {
		t.Errorf("warnings = %v", warnings)
	}
}

func TestWebAPIRefuseOpens(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]

	srv.RefuseOpens(ws.TeamID, 1, "ratelimited", 2*time.Second)
	r := apiForm(t, srv, "rtm.connect", ws.ClassicBotToken, nil)
	wantError(t, r, http.StatusTooManyRequests, "ratelimited")
	if ra := r.Header.Get("Retry-After"); ra != "2" {
		t.Errorf("Retry-After = %q, want 2", ra)
	}
	wantOK(t, apiForm(t, srv, "rtm.connect", ws.ClassicBotToken, nil))

	srv.RefuseOpens(ws.TeamID, 2, "invalid_auth", 0)
	wantError(t, apiForm(t, srv, "rtm.connect", ws.ClassicBotToken, nil), 200, "invalid_auth")
	wantError(t, apiForm(t, srv, "rtm.start", ws.ClassicBotToken, nil), 200, "invalid_auth")
	wantOK(t, apiForm(t, srv, "rtm.connect", ws.ClassicBotToken, nil))
	// Refusals only concern the methods that open sockets.
	srv.RefuseOpens(ws.TeamID, 1, "invalid_auth", 0)
	wantOK(t, apiForm(t, srv, "auth.test", ws.ClassicBotToken, nil))
}
