package webhook_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/webhook"
)

// TestLogsAndErrorsHideSecrets drives sends, refusals, retries, connection failures and the
// Sender at Debug level, then looks for any URL's secret in the logs and the errors.
func TestLogsAndErrorsHideSecrets(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	log, buf := debugLogger()
	c := newClient(t, webhook.WithLogger(log), fastRetries())
	ctx := ctxFor(t, 20*time.Second)
	hook, other := ws.Webhooks[0].URL, ws.Webhooks[1].URL
	resp := responseURL(t, srv, ws.TeamID, ws.Channels[0].ID)
	dead := "http://" + closedAddr(t) + "/services/T0/B0/DeadSecret0123"
	secrets := []string{secretOf(hook), secretOf(other), secretOf(resp), secretOf(dead)}

	var errs []error
	keep := func(_ *webhook.Response, err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	keep(c.Send(ctx, hook, webhook.Message{Text: "ok"}))
	failHook(t, srv, hook, 1, 429, "")
	keep(c.Send(ctx, hook, webhook.Message{Text: "after 429"}))
	failHook(t, srv, hook, 5, 503, "")
	keep(c.Send(ctx, hook, webhook.Message{Text: "503s"}))
	keep(c.Send(ctx, hook+"x", webhook.Message{Text: "unknown"}))
	keep(c.Send(ctx, dead, webhook.Message{Text: "refused"}))
	for range 6 {
		keep(c.Reply(ctx, resp, webhook.Message{Text: "r"}))
	}
	keep(c.SendRaw(ctx, "http://h/services/T/B/Bad%zzSecret", "{}", nil))

	s, err := webhook.NewSender(c, webhook.WithRate(100), webhook.WithBurst(1), webhook.WithQueueSize(1))
	if err != nil {
		t.Fatal(err)
	}
	failHook(t, srv, other, 1, 404, "channel_not_found")
	for _, u := range []string{other, other, other, dead} {
		if p, err := s.Enqueue(ctx, u, webhook.Message{Text: "queued"}); err != nil {
			errs = append(errs, err)
		} else {
			keep(p.Wait(ctx))
		}
	}
	// Stop with messages still queued behind a retried dead URL.
	for range 3 {
		_, _ = s.Enqueue(ctx, dead, webhook.Message{Text: "queued"})
	}
	stopCtx, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	if err := s.Stop(stopCtx); err != nil {
		errs = append(errs, err)
	}

	if len(errs) < 5 {
		t.Fatalf("only %d errors: the scenario did not fail as planned: %v", len(errs), errs)
	}
	logs := buf.String()
	if os.Getenv("WEBHOOK_SHOW_LOGS") != "" {
		t.Log(logs)
	}
	for _, want := range []string{"retrying", "webhook post sent", "level=debug"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	for _, sec := range append(secrets, "Bad%zzSecret", "BadSecret") {
		if strings.Contains(logs, sec) {
			t.Errorf("logs hold the secret %q:\n%s", sec, logs)
		}
		for _, err := range errs {
			if strings.Contains(err.Error(), sec) {
				t.Errorf("error %q holds the secret %q", err, sec)
			}
		}
	}
	if !errors.Is(errors.Join(errs...), webhook.ErrResponseURLUsedUp) {
		t.Errorf("no ErrResponseURLUsedUp among %v", errs)
	}
}
