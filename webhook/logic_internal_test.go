package webhook

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

func TestBackoffDelay(t *testing.T) {
	for _, tt := range []struct {
		name    string
		r       float64
		attempt int
		want    time.Duration
	}{
		{"first, bottom of range", 0, 1, 250 * time.Millisecond},
		{"first, top of range", 1, 1, 500 * time.Millisecond},
		{"second doubles", 1, 2, time.Second},
		{"third doubles again", 0.5, 3, 1500 * time.Millisecond},
		{"capped", 1, 30, 8 * time.Second},
		{"capped, bottom", 0, 30, 4 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := Backoff{Base: 500 * time.Millisecond, Cap: 8 * time.Second, rand: func() float64 { return tt.r }}
			if got := b.Delay(tt.attempt); got != tt.want {
				t.Errorf("Delay(%d) = %v, want %v", tt.attempt, got, tt.want)
			}
		})
	}
}

func TestRetryHandlers(t *testing.T) {
	refused := errors.New("connection refused")
	resp := func(status int) *Response { return &Response{Status: status} }
	for _, tt := range []struct {
		name      string
		h         RetryHandler
		attempt   int
		resp      *Response
		err       error
		wantRetry bool
		wantDelay time.Duration // checked when > 0
	}{
		{"connection error retried", ConnectionRetry{Backoff: Backoff{rand: func() float64 { return 1 }}}, 1, nil, refused, true, 500 * time.Millisecond},
		{"connection error, attempts used up", ConnectionRetry{}, 3, nil, refused, false, 0},
		{"connection handler ignores answers", ConnectionRetry{}, 1, resp(500), parseError(500, "rollup_error", 0), false, 0},
		{"429 waits retry-after", RateLimitRetry{}, 1, resp(429), parseError(429, "", 7*time.Second), true, 7 * time.Second},
		{"429 without retry-after waits default", RateLimitRetry{}, 1, resp(429), parseError(429, "", 0), true, time.Second},
		{"429 retry-after past max gives up", RateLimitRetry{Max: 5 * time.Second}, 1, resp(429), parseError(429, "", 6*time.Second), false, 0},
		{"429 attempts used up", RateLimitRetry{MaxAttempts: 2}, 2, resp(429), parseError(429, "", time.Second), false, 0},
		{"500 retried", ServerErrorRetry{Backoff: Backoff{rand: func() float64 { return 0 }}}, 1, resp(500), parseError(500, "rollup_error", 0), true, 500 * time.Millisecond},
		{"503 retried", ServerErrorRetry{}, 2, resp(503), parseError(503, "", 0), true, 0},
		{"500 attempts used up", ServerErrorRetry{}, 3, resp(500), parseError(500, "", 0), false, 0},
		{"404 never", ServerErrorRetry{}, 1, resp(404), parseError(404, "channel_not_found", 0), false, 0},
		{"custom statuses", ServerErrorRetry{Statuses: []int{503}}, 1, resp(500), parseError(500, "", 0), false, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := tt.h.Retry(tt.attempt, tt.resp, tt.err)
			if ok != tt.wantRetry {
				t.Fatalf("Retry = %v, %v; want retry %v", d, ok, tt.wantRetry)
			}
			if tt.wantDelay > 0 && d != tt.wantDelay {
				t.Errorf("delay = %v, want %v", d, tt.wantDelay)
			}
		})
	}
	// No default handler retries a 4xx other than 429.
	for status := 400; status < 500; status++ {
		if status == 429 {
			continue
		}
		for _, h := range DefaultRetryHandlers() {
			if _, ok := h.Retry(1, resp(status), parseError(status, "x", 0)); ok {
				t.Errorf("%T retries %d", h, status)
			}
		}
	}
}

