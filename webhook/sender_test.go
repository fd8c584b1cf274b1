package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/webhook"
)

// newSender returns a Sender stopped (with a 10 s drain) when the test ends, if the test did not.
func newSender(t testing.TB, c *webhook.Client, opts ...webhook.SenderOption) *webhook.Sender {
	t.Helper()
	s, err := webhook.NewSender(c, opts...)
	if err != nil {
		t.Fatalf("NewSender: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
	})
	return s
}

// sendInOrder queues n numbered messages to hook and checks that all arrive, in order, without a
// single 429, and no faster than rate allows after a burst.
func sendInOrder(t *testing.T, n int, rate float64, burst int, srvOpts fakeslack.WebhookOptions) {
	srv := start(t, fakeslack.Options{Webhooks: srvOpts})
	hook := firstHook(t, srv)
	c := newClient(t)
	s := newSender(t, c, webhook.WithRate(rate), webhook.WithBurst(burst), webhook.WithQueueSize(n))
	ctx := ctxFor(t, time.Duration(float64(n)/rate*float64(time.Second))+30*time.Second)

	begin := time.Now()
	pending := make([]*webhook.Pending, n)
	for i := range n {
		p, err := s.Enqueue(ctx, hook.URL, webhook.Message{Text: strconv.Itoa(i)})
		if err != nil {
			t.Fatalf("Enqueue %d: %v", i, err)
		}
		pending[i] = p
	}
	for i, p := range pending {
		resp, err := p.Wait(ctx)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if resp.Attempts != 1 {
			t.Errorf("message %d took %d attempts: the sender exceeded the server's rate", i, resp.Attempts)
		}
	}
	elapsed := time.Since(begin)

	h := srv.History(hook.Channel)
	if len(h) != n {
		t.Fatalf("%d messages arrived, want %d", len(h), n)
	}
	for i, m := range h {
		if m.Text != strconv.Itoa(i) {
			t.Fatalf("message %d is %q: out of order", i, m.Text)
		}
	}
	if got := postCount(srv, hook.URL); got != n {
		t.Errorf("server saw %d posts for %d messages: something was retried (a 429?)", got, n)
	}
	// Server side: between any two posts i < j, at most burst + rate·(t_j - t_i) posts, give or
	// take 3 for network jitter between the client's dispatch and the server's clock.
	posts := srv.WebhookPosts(hook.URL)
	for i := range posts {
		for j := i + 1; j < len(posts); j++ {
			allowed := float64(burst) + rate*posts[j].Time.Sub(posts[i].Time).Seconds() + 3
			if float64(j-i) > allowed {
				t.Fatalf("posts %d..%d arrived within %v: faster than %v/s with bursts of %d",
					i, j, posts[j].Time.Sub(posts[i].Time), rate, burst)
			}
		}
	}
	// After the burst the bucket refills at rate: n posts cannot take less than (n-burst)/rate.
	if floor := time.Duration(float64(n-burst) / rate * float64(time.Second)); elapsed < floor*9/10 {
		t.Errorf("%d posts took %v, faster than the configured rate allows (%v)", n, elapsed, floor)
	}
}

func TestSenderOrderAndRate(t *testing.T) {
	t.Parallel()
	// The client keeps 40/s; the server allows 50/s with bursts of 5, so network jitter never
	// turns into a 429.
	sendInOrder(t, 100, 40, 1, fakeslack.WebhookOptions{Rate: 50, Burst: 5})
}

// TestSenderRealRate sends 100 messages at Slack's own 1 message a second: it takes about 100 s,
// so it runs only with SWITCHBOARD_SLOW_TESTS=1 and without -short.
func TestSenderRealRate(t *testing.T) {
	if testing.Short() || os.Getenv("SWITCHBOARD_SLOW_TESTS") == "" {
		t.Skip("takes ~100 s: set SWITCHBOARD_SLOW_TESTS=1")
	}
	t.Parallel()
	sendInOrder(t, 100, 1, 1, fakeslack.WebhookOptions{}) // server defaults: Slack's 1/s, burst 5
}

