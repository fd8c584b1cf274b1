package webhook

import (
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Seeds are the answers Slack documents for incoming webhooks and response_url (plain-text codes
// with their statuses), JSON bodies as some proxies send, and edge cases.
var errorSeeds = []struct {
	status int
	body   string
}{
	{400, "invalid_payload"}, {400, "user_not_found"}, {403, "action_prohibited"}, {404, "channel_not_found"},
	{410, "channel_is_archived"}, {404, "no_service"}, {404, "no_team"}, {400, "no_text"},
	{403, "invalid_token"}, {404, "expired_url"}, {429, "rate_limited"}, {429, "ratelimited"}, {429, ""},
	{500, "rollup_error"}, {500, "<html><body>Internal Server Error</body></html>"},
	{400, `{"ok":false,"error":"invalid_blocks"}`}, {400, `{"error":7}`}, {400, `  missing_text_or_fallback_or_attachments  `},
	{503, strings.Repeat("x", 2000)}, {0, ""}, {-1, "\xff\xfe"},
}

// FuzzParseError checks the translation of a refused webhook answer: no panic, the kept body is at
// most 1 KiB of what was sent, a code is Slack-shaped (lower case, digits, underscores) or empty,
// and a 429 always reads as rate limited unless the body names another code.
func FuzzParseError(f *testing.F) {
	for _, s := range errorSeeds {
		f.Add(s.status, s.body, int64(0))
	}
	f.Add(429, "", int64(30*time.Second))
	f.Fuzz(func(t *testing.T, status int, body string, retryAfter int64) {
		e := parseError(status, body, time.Duration(retryAfter))
		if e == nil {
			t.Fatal("nil error")
		}
		if len(e.Body) > 1024 || !strings.HasPrefix(body, e.Body) {
			t.Fatalf("body kept %d bytes, not a prefix of the %d sent", len(e.Body), len(body))
		}
		if e.Code != "" && !codeRE.MatchString(string(e.Code)) {
			t.Fatalf("code %q is not Slack-shaped", e.Code)
		}
		if status == http.StatusTooManyRequests && e.Code == "" {
			t.Fatal("429 without a code")
		}
		if e.Status != status || e.RetryAfter != time.Duration(retryAfter) {
			t.Fatalf("status %d retry %v, want %d %v", e.Status, e.RetryAfter, status, time.Duration(retryAfter))
		}
		_ = e.Error() // must not panic on any body
	})
}

// FuzzParseRetryAfter checks that no Retry-After header gives a negative wait: seconds (integer
// or not), an HTTP date, or garbage.
func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
	for _, s := range []string{"", "0", "1", "30", " 5 ", "1.5", "-3", "120", "Wed, 01 Apr 2026 12:00:30 GMT",
		"Wed, 01 Apr 2026 11:00:00 GMT", "soon", "1e3", "NaN", "Inf", "1e19", "0x10", "9223372036854775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if !utf8.ValidString(v) {
			return // headers are bytes, but net/http only hands over what it parsed
		}
		if d := parseRetryAfter(v, now); d < 0 {
			t.Fatalf("Retry-After %q gave a negative wait %v", v, d)
		}
	})
}
