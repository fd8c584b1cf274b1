package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/switchboard-go/switchboard/internal/logbridge"
	"github.com/switchboard-go/switchboard/internal/redact"
)

// SenderOption configures a Sender; see NewSender for the defaults.
type SenderOption func(*senderConfig) error

type senderConfig struct {
	system   *actor.ActorSystem
	rate     float64
	burst    int
	queue    int
	idle     time.Duration
	onResult func(Result)
}

// WithActorSystem runs the Sender's actors in sys, which the caller owns and shuts down after
// Stop. Default: the Sender creates its own system and shuts it down on Stop.
func WithActorSystem(sys *actor.ActorSystem) SenderOption {
	return func(c *senderConfig) error {
		if sys == nil {
			return fmt.Errorf("webhook: nil actor system")
		}
		c.system = sys
		return nil
	}
}

// WithRate sets the sustained posts per second per URL. Default 1 (Slack's limit); must be > 0.
func WithRate(perSecond float64) SenderOption {
	return func(c *senderConfig) error {
		if !(perSecond > 0) {
			return fmt.Errorf("webhook: rate %v must be positive", perSecond)
		}
		c.rate = perSecond
		return nil
	}
}

// WithBurst sets how many posts per URL may go out back to back after a quiet spell. Default 3;
// must be >= 1.
func WithBurst(n int) SenderOption {
	return func(c *senderConfig) error {
		if n < 1 {
			return fmt.Errorf("webhook: burst %d must be at least 1", n)
		}
		c.burst = n
		return nil
	}
}

// WithQueueSize sets how many messages per URL may wait, the one being posted excluded; Enqueue
// refuses more with ErrQueueFull. Default 100; must be >= 1.
func WithQueueSize(n int) SenderOption {
	return func(c *senderConfig) error {
		if n < 1 {
			return fmt.Errorf("webhook: queue size %d must be at least 1", n)
		}
		c.queue = n
		return nil
	}
}

// WithIdleTimeout sets how long a URL's actor lives with nothing to send (it never goes before
// its rate limit has fully recovered). Default 1 min; must be > 0.
func WithIdleTimeout(d time.Duration) SenderOption {
	return func(c *senderConfig) error {
		if d <= 0 {
			return fmt.Errorf("webhook: idle timeout %v must be positive", d)
		}
		c.idle = d
		return nil
	}
}

// WithResultHandler calls f with the outcome of every queued message, in completion order (which
// is queue order per URL), on one goroutine owned by the Sender. Stop returns after the last call.
// A panic in f is recovered, logged at Error (redacted) and counted in Sender.HandlerPanics; f is
// still called for the results that follow.
func WithResultHandler(f func(Result)) SenderOption {
	return func(c *senderConfig) error {
		c.onResult = f
		return nil
	}
}

// Result is the outcome of one queued message.
type Result struct {
	ID       uint64    // the Pending's ID
	URL      string    // the webhook URL in clear: never log it
	Response *Response // nil if no answer came
	Err      error     // nil once delivered
}

// Pending is the future outcome of a queued message.
type Pending struct {
	id   uint64
	done chan struct{}
	once sync.Once
	resp *Response
	err  error
}

// ID is the message's number, unique within its Sender and increasing in Enqueue order.
func (p *Pending) ID() uint64 { return p.id }

// Done is closed once the outcome is known.
func (p *Pending) Done() <-chan struct{} { return p.done }