func TestSenderDefaultBurstWithinServerDefaults(t *testing.T) {
	t.Parallel()
	// The Sender's default burst (3) fits the server's default (5): a quiet hook takes a short
	// burst at once, without a 429.
	srv := start(t, fakeslack.Options{})
	hook := firstHook(t, srv)
	s := newSender(t, newClient(t))
	ctx := ctxFor(t, 10*time.Second)
	var ps []*webhook.Pending
	for i := range 3 {
		p, err := s.Enqueue(ctx, hook.URL, webhook.Message{Text: strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	begin := time.Now()
	for _, p := range ps {
		if _, err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(begin); d > 900*time.Millisecond {
		t.Errorf("a burst of 3 took %v: the default burst was not applied", d)
	}
	if got := postCount(srv, hook.URL); got != 3 {
		t.Errorf("%d posts for 3 messages", got)
	}
}

func TestSenderStopReportsUnsent(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	hook := firstHook(t, srv)
	c := newClient(t)
	s, err := webhook.NewSender(c, webhook.WithRate(0.5), webhook.WithBurst(1), webhook.WithQueueSize(10))
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t, 10*time.Second)
	var ps []*webhook.Pending
	for i := range 11 { // the first goes out at once, ten wait
		p, err := s.Enqueue(ctx, hook.URL, webhook.Message{Text: strconv.Itoa(i)})
		if err != nil {
			t.Fatalf("Enqueue %d: %v", i, err)
		}
		ps = append(ps, p)
	}
	if _, err := s.Enqueue(ctx, hook.URL, webhook.Message{Text: "one too many"}); !errors.Is(err, webhook.ErrQueueFull) {
		t.Fatalf("Enqueue past the queue size: %v, want ErrQueueFull", err)
	}
	if _, err := ps[0].Wait(ctx); err != nil {
		t.Fatalf("first message: %v", err)
	}

	stopCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	err = s.Stop(stopCtx)
	var ue *webhook.UnsentError
	if !errors.As(err, &ue) || !errors.Is(err, webhook.ErrStopped) {
		t.Fatalf("Stop = %v, want an *UnsentError matching ErrStopped", err)
	}
	if len(ue.Unsent) != 10 {
		t.Fatalf("%d unsent, want 10", len(ue.Unsent))
	}
	for i, u := range ue.Unsent {
		if want := fmt.Sprintf(`{"text":"%d"}`, i+1); string(u.Body) != want || u.URL != hook.URL || !errors.Is(u.Err, webhook.ErrStopped) {
			t.Errorf("unsent %d = %s to %s (%v), want %s", i, u.Body, u.URL, u.Err, want)
		}
	}
	for i, p := range ps[1:] {
		select {
		case <-p.Done():
		default:
			t.Fatalf("message %d still pending after Stop", i+1)
		}
		if _, err := p.Wait(ctx); !errors.Is(err, webhook.ErrStopped) {
			t.Errorf("message %d: %v, want ErrStopped", i+1, err)
		}
	}
	if got := len(srv.History(hook.Channel)); got != 1 {
		t.Errorf("%d messages arrived, want 1", got)
	}
	if err2 := s.Stop(ctx); !errors.Is(err2, webhook.ErrStopped) {
		t.Errorf("second Stop = %v, want the first's result", err2)
	}
	if _, err := s.Enqueue(ctx, hook.URL, webhook.Message{Text: "late"}); !errors.Is(err, webhook.ErrStopped) {
		t.Errorf("Enqueue after Stop: %v, want ErrStopped", err)
	}
}

func TestSenderStopDrains(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{Webhooks: fakeslack.WebhookOptions{Rate: 50, Burst: 5}})
	ws := srv.Workspaces()[0]
	c := newClient(t)
	s, err := webhook.NewSender(c, webhook.WithRate(20), webhook.WithBurst(1))
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t, 10*time.Second)
	for _, hook := range ws.Webhooks {
		for i := range 5 {
			if _, err := s.Enqueue(ctx, hook.URL, webhook.Message{Text: strconv.Itoa(i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v, want every queued message delivered", err)
	}
	for _, hook := range ws.Webhooks {
		if got := len(srv.History(hook.Channel)); got != 5 {
			t.Errorf("channel %s got %d messages, want 5", hook.Channel, got)
		}
	}
}

func TestSenderFailuresResolve(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	hook := firstHook(t, srv)
	c := newClient(t, fastRetries())
	var mu sync.Mutex
	var results []webhook.Result
	s := newSender(t, c, webhook.WithRate(100), webhook.WithResultHandler(func(r webhook.Result) {
		mu.Lock()
		results = append(results, r)
		mu.Unlock()
	}))
	ctx := ctxFor(t, 10*time.Second)
	failHook(t, srv, hook.URL, 1, 404, "channel_not_found")
	bad, err := s.Enqueue(ctx, hook.URL, webhook.Message{Text: "refused"})
	if err != nil {
		t.Fatal(err)
	}
	good, err := s.Enqueue(ctx, hook.URL, webhook.Message{Text: "fine"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Wait(ctx); !errors.Is(err, webhook.ErrChannelNotFound) {
		t.Errorf("refused message: %v, want ErrChannelNotFound", err)
	}
	if _, err := good.Wait(ctx); err != nil {
		t.Errorf("next message: %v", err)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(results) != 2 || results[0].ID != bad.ID() || !errors.Is(results[0].Err, webhook.ErrChannelNotFound) ||
		results[1].ID != good.ID() || results[1].Err != nil || results[1].Response.Status != 200 {
		t.Errorf("results = %+v", results)
	}
}

func TestSenderSharedSystem(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	hook := firstHook(t, srv)
	sys := actor.NewActorSystem()
	t.Cleanup(sys.Shutdown)
	c := newClient(t)
	s1 := newSender(t, c, webhook.WithActorSystem(sys), webhook.WithIdleTimeout(10*time.Millisecond))
	s2 := newSender(t, c, webhook.WithActorSystem(sys))
	ctx := ctxFor(t, 10*time.Second)
	for _, s := range []*webhook.Sender{s1, s2} {
		p, err := s.Enqueue(ctx, hook.URL, webhook.Message{Text: "shared"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if sys.IsStopped() {
		t.Error("a Sender shut down an actor system it did not create")
	}
}

func TestSenderIdleHookComesBack(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{Webhooks: fakeslack.WebhookOptions{Rate: 100, Burst: 5}})
	hook := firstHook(t, srv)
	// Idle hook actors stop after 1 ms (once the bucket is full again); messages keep flowing.
	s := newSender(t, newClient(t), webhook.WithRate(50), webhook.WithBurst(1), webhook.WithIdleTimeout(time.Millisecond))
	ctx := ctxFor(t, 10*time.Second)
	for i := range 20 {
		p, err := s.Enqueue(ctx, hook.URL, webhook.Message{Text: strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Wait(ctx); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if i%5 == 0 {
			time.Sleep(30 * time.Millisecond) // let the hook actor passivate (not waiting for state)
		}
	}
	if got := len(srv.History(hook.Channel)); got != 20 {
		t.Errorf("%d messages arrived, want 20", got)
	}
}

func TestSenderOptionsValidate(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	if _, err := webhook.NewSender(nil); err == nil {
		t.Error("NewSender(nil) succeeded")
	}
	for name, o := range map[string]webhook.SenderOption{
		"rate": webhook.WithRate(0), "burst": webhook.WithBurst(0), "queue": webhook.WithQueueSize(0),
		"idle": webhook.WithIdleTimeout(0), "system": webhook.WithActorSystem(nil),
	} {
		if _, err := webhook.NewSender(c, o); err == nil {
			t.Errorf("NewSender with a bad %s option succeeded", name)
		}
	}
}
