package webhook_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/webhook"
)

func TestRefusalsMapToCodes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		status int
		body   string
		want   webhook.Code
	}{
		{400, "invalid_payload", webhook.ErrInvalidPayload},
		{400, "no_text", webhook.ErrNoText},
		{400, "too_many_attachments", webhook.ErrTooManyAttachments},
		{400, "user_not_found", webhook.ErrUserNotFound},
		{403, "action_prohibited", webhook.ErrActionProhibited},
		{403, "invalid_token", webhook.ErrInvalidToken},
		{404, "channel_not_found", webhook.ErrChannelNotFound},
		{404, "no_service", webhook.ErrNoService},
		{404, "expired_url", webhook.ErrExpiredURL},
		{410, "channel_is_archived", webhook.ErrChannelIsArchived},
		{500, "rollup_error", webhook.ErrRollupError},
	} {
		t.Run(tt.body, func(t *testing.T) {
			t.Parallel()
			srv := start(t, fakeslack.Options{})
			hook := firstHook(t, srv)
			c := newClient(t, fastRetries())
			failHook(t, srv, hook.URL, 10, tt.status, tt.body)
			resp, err := c.Send(ctxFor(t, 10*time.Second), hook.URL, webhook.Message{Text: "x"})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var e *webhook.Error
			if !errors.As(err, &e) || e.Status != tt.status || e.Code != tt.want || e.Body != tt.body {
				t.Fatalf("err = %#v, want an *Error with status %d", e, tt.status)
			}
			if resp == nil || resp.Status != tt.status || resp.Body != tt.body {
				t.Errorf("response = %+v", resp)
			}
			wantPosts := 1 // a 4xx other than 429 is never retried
			if tt.status >= 500 {
				wantPosts = 3 // ServerErrorRetry's default attempts
			}
			if got := postCount(srv, hook.URL); got != wantPosts {
				t.Errorf("server saw %d posts, want %d", got, wantPosts)
			}
			if strings.Contains(err.Error(), secretOf(hook.URL)) {
				t.Errorf("error string holds the secret: %v", err)
			}
		})
	}
}

func TestRealRefusals(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	c := newClient(t)
	ctx := ctxFor(t, 10*time.Second)

	unknown := ws.Webhooks[0].URL + "nope"
	if _, err := c.Send(ctx, unknown, webhook.Message{Text: "x"}); !errors.Is(err, webhook.ErrNoService) {
		t.Errorf("unknown hook: %v, want ErrNoService", err)
	}
	if _, err := c.Send(ctx, ws.Webhooks[0].URL, webhook.Message{}); !errors.Is(err, webhook.ErrNoText) {
		t.Errorf("empty message: %v, want ErrNoText", err)
	}
	many := make([]slack.Attachment, 101)
	for i := range many {
		many[i].Text = "a"
	}
	if _, err := c.Send(ctx, ws.Webhooks[0].URL, webhook.Message{Attachments: many}); !errors.Is(err, webhook.ErrTooManyAttachments) {
		t.Errorf("101 attachments: %v, want ErrTooManyAttachments", err)
	}
	archiveChannel(t, srv, ws.Webhooks[1].Channel)
	if _, err := c.Send(ctx, ws.Webhooks[1].URL, webhook.Message{Text: "x"}); !errors.Is(err, webhook.ErrChannelIsArchived) {
		t.Errorf("archived channel: %v, want ErrChannelIsArchived", err)
	}
	var e *webhook.Error
	if _, err := c.Send(ctx, ws.Webhooks[1].URL, webhook.Message{Text: "x"}); !errors.As(err, &e) || e.Status != 410 {
		t.Errorf("archived channel: %v, want status 410", err)
	}
}

func TestRateLimitedRetriedAfterRetryAfter(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	hook := firstHook(t, srv)
	c := newClient(t)
	failHook(t, srv, hook.URL, 1, 429, `{"ok":false,"error":"rate_limited"}`)
	begin := time.Now()
	resp, err := c.Send(ctxFor(t, 10*time.Second), hook.URL, webhook.Message{Text: "after the wait"})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if resp.Attempts != 2 || postCount(srv, hook.URL) != 2 {
		t.Errorf("%d attempts, %d posts; want 2 and 2", resp.Attempts, postCount(srv, hook.URL))
	}
	if d := time.Since(begin); d < time.Second { // the server's Retry-After is 1 s
		t.Errorf("retried after %v, before Retry-After", d)
	}
}

func TestRateLimitGivesUp(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	hook := firstHook(t, srv)
	c := newClient(t, webhook.WithRetryHandlers(webhook.RateLimitRetry{MaxAttempts: 2}))
	failHook(t, srv, hook.URL, 5, 429, "")
	_, err := c.Send(ctxFor(t, 10*time.Second), hook.URL, webhook.Message{Text: "x"})
	if !errors.Is(err, webhook.ErrRateLimited) || webhook.RetryAfter(err) != time.Second {
		t.Errorf("err = %v (retry after %v), want ErrRateLimited after 1s", err, webhook.RetryAfter(err))
	}
	if got := postCount(srv, hook.URL); got != 2 {
		t.Errorf("%d posts, want 2", got)
	}
}

func TestServerErrorRetriedThenSucceeds(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	hook := firstHook(t, srv)
	c := newClient(t, fastRetries())
	failHook(t, srv, hook.URL, 1, 503, "")
	failHook(t, srv, hook.URL, 1, 500, "rollup_error")
	resp, err := c.Send(ctxFor(t, 10*time.Second), hook.URL, webhook.Message{Text: "third time"})
	if err != nil || resp.Attempts != 3 {
		t.Fatalf("Send = %+v, %v; want success on attempt 3", resp, err)
	}
	if got := len(srv.History(hook.Channel)); got != 1 {
		t.Errorf("%d messages, want 1", got)
	}
}

func TestServerErrorGivesUpWithLastError(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	hook := firstHook(t, srv)
	c := newClient(t, fastRetries())
	failHook(t, srv, hook.URL, 2, 503, "")
	failHook(t, srv, hook.URL, 1, 500, "rollup_error")
	resp, err := c.Send(ctxFor(t, 10*time.Second), hook.URL, webhook.Message{Text: "x"})
	var e *webhook.Error
	if !errors.As(err, &e) || e.Status != 500 || !errors.Is(err, webhook.ErrRollupError) {
		t.Fatalf("err = %v, want the last answer: 500 rollup_error", err)
	}
	if resp.Attempts != 3 || postCount(srv, hook.URL) != 3 {
		t.Errorf("%d attempts, %d posts; want 3 and 3", resp.Attempts, postCount(srv, hook.URL))
	}
}