// Wait returns the outcome once known: Slack's answer, and nil or why the message was not
// delivered (an *Error, a connection error, or one matching ErrStopped). If ctx ends first it
// returns ctx's error and the message stays queued.
func (p *Pending) Wait(ctx context.Context) (*Response, error) {
	select {
	case <-p.done:
		return p.resp, p.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *Pending) resolve(resp *Response, err error) bool {
	first := false
	p.once.Do(func() {
		p.resp, p.err, first = resp, err, true
		close(p.done)
	})
	return first
}

// Sender posts queued messages through protoactor-go actors: one per URL, spawned on demand
// under a parent actor of the Sender's. Per URL, messages go out one at a time in Enqueue order
// within the rate limit. It is safe for concurrent use.
type Sender struct {
	env    *senderEnv
	parent *actor.PID
	own    bool // the Sender created env.system

	mu       sync.RWMutex
	stopping bool
	stopped  chan struct{}
	stopErr  error
	ids      atomic.Uint64
}

// senderEnv is what the Sender's actors share; set before the first spawn, not changed after.
type senderEnv struct {
	client  *Client
	system  *actor.ActorSystem
	log     *logrus.Entry
	cfg     senderConfig
	ctx     context.Context // cancelled when Stop gives up draining: aborts posts in flight
	cancel  context.CancelFunc
	wg      sync.WaitGroup // the posting goroutines
	results *resultQueue   // nil without a result handler
	now     func() time.Time
	panics  atomic.Int64 // result handler and retry handler panics
}

// NewSender starts a Sender posting with c, which it does not close. Defaults: 1 post a second per
// URL with bursts of 3, 100 queued messages per URL, idle URL actors stopped after 1 min, and its
// own actor system with protoactor's logs routed to c's logger.
func NewSender(c *Client, opts ...SenderOption) (*Sender, error) {
	if c == nil {
		return nil, fmt.Errorf("webhook: nil client")
	}
	cfg := senderConfig{rate: 1, burst: 3, queue: 100, idle: time.Minute}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	env := &senderEnv{client: c, system: cfg.system, log: c.log.WithField("actor", "webhook-sender"),
		cfg: cfg, ctx: ctx, cancel: cancel, now: time.Now}
	s := &Sender{env: env, stopped: make(chan struct{})}
	if env.system == nil {
		l := c.logger
		env.system = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
			return slog.New(logbridge.New(l, slog.LevelInfo))
		}))
		s.own = true
	}
	if f := cfg.onResult; f != nil {
		env.results = newResultQueue(func(r Result) { env.callResult(f, r) })
	}
	s.parent = env.system.Root.SpawnPrefix(actor.PropsFromProducer(func() actor.Actor { return newHub(env) }), "webhook-sender")
	return s, nil
}

// Enqueue queues msg for url and returns its Pending once the URL's actor accepted it. It fails
// with ErrQueueFull when url's queue is full and ErrStopped once Stop was called. If ctx ends
// before the answer it returns ctx's error with the Pending, whose outcome then still follows.
func (s *Sender) Enqueue(ctx context.Context, url string, msg Message) (*Pending, error) {
	body, err := json.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("webhook: encode message: %w", err)
	}
	return s.enqueue(ctx, url, body, msg.Header)
}

// EnqueueRaw queues body, encoded as SendRaw does, with extra headers header (may be nil). It
// answers like Enqueue.
func (s *Sender) EnqueueRaw(ctx context.Context, url string, body any, header http.Header) (*Pending, error) {
	data, err := encodeBody(body)
	if err != nil {
		return nil, err
	}
	return s.enqueue(ctx, url, data, header)
}

func (s *Sender) enqueue(ctx context.Context, rawURL string, body []byte, header http.Header) (*Pending, error) {
	if u, err := url.Parse(rawURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("webhook: invalid URL %s", redact.URL(rawURL))
	}
	p := &Pending{id: s.ids.Add(1), done: make(chan struct{})}
	reply := make(chan error, 1)
	s.mu.RLock()
	if s.stopping {
		s.mu.RUnlock()
		return nil, ErrStopped
	}
	// Sent under the read lock: Stop's drain message then always follows every accepted enqueue.
	s.env.system.Root.Send(s.parent, enqueue{url: rawURL, it: &item{p: p, body: body, header: header.Clone()}, reply: reply})
	s.mu.RUnlock()
	select {
	case err := <-reply:
		if err != nil {
			return nil, err
		}
		return p, nil
	case <-ctx.Done():
		return p, ctx.Err()
	}
}

