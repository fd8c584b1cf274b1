package conformance_test

import (
	"slices"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/fakeslack"
)

// TestWebAPINode runs @slack/web-api against fakeslack: each method fakeslack serves, each token
// kind, Slack's errors as the SDK's platform errors, and a 429 both rejected and retried after
// Retry-After.
func TestWebAPINode(t *testing.T) {
	t.Parallel()
	limits := fakeslack.DefaultRateLimits()
	limits["users.info"] = fakeslack.Limit{PerMinute: 60, Burst: 2}
	srv := startServer(t, fakeslack.Options{RateLimits: limits, ChannelsPerWorkspace: 3})
	ws, app := srv.Workspaces()[0], srv.Apps()[0]
	srv.SetScopes(ws.UserToken, []string{"client", "channels:read", "users:read"}) // no chat:write
	n := startNode(t, "webapi", map[string]string{
		"SLACK_API_URL": srv.APIURL(), "SLACK_BOT_TOKEN": ws.BotToken, "SLACK_CLASSIC_TOKEN": ws.ClassicBotToken,
		"SLACK_USER_TOKEN": ws.UserToken, "SLACK_APP_TOKEN": app.AppToken,
		"SLACK_CHANNEL": ws.Channels[0].ID, "SLACK_USER": ws.Users[0].ID,
	})
	calls := map[string]report{}
	var paginated []any
	var retriedMS float64
	for _, r := range n.exitOK(15 * time.Second) {
		switch r.str("ev") {
		case "call":
			calls[r.str("name")] = r
		case "paginated":
			paginated, _ = r["ids"].([]any)
		case "retried_after_ms":
			retriedMS, _ = r["ms"].(float64)
		}
	}
	result := func(name string) map[string]any {
		t.Helper()
		r, ok := calls[name]
		if !ok {
			t.Fatalf("no call %q reported", name)
		}
		if r["ok"] != true {
			t.Errorf("%s failed: %v", name, r["error"])
			return map[string]any{}
		}
		m, _ := r["result"].(map[string]any)
		return m
	}
	failure := func(name, code, slackError string) map[string]any {
		t.Helper()
		r, ok := calls[name]
		if !ok {
			t.Fatalf("no call %q reported", name)
		}
		e, _ := r["error"].(map[string]any)
		if r["ok"] != false || e["code"] != code || (slackError != "" && e["error"] != slackError) {
			t.Errorf("%s = %v, want %s %s", name, r, code, slackError)
		}
		return e
	}
	const platform = "slack_webapi_platform_error"

	if b := result("auth.test bot"); b["team_id"] != ws.TeamID || b["user_id"] != ws.BotUserID || b["bot_id"] != ws.BotID {
		t.Errorf("auth.test bot = %v", b)
	}
	if b := result("auth.test classic"); b["bot_id"] != ws.BotID {
		t.Errorf("auth.test classic = %v", b)
	}
	if b := result("auth.test user"); b["user_id"] != ws.Users[0].ID {
		t.Errorf("auth.test user = %v", b)
	}
	if b := result("auth.test app"); b["app_id"] != app.AppID {
		t.Errorf("auth.test app = %v", b)
	}
	failure("auth.test unknown token", platform, "invalid_auth")

	if b := result("chat.postMessage text"); b["channel"] != ws.Channels[0].ID || b["ts"] == "" {
		t.Errorf("chat.postMessage = %v", b)
	}
	if b := result("chat.postMessage blocks"); b["message"].(map[string]any)["blocks"] == nil {
		t.Errorf("chat.postMessage blocks = %v", b)
	}
	if b := result("chat.postMessage thread"); b["message"].(map[string]any)["thread_ts"] == nil {
		t.Errorf("chat.postMessage thread = %v", b)
	}
	failure("chat.postMessage unknown channel", platform, "channel_not_found")
	failure("chat.postMessage no text", platform, "no_text")
	failure("chat.postMessage missing scope", platform, "missing_scope")
	h := srv.History(ws.Channels[0].ID)
	if len(h) != 3 || h[2].Text != "in thread" || h[2].ThreadTS != h[1].TS {
		t.Errorf("history = %+v", h)
	}

	page := result("conversations.list page 1")
	if chs, _ := page["channels"].([]any); len(chs) != 1 || page["response_metadata"].(map[string]any)["next_cursor"] == "" {
		t.Errorf("conversations.list limit 1 = %v", page)
	}
	var want []any
	for _, c := range ws.Channels {
		want = append(want, c.ID)
	}
	if !slices.Equal(paginated, want) {
		t.Errorf("paginate(conversations.list) = %v, want %v", paginated, want)
	}

	if b := result("users.info"); b["user"].(map[string]any)["id"] != ws.Users[0].ID {
		t.Errorf("users.info = %v", b)
	}
	failure("users.info unknown", platform, "user_not_found")

	if b := result("rtm.connect classic"); b["url"] == "" || b["self"].(map[string]any)["id"] != ws.BotUserID {
		t.Errorf("rtm.connect = %v", b)
	}
	if b := result("rtm.start classic"); b["url"] == "" {
		t.Errorf("rtm.start = %v", b)
	}
	failure("rtm.connect granular", platform, "not_allowed_token_type")
	if b := result("apps.connections.open"); b["url"] == "" {
		t.Errorf("apps.connections.open = %v", b)
	}
	failure("apps.connections.open bot token", platform, "not_allowed_token_type")

	if e := failure("ratelimited rejected", "slack_webapi_rate_limited_error", ""); e["retryAfter"] != float64(1) {
		t.Errorf("rate limited retryAfter = %v, want 1", e["retryAfter"])
	}
	result("ratelimited retried")
	if retriedMS < 900 {
		t.Errorf("the retry came after %v ms, before Retry-After's 1 s", retriedMS)
	}
}