func TestParseError(t *testing.T) {
	for _, tt := range []struct {
		status int
		body   string
		want   error
	}{
		{400, "invalid_payload", ErrInvalidPayload},
		{400, "no_text\n", ErrNoText},
		{403, "action_prohibited", ErrActionProhibited},
		{404, "channel_not_found", ErrChannelNotFound},
		{404, "no_service", ErrNoService},
		{410, "channel_is_archived", ErrChannelIsArchived},
		{500, "rollup_error", ErrRollupError},
		{403, "invalid_token", ErrInvalidToken},
		{400, "too_many_attachments", ErrTooManyAttachments},
		{404, "expired_url", ErrExpiredURL},
		{429, `{"retry_after":1,"ok":false,"error":"rate_limited"}`, ErrRateLimited},
		{429, `{"ok":false,"error":"ratelimited"}`, ErrRateLimited},
		{429, "", ErrRateLimited},
	} {
		e := parseError(tt.status, tt.body, 0)
		if !errors.Is(e, tt.want) || e.Status != tt.status {
			t.Errorf("parseError(%d, %q) = %v (code %q), want %v", tt.status, tt.body, e, e.Code, tt.want)
		}
	}
	if e := parseError(502, "<html>bad gateway</html>", 0); e.Code != "" || e.Unwrap() != nil || e.Error() != "webhook: HTTP 502" {
		t.Errorf("html body: %#v %q", e, e.Error())
	}
	if got := ErrChannelNotFound.Error(); got != "slack: channel_not_found" {
		t.Errorf("Code.Error() = %q", got)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"3", 3 * time.Second}, {"0.5", 500 * time.Millisecond}, {"-1", 0}, {"soon", 0},
		{now.Add(10 * time.Second).Format(http.TimeFormat), 10 * time.Second},
		{now.Add(-10 * time.Second).Format(http.TimeFormat), 0},
	} {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestBucket(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	type step struct {
		at   time.Duration
		want time.Duration // 0: a post is allowed
	}
	for _, tt := range []struct {
		name  string
		rate  float64
		burst int
		steps []step
	}{
		{"burst then one a second", 1, 3, []step{{0, 0}, {0, 0}, {0, 0}, {0, time.Second}, {time.Second, 0}, {time.Second, time.Second}}},
		{"burst of one", 1, 1, []step{{0, 0}, {500 * time.Millisecond, 500 * time.Millisecond}, {time.Second, 0}}},
		{"refill caps at burst", 1, 2, []step{{0, 0}, {0, 0}, {time.Hour, 0}, {time.Hour, 0}, {time.Hour, time.Second}}},
		{"fast rate", 20, 1, []step{{0, 0}, {0, 50 * time.Millisecond}, {50 * time.Millisecond, 0}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := newBucket(tt.rate, tt.burst, t0)
			for i, s := range tt.steps {
				if got := b.take(at(s.at)); got != s.want {
					t.Fatalf("step %d: take at %v = %v, want %v", i, s.at, got, s.want)
				}
			}
		})
	}
	t.Run("pause", func(t *testing.T) {
		b := newBucket(1, 3, t0)
		b.pause(t0, 5*time.Second)
		if got := b.take(at(time.Second)); got != 4*time.Second {
			t.Errorf("take during pause = %v, want 4s", got)
		}
		if got := b.take(at(5 * time.Second)); got != time.Second {
			t.Errorf("take right after pause = %v, want 1s (bucket emptied)", got)
		}
		if got := b.take(at(6 * time.Second)); got != 0 {
			t.Errorf("take 1s after pause = %v, want 0", got)
		}
		if got := b.fullIn(at(6 * time.Second)); got != 3*time.Second {
			t.Errorf("fullIn = %v, want 3s", got)
		}
	})
}

func TestUseTracker(t *testing.T) {
	now := time.Unix(1000, 0)
	tr := newUseTracker(func() time.Time { return now })
	const u = "http://h/commands/T1/1/s"
	for i := range ResponseURLUses {
		if err := tr.reserve(u); err != nil {
			t.Fatalf("use %d: %v", i+1, err)
		}
	}
	if err := tr.reserve(u); !errors.Is(err, ErrResponseURLUsedUp) {
		t.Fatalf("sixth use: %v, want ErrResponseURLUsedUp", err)
	}
	tr.release(u) // one post never reached Slack
	if got := tr.remaining(u); got != 1 {
		t.Errorf("remaining = %d, want 1", got)
	}
	now = now.Add(ResponseURLWindow + time.Second)
	if err := tr.reserve(u); !errors.Is(err, ErrResponseURLExpired) {
		t.Errorf("use after 30 min: %v, want ErrResponseURLExpired", err)
	}
	if got := tr.remaining(u); got != 0 {
		t.Errorf("remaining after 30 min = %d, want 0", got)
	}
	now = now.Add(2 * ResponseURLWindow)
	_ = tr.reserve("http://h/commands/T1/2/t")
	if _, ok := tr.uses[u]; ok {
		t.Errorf("expired entry not pruned")
	}
}

func TestMessageJSON(t *testing.T) {
	for _, tt := range []struct {
		name string
		msg  Message
		want string
	}{
		{"empty fields omitted", Message{Text: "hi"}, `{"text":"hi"}`},
		{"explicit false kept", Message{Text: "hi", ReplaceOriginal: Bool(false), UnfurlMedia: Bool(false)}, `{"text":"hi","replace_original":false,"unfurl_media":false}`},
		{"delete alone", Message{DeleteOriginal: true}, `{"delete_original":true}`},
		{"thread reply in channel", Message{Text: "t", ThreadTS: "123.4", ResponseType: InChannel}, `{"text":"t","thread_ts":"123.4","response_type":"in_channel"}`},
		{"metadata", Message{Text: "m", Metadata: &slack.SlackMetadata{EventType: "deploy", EventPayload: map[string]any{"v": 1}}}, `{"text":"m","metadata":{"event_type":"deploy","event_payload":{"v":1}}}`},
		// slack-go encodes an attachment's nil Blocks as null; Slack accepts it.
		{"blocks and attachments", Message{
			Blocks:      []slack.Block{slack.NewDividerBlock()},
			Attachments: []slack.Attachment{{Fallback: "f"}},
		}, `{"blocks":[{"type":"divider"}],"attachments":[{"fallback":"f","blocks":null}]}`},
		{"header not in body", Message{Text: "h", Header: map[string][]string{"X-A": {"1"}}}, `{"text":"h"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}
