package webhook_test

import (
	"errors"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/webhook"
)

func TestResponseURLSixthUseRefused(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	u := responseURL(t, srv, ws.TeamID, ws.Channels[0].ID)
	c := newClient(t)
	r := c.Responder(u)
	ctx := ctxFor(t, 10*time.Second)
	if _, err := r.Reply(ctx, webhook.Message{Text: "working on it"}); err != nil {
		t.Fatalf("Reply: %v", err)
	}
	if _, err := r.Replace(ctx, webhook.Message{Text: "done", ResponseType: webhook.InChannel}); err != nil {
		t.Fatalf("Replace: %v", err)
	}
	for i := range 3 {
		if _, err := c.Reply(ctx, u, webhook.Message{Text: "more", ResponseType: webhook.InChannel}); err != nil {
			t.Fatalf("Reply %d: %v", i+3, err)
		}
	}
	if got := r.Remaining(); got != 0 {
		t.Errorf("Remaining = %d after 5 replies, want 0", got)
	}
	if _, err := r.Delete(ctx); !errors.Is(err, webhook.ErrResponseURLUsedUp) {
		t.Fatalf("sixth use: %v, want ErrResponseURLUsedUp", err)
	}
	if got := postCount(srv, u); got != 5 {
		t.Errorf("server saw %d posts, want 5: the sixth must not reach it", got)
	}
}

func TestResponseURLRefusalsDoNotCount(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	u := responseURL(t, srv, ws.TeamID, ws.Channels[0].ID)
	c := newClient(t, webhook.WithRetryHandlers())
	// A connection-level failure never reached Slack, so it costs no use; Slack's refusal does.
	failHook(t, srv, u, 1, 500, "rollup_error")
	if _, err := c.Reply(ctxFor(t, 10*time.Second), u, webhook.Message{Text: "x"}); !errors.Is(err, webhook.ErrRollupError) {
		t.Fatalf("Reply: %v", err)
	}
	if got := c.Remaining(u); got != 4 {
		t.Errorf("Remaining = %d, want 4 (an answered post counts)", got)
	}
	dead := "http://" + closedAddr(t) + "/commands/T1/1/s"
	if _, err := c.Reply(ctxFor(t, 10*time.Second), dead, webhook.Message{Text: "x"}); err == nil {
		t.Fatal("Reply to a closed port succeeded")
	}
	if got := c.Remaining(dead); got != 5 {
		t.Errorf("Remaining = %d after a refused connection, want 5", got)
	}
}

func TestResponderString(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	r := c.Responder("https://hooks.slack.com/commands/T1/123/SeCrEt")
	if got := r.String(); got != "responder https://hooks.slack.com/…" {
		t.Errorf("String = %q", got)
	}
}

func TestResponseURLExpiredByServer(t *testing.T) {
	t.Parallel()
	// This server takes only 2 posts per response_url: Slack's expired_url then stops the client.
	srv := start(t, fakeslack.Options{Webhooks: fakeslack.WebhookOptions{ResponseURLUses: 2}})
	ws := srv.Workspaces()[0]
	u := responseURL(t, srv, ws.TeamID, ws.Channels[0].ID)
	c := newClient(t)
	ctx := ctxFor(t, 10*time.Second)
	for i := range 2 {
		if _, err := c.Reply(ctx, u, webhook.Message{Text: "x"}); err != nil {
			t.Fatalf("Reply %d: %v", i+1, err)
		}
	}
	if _, err := c.Reply(ctx, u, webhook.Message{Text: "x"}); !errors.Is(err, webhook.ErrExpiredURL) {
		t.Fatalf("third Reply: %v, want ErrExpiredURL from the server", err)
	}
	if _, err := c.Reply(ctx, u, webhook.Message{Text: "x"}); !errors.Is(err, webhook.ErrResponseURLUsedUp) {
		t.Fatalf("fourth Reply: %v, want ErrResponseURLUsedUp from the client", err)
	}
	if got := postCount(srv, u); got != 3 {
		t.Errorf("server saw %d posts, want 3", got)
	}
}
