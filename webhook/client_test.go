package webhook_test

import (
	"errors"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/webhook"
)

// countingRetry counts how often it is asked, then defers to h.
type countingRetry struct {
	h     webhook.RetryHandler
	asked *atomic.Int32
}

func (c countingRetry) Retry(attempt int, resp *webhook.Response, err error) (time.Duration, bool) {
	c.asked.Add(1)
	return c.h.Retry(attempt, resp, err)
}

func TestSendDelivers(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	hook := firstHook(t, srv)
	c := newClient(t, webhook.WithUserAgentPrefix("pre/1"), webhook.WithUserAgentSuffix("suf/2"), webhook.WithHeader("X-Test", "yes"))
	resp, err := c.Send(ctxFor(t, 10*time.Second), hook.URL, webhook.Message{Text: "hello", Header: map[string][]string{"X-Per-Call": {"1"}}})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if resp.Status != 200 || resp.Body != "ok" || resp.Attempts != 1 {
		t.Errorf("response = %d %q after %d attempts, want 200 \"ok\" after 1", resp.Status, resp.Body, resp.Attempts)
	}
	h := srv.History(hook.Channel)
	if len(h) != 1 || h[0].Text != "hello" || h[0].Via != "webhook" {
		t.Fatalf("history = %+v, want one webhook message \"hello\"", h)
	}
	posts := srv.WebhookPosts(hook.URL)
	if len(posts) != 1 {
		t.Fatalf("%d posts recorded", len(posts))
	}
	if ua := posts[0].UserAgent; !strings.HasPrefix(ua, "pre/1 switchboard-webhook/1 Go/") || !strings.HasSuffix(ua, " suf/2") {
		t.Errorf("User-Agent %q, want the prefix, the default and the suffix", ua)
	}
	if ct := posts[0].ContentType; !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
}

func TestSendRawBodies(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	hook := firstHook(t, srv)
	c := newClient(t)
	ctx := ctxFor(t, 10*time.Second)
	for _, body := range []any{map[string]any{"text": "from a map"}, []byte(`{"text":"from bytes"}`), `{"text":"from a string"}`} {
		if _, err := c.SendRaw(ctx, hook.URL, body, nil); err != nil {
			t.Errorf("SendRaw(%T): %v", body, err)
		}
	}
	if n := len(srv.History(hook.Channel)); n != 3 {
		t.Errorf("%d messages posted, want 3", n)
	}
	if _, err := c.SendRaw(ctx, hook.URL, `{"text":`, nil); !errors.Is(err, webhook.ErrInvalidPayload) {
		t.Errorf("broken JSON: %v, want ErrInvalidPayload", err)
	}
}

func TestHeadersReachServer(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	hook := firstHook(t, srv)
	ctx := ctxFor(t, 10*time.Second)
	// fakeslack reads a form body's payload field only when the Content-Type says so: the post
	// succeeds only if the header was sent.
	form := "payload=" + url.QueryEscape(`{"text":"as a form"}`)
	formType := "application/x-www-form-urlencoded"

	plain := newClient(t)
	if _, err := plain.SendRaw(ctx, hook.URL, form, nil); !errors.Is(err, webhook.ErrInvalidPayload) {
		t.Fatalf("form body sent as JSON: %v, want ErrInvalidPayload", err)
	}
	if _, err := plain.SendRaw(ctx, hook.URL, form, map[string][]string{"Content-Type": {formType}}); err != nil {
		t.Errorf("per-call header: %v", err)
	}
	if _, err := plain.Send(ctx, hook.URL, webhook.Message{Text: "json", Header: map[string][]string{"X-Trace": {"1"}}}); err != nil {
		t.Errorf("per-message header: %v", err)
	}
	withDefault := newClient(t, webhook.WithHeader("content-type", formType))
	if _, err := withDefault.SendRaw(ctx, hook.URL, form, nil); err != nil {
		t.Errorf("default header: %v", err)
	}
	if got := len(srv.History(hook.Channel)); got != 3 {
		t.Errorf("%d messages posted, want 3", got)
	}
}

func TestConnectionRefusedRetried(t *testing.T) {
	t.Parallel()
	hookURL := "http://" + closedAddr(t) + "/services/T1/B1/SecretConnRefused"
	var asked atomic.Int32
	c := newClient(t, webhook.WithRetryHandlers(countingRetry{
		h:     webhook.ConnectionRetry{MaxAttempts: 4, Backoff: webhook.Backoff{Base: time.Millisecond, Cap: 2 * time.Millisecond}},
		asked: &asked,
	}))
	resp, err := c.Send(ctxFor(t, 10*time.Second), hookURL, webhook.Message{Text: "x"})
	if resp != nil || err == nil {
		t.Fatalf("Send = %v, %v; want a connection error", resp, err)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("err = %v, want ECONNREFUSED in its chain", err)
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Errorf("err = %v, want a *url.Error in its chain", err)
	}
	if got := asked.Load(); got != 4 {
		t.Errorf("retry handler asked %d times, want 4 (attempts 1-3 retried, 4 given up)", got)
	}
	if strings.Contains(err.Error(), "SecretConnRefused") {
		t.Errorf("error string holds the secret: %v", err)
	}
}

func TestContextEndsRetries(t *testing.T) {
	t.Parallel()
	hookURL := "http://" + closedAddr(t) + "/services/T1/B1/s"
	c := newClient(t, webhook.WithRetryHandlers(webhook.ConnectionRetry{MaxAttempts: 100, Backoff: webhook.Backoff{Base: time.Hour, Cap: time.Hour}}))
	start := time.Now()
	_, err := c.Send(ctxFor(t, 200*time.Millisecond), hookURL, webhook.Message{Text: "x"})
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("Send = %v after %v; want a prompt failure", err, time.Since(start))
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("err = %v, want the last attempt's error", err)
	}
}

func TestInvalidInput(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	ctx := ctxFor(t, 5*time.Second)
	for _, u := range []string{"", "ftp://h/services/x", "/services/T/B/x", "http://"} {
		if _, err := c.Send(ctx, u, webhook.Message{Text: "x"}); err == nil {
			t.Errorf("Send(%q) succeeded", u)
		}
	}
	if _, err := c.SendRaw(ctx, "http://127.0.0.1:1/services/T/B/x", nil, nil); err == nil {
		t.Error("SendRaw(nil body) succeeded")
	}
	for name, o := range map[string]webhook.Option{
		"timeout":      webhook.WithTimeout(0),
		"tls":          webhook.WithTLSConfig(nil),
		"header":       webhook.WithHeader("Bad Key", "v"),
		"header value": webhook.WithHeader("K", "a\r\nb"),
		"logger":       webhook.WithLogger(nil),
		"retry":        webhook.WithRetryHandlers(nil),
		"ua":           webhook.WithUserAgentPrefix("a\nb"),
	} {
		if _, err := webhook.New(o); err == nil {
			t.Errorf("New with a bad %s option succeeded", name)
		}
	}
}
