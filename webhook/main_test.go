package webhook_test

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"go.uber.org/goleak"

	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/webhook"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// protoactor's dead-letter throttle keeps a goroutine for its 1 s interval after a dead
		// letter; a timer tick racing a hook actor's stop can produce one. It ends by itself.
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewThrottle.func1.1"),
		// The same goroutine as the compiler names it once NewThrottle is inlined into NewDeadLetter.
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"),
	)
}

// start runs a fakeslack server for one test and closes it when the test ends.
func start(t testing.TB, o fakeslack.Options) *fakeslack.Server {
	t.Helper()
	srv, err := fakeslack.New(o)
	if err != nil {
		t.Fatalf("fakeslack.New: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// firstHook returns the first workspace's first incoming webhook.
func firstHook(t testing.TB, srv *fakeslack.Server) fakeslack.Webhook {
	t.Helper()
	ws := srv.Workspaces()
	if len(ws) == 0 || len(ws[0].Webhooks) == 0 {
		t.Fatal("no webhook in the generated world")
	}
	return ws[0].Webhooks[0]
}

// secretOf returns the secret last segment of a webhook or response_url URL.
func secretOf(url string) string { return url[strings.LastIndexByte(url, '/')+1:] }

// newClient returns a Client closed when the test ends.
func newClient(t testing.TB, opts ...webhook.Option) *webhook.Client {
	t.Helper()
	c, err := webhook.New(opts...)
	if err != nil {
		t.Fatalf("webhook.New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// fastRetries retries like the defaults, with millisecond delays.
func fastRetries() webhook.Option {
	b := webhook.Backoff{Base: time.Millisecond, Cap: 5 * time.Millisecond}
	return webhook.WithRetryHandlers(
		webhook.ConnectionRetry{Backoff: b},
		webhook.RateLimitRetry{},
		webhook.ServerErrorRetry{Backoff: b},
	)
}

// closedAddr returns the address of a listener that was just closed: dialing it is refused.
func closedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// debugLogger logs everything at Debug level into the returned buffer.
func debugLogger() (*logrus.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	l := logrus.New()
	l.SetOutput(buf)
	l.SetLevel(logrus.DebugLevel)
	return l, buf
}

// failHook makes the next n posts to url fail with status and body.
func failHook(t testing.TB, srv *fakeslack.Server, url string, n, status int, body string) {
	t.Helper()
	if !srv.FailWebhook(url, n, status, body) {
		t.Fatalf("FailWebhook: unknown URL")
	}
}

// postCount is how many posts the server received for url, whatever it answered.
func postCount(srv *fakeslack.Server, url string) int { return len(srv.WebhookPosts(url)) }

// responseURL issues a slash command's response_url answering into channel of team.
func responseURL(t testing.TB, srv *fakeslack.Server, team, channel string) string {
	t.Helper()
	u, err := srv.IssueResponseURL("commands", team, channel)
	if err != nil {
		t.Fatalf("IssueResponseURL: %v", err)
	}
	return u
}

// archiveChannel archives channel in whichever workspace holds it.
func archiveChannel(t testing.TB, srv *fakeslack.Server, channel string) {
	t.Helper()
	for _, ws := range srv.Workspaces() {
		if srv.ArchiveChannel(ws.TeamID, channel) {
			return
		}
	}
	t.Fatalf("ArchiveChannel: no channel %s", channel)
}
