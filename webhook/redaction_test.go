package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
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

// A control character anywhere in a URL, or a token in Slack's answer, shows in no error and no
// log line.
func TestControlCharactersAndAnswersHideSecrets(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	hook := firstHook(t, srv).URL
	sec := secretOf(hook)
	log, buf := debugLogger()
	c := newClient(t, webhook.WithLogger(log), fastRetries())
	ctx := ctxFor(t, 10*time.Second)

	var errs []error
	for _, u := range []string{
		hook[:len(hook)-len(sec)/2] + "\x7f" + hook[len(hook)-len(sec)/2:], // in the secret
		hook + "\x00", // after it
		strings.Replace(hook, "/services/", "/services/\x1b", 1), // before it
		strings.Replace(hook, "://", "://user:pa\x01ss@", 1),     // in credentials
	} {
		_, err := c.Send(ctx, u, webhook.Message{Text: "x"})
		if err == nil {
			t.Fatalf("Send(%q) succeeded", u)
		}
		errs = append(errs, err)
	}
	failHook(t, srv, hook, 1, 400, "invalid_payload xoxb-1-2-ANSWERSECRET \x1b[31mxapp-1-A1-ANSWERSECRET")
	_, err := c.Send(ctx, hook, webhook.Message{Text: "x"})
	var we *webhook.Error
	if !errors.As(err, &we) || we.Status != 400 {
		t.Fatalf("Send: %v, want an *Error 400", err)
	}
	if strings.Contains(we.Body, "ANSWERSECRET") || !strings.Contains(we.Body, "invalid_payload xoxb-…") {
		t.Errorf("Error.Body %q", we.Body)
	}
	errs = append(errs, err)
	for _, err := range errs {
		for _, s := range []string{sec, sec[len(sec)/2:], "pa\x01ss", "ANSWERSECRET"} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error %q holds %q", err, s)
			}
		}
	}
	if logs := buf.String(); strings.Contains(logs, sec[len(sec)/2:]) || strings.Contains(logs, "ANSWERSECRET") {
		t.Errorf("logs hold a secret:\n%s", logs)
	}
}

// A result handler that panics does not end the process: the panic is logged redacted and
// counted, and the handler still gets the results that follow. A retry handler that panics fails
// its post.
func TestSenderHandlerPanicsRecovered(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	hook := firstHook(t, srv).URL
	log, buf := debugLogger()
	var boom atomic.Bool
	c := newClient(t, webhook.WithLogger(log), webhook.WithRetryHandlers(retryFunc(
		func(int, *webhook.Response, error) (time.Duration, bool) {
			if boom.Load() {
				panic("retry boom " + hook)
			}
			return 0, false
		})))
	results := make(chan webhook.Result, 10)
	s, err := webhook.NewSender(c, webhook.WithRate(100), webhook.WithResultHandler(func(r webhook.Result) {
		results <- r
		panic(fmt.Errorf("result boom xoxb-1-2-PANICSECRET %s", r.URL))
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t, 10*time.Second)
	for range 2 {
		p, err := s.Enqueue(ctx, hook, webhook.Message{Text: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	boom.Store(true)
	failHook(t, srv, hook, 1, 500, "")
	p, err := s.Enqueue(ctx, hook, webhook.Message{Text: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(ctx); err == nil || !strings.Contains(err.Error(), "panicked") || strings.Contains(err.Error(), secretOf(hook)) {
		t.Errorf("post with a panicking retry handler: %v", err)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if len(results) != 3 {
		t.Errorf("the result handler got %d results, want 3", len(results))
	}
	if n := s.HandlerPanics(); n != 4 {
		t.Errorf("HandlerPanics = %d, want 4 (3 results, 1 retry)", n)
	}
	logs := buf.String()
	if !strings.Contains(logs, "webhook result handler panicked") || !strings.Contains(logs, "webhook post panicked") {
		t.Errorf("panics not logged:\n%s", logs)
	}
	if strings.Contains(logs, "PANICSECRET") || strings.Contains(logs, secretOf(hook)) {
		t.Errorf("a panic value in clear:\n%s", logs)
	}
}

type retryFunc func(attempt int, resp *webhook.Response, err error) (time.Duration, bool)

func (f retryFunc) Retry(attempt int, resp *webhook.Response, err error) (time.Duration, bool) {
	return f(attempt, resp, err)
}