// Stop stops accepting messages and drains the queues: it keeps posting, within the rate limit,
// until every queue is empty or ctx ends. When ctx ends it cancels the posts in flight and every
// message not delivered resolves with an error matching ErrStopped; Stop then returns an
// *UnsentError listing them. It returns once its actors and goroutines have ended (and its own
// actor system is shut down). Later calls wait for the first and return its result.
func (s *Sender) Stop(ctx context.Context) error {
	s.mu.Lock()
	first := !s.stopping
	s.stopping = true
	s.mu.Unlock()
	if !first {
		select {
		case <-s.stopped:
			return s.stopErr
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	root := s.env.system.Root
	reply := make(chan []Unsent, 1)
	root.Send(s.parent, drain{reply: reply})
	var unsent []Unsent
	select {
	case unsent = <-reply:
	case <-ctx.Done():
		s.env.cancel() // ends posts in flight and retry waits at once
		root.Send(s.parent, abort{})
		unsent = <-reply
	}
	s.env.cancel()
	_ = root.PoisonFuture(s.parent).Wait()
	s.env.wg.Wait()
	if s.env.results != nil {
		s.env.results.close()
	}
	if s.own {
		s.env.system.Shutdown()
	}
	if len(unsent) > 0 {
		s.stopErr = &UnsentError{Unsent: unsent}
	}
	close(s.stopped)
	return s.stopErr
}

// HandlerPanics returns how many times the result handler, or a retry handler while posting a
// queued message, panicked. Each panic was recovered and logged; a post whose retry handler
// panicked resolves with an error.
func (s *Sender) HandlerPanics() int64 { return s.env.panics.Load() }

// callResult calls the result handler, recovering a panic.
func (env *senderEnv) callResult(f func(Result), r Result) {
	defer func() {
		if v := recover(); v != nil {
			env.panics.Add(1)
			env.log.WithFields(logrus.Fields{"panic": redact.Value(v), "id": r.ID, "url": redact.URL(r.URL)}).
				Error("webhook result handler panicked")
		}
	}()
	f(r)
}

// post posts one queued message, turning a panic (a retry handler's) into its error.
func (env *senderEnv) post(url string, it *item) (resp *Response, err error) {
	defer func() {
		if v := recover(); v != nil {
			env.panics.Add(1)
			resp, err = nil, fmt.Errorf("webhook: post panicked: %s", redact.Value(v))
			env.log.WithFields(logrus.Fields{"panic": redact.Value(v), "id": it.p.id, "url": redact.URL(url)}).
				Error("webhook post panicked")
		}
	}()
	return env.client.post(env.ctx, url, it.body, it.header, false)
}

// resultQueue hands results to the result handler on one goroutine, never blocking the actors.
type resultQueue struct {
	mu     sync.Mutex
	items  []Result
	closed bool
	signal chan struct{} // capacity 1: there is something to look at
	done   chan struct{}
}

func newResultQueue(f func(Result)) *resultQueue {
	q := &resultQueue{signal: make(chan struct{}, 1), done: make(chan struct{})}
	go func() { // owner: Sender. Ends once close was called and the queue is empty; close waits on done.
		defer close(q.done)
		for range q.signal {
			for {
				q.mu.Lock()
				if len(q.items) == 0 {
					closed := q.closed
					q.mu.Unlock()
					if closed {
						return
					}
					break
				}
				r := q.items[0]
				q.items = q.items[1:]
				q.mu.Unlock()
				f(r)
			}
		}
	}()
	return q
}

func (q *resultQueue) push(r Result) {
	q.mu.Lock()
	q.items = append(q.items, r)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// close delivers what is queued, then ends the goroutine and waits for it.
func (q *resultQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
	<-q.done
}
