package switchboard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gorilla/websocket"
	slogrus "github.com/samber/slog-logrus/v2"
	"github.com/sirupsen/logrus"

	"github.com/switchboard-go/switchboard/internal/engine"
	"github.com/switchboard-go/switchboard/messages"
	"github.com/switchboard-go/switchboard/supervisor"
	"github.com/switchboard-go/switchboard/webhook"
)

// Event is one event from Slack as handlers receive it; see messages.Event.
type Event = messages.Event

// Handler handles one event on its subscription's actor; ctx ends when the runtime stops.
type Handler = engine.Handler

// Status is a snapshot of one link.
type Status = engine.Status

// ErrStopped is returned by calls made after Stop.
var ErrStopped = messages.ErrStopped

// askTimeout bounds requests to the runtime's own engine.
const askTimeout = 5 * time.Second

// deadLetterThrottle is protoactor's dead-letter logging window. Each window starts a goroutine
// that lives for it; messages from session goroutines to actors that just stopped are dead
// letters, so Stop waits one window out to leave no goroutine behind.
const deadLetterThrottle = 100 * time.Millisecond

// drainTimeout bounds how long Stop waits for one connection's writer to flush.
const drainTimeout = 2 * time.Second

// Runtime runs Slack links and the handlers that receive their events. Its methods are safe for
// concurrent use.
type Runtime struct {
	cfg        *config
	log        *logrus.Entry
	system     *actor.ActorSystem
	env        *engine.Env
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	supervisor *actor.PID
	dispatcher *actor.PID
	webhooks   *webhook.Client

	mu      sync.Mutex
	stopped bool
	links   map[string]*engine.LinkState // by link name
	apps    map[string][]string          // app ID → its link names
	rtm     rtmFleet                     // RTM workspaces (rtm.go)
	subs    int

	storePanics callbackCounter // InstallationStore lookups that panicked (apps.go)
}

// New builds a runtime from opts; it starts its actors but no link until AddApp.
func New(opts ...Option) (*Runtime, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(cfg); err != nil {
			return nil, err
		}
	}
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slogrus.Option{Logger: cfg.log, Level: slog.LevelWarn}.NewLogrusHandler())
	}), actor.WithDeadLetterThrottleInterval(deadLetterThrottle))
	ctx, cancel := context.WithCancel(context.Background())
	var err error
	rt := &Runtime{
		cfg:    cfg,
		log:    logrus.NewEntry(cfg.log).WithField("component", "switchboard"),
		system: system,
		cancel: cancel,
		links:  map[string]*engine.LinkState{},
		apps:   map[string][]string{},
	}
	if rt.webhooks = cfg.webhooks; rt.webhooks == nil {
		if rt.webhooks, err = webhook.New(webhook.WithLogger(cfg.log)); err != nil {
			cancel()
			return nil, fmt.Errorf("switchboard: webhook client: %w", err)
		}
	}
	rt.env = &engine.Env{
		System: system, Log: rt.log, Ctx: ctx, WG: &rt.wg, HTTP: cfg.http, APIURL: cfg.apiURL,
		Dialer: &websocket.Dialer{HandshakeTimeout: 10 * time.Second, Proxy: websocket.DefaultDialer.Proxy},
		Stats:  &engine.Stats{}, Flow: engine.NewFlow(),
		Connects:    engine.ConnectBudget{Burst: cfg.connectBurst, Every: cfg.connectEvery},
		OpenTimeout: cfg.openTimeout,
	}
	guardian := actor.WithGuardian(actor.NewOneForOneStrategy(10, time.Minute, func(reason any) actor.Directive {
		rt.log.WithField("panic", fmt.Sprint(reason)).Error("runtime actor panicked, restarting it")
		return actor.RestartDirective
	}))
	if rt.dispatcher, err = system.Root.SpawnNamed(engine.DispatcherProps(rt.env, cfg.dedupeWindow).Configure(guardian), "dispatcher"); err != nil {
		return nil, fmt.Errorf("switchboard: spawn dispatcher: %w", err)
	}
	rt.env.Dispatcher = rt.dispatcher
	policy := supervisor.Policy{Initial: cfg.initialBackoff, Max: cfg.maxBackoff, ResetAfter: cfg.resetAfter}
	if rt.supervisor, err = system.Root.SpawnNamed(engine.SupervisorProps(rt.env, policy).Configure(guardian), "supervisor"); err != nil {
		return nil, fmt.Errorf("switchboard: spawn supervisor: %w", err)
	}
	return rt, nil
}

// ask sends msg to pid and waits for an error-or-nil answer.
func (rt *Runtime) ask(ctx context.Context, pid *actor.PID, msg any) error {
	if rt.isStopped() {
		return ErrStopped
	}
	f := rt.system.Root.RequestFuture(pid, msg, askTimeout)
	done := make(chan struct{})
	var res any
	var err error
	go func() { // owner: ask. Ends when the future completes (askTimeout at most); ask waits.
		res, err = f.Result()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		<-done // the future ends by askTimeout
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("switchboard: %w", redactError(err))
	}
	if e, ok := res.(error); ok {
		return redactError(e)
	}
	return nil
}

func (rt *Runtime) isStopped() bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.stopped
}

// Status returns a snapshot of every link, in no particular order.
func (rt *Runtime) Status() []Status {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	out := make([]Status, 0, len(rt.links))
	for _, s := range rt.links {
		out = append(out, redactStatus(s.Status()))
	}
	return out
}

// Stats are the runtime's counters.
type Stats struct {
	EventsIn, Acks, Duplicates, Dispatched, Dropped, HandlerPanics, Malformed, ResponseTimeouts int64
	// Backpressured counts the times a reader held an event back because a Backpressure queue
	// was full (and so stopped reading its socket until the queue drained to half).
	Backpressured int64
	// CallbackPanics counts panics of OnAck observers and InstallationStore lookups, each
	// recovered and logged (see stats.go).
	CallbackPanics int64
}

// Stats returns the runtime's counters.
func (rt *Runtime) Stats() Stats {
	s := rt.env.Stats
	return Stats{
		EventsIn: s.EventsIn.Load(), Acks: s.Acks.Load(), Duplicates: s.Duplicates.Load(),
		Dispatched: s.Dispatched.Load(), Dropped: s.Dropped.Load(), HandlerPanics: s.HandlerPanics.Load(),
		Malformed: s.Malformed.Load(), ResponseTimeouts: s.ResponseTimeout.Load(),
		Backpressured: rt.env.Flow.Holds.Load(), CallbackPanics: rt.callbackPanics(),
	}
}

// Run blocks until ctx ends (for example on SIGTERM, with signal.NotifyContext), then stops the
// runtime gracefully within stopTimeout and returns Stop's error.
func (rt *Runtime) Run(ctx context.Context, stopTimeout time.Duration) error {
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	return rt.Stop(sctx)
}

// Stop stops the runtime, all before ctx ends: connections stop dispatching and their acks in
// flight are written; handlers finish the events they already accepted (until a second before
// ctx's deadline); then the links stop (their sockets close with a close frame), then the
// dispatcher and handlers (their context is cancelled), then every goroutine. Events read after the
// drain began stay unacked and Slack redelivers them. Safe to call more than once.
func (rt *Runtime) Stop(ctx context.Context) error {
	rt.mu.Lock()
	if rt.stopped {
		rt.mu.Unlock()
		return nil
	}
	rt.stopped = true
	rt.mu.Unlock()

	var errs []error
	if err := rt.drain(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := rt.awaitHandlers(ctx); err != nil {
		errs = append(errs, err)
	}
	for _, pid := range []*actor.PID{rt.supervisor, rt.dispatcher} {
		if err := waitFuture(ctx, rt.system.Root.PoisonFuture(pid)); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", pid.Id, err))
		}
	}
	rt.cancel()
	if err := rt.webhooks.Close(); err != nil {
		errs = append(errs, fmt.Errorf("webhook client: %w", err))
	}
	done := make(chan struct{})
	go func() { // owner: Stop. Ends when every actor goroutine has; Stop waits or gives up at ctx.
		rt.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("goroutines still running: %w", ctx.Err()))
	}
	rt.system.Shutdown()
	select {
	case <-time.After(deadLetterThrottle + 20*time.Millisecond):
	case <-ctx.Done():
	}
	if len(errs) > 0 {
		return fmt.Errorf("switchboard: stop: %w", errors.Join(errs...))
	}
	return nil
}

// drain tells every connection to stop dispatching and waits until each writer has written the
// acks queued so far.
func (rt *Runtime) drain(ctx context.Context) error {
	res, err := rt.system.Root.RequestFuture(rt.supervisor, engine.ListConnections{}, askTimeout).Result()
	if err != nil {
		return fmt.Errorf("list connections: %w", err)
	}
	pids, _ := res.([]*actor.PID)
	futures := make([]*actor.Future, len(pids))
	for i, pid := range pids {
		futures[i] = rt.system.Root.RequestFuture(pid, engine.Drain{}, drainTimeout)
	}
	var errs []error
	for i, f := range futures {
		if err := waitFuture(ctx, f); err != nil && !errors.Is(err, actor.ErrDeadLetter) {
			errs = append(errs, fmt.Errorf("drain %s: %w", pids[i].Id, err))
		}
	}
	return errors.Join(errs...)
}

// awaitHandlers waits until every subscription has handled the events it accepted (they may be
// acked already), keeping a second of ctx's deadline for the rest of Stop.
func (rt *Runtime) awaitHandlers(ctx context.Context) error {
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-time.Second))
		defer cancel()
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		stats, err := rt.subscriberStats(ctx)
		if err != nil {
			return fmt.Errorf("await handlers: %w", err)
		}
		left := 0
		for _, s := range stats {
			left += s.Queued
		}
		if left == 0 {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("handlers left %d events unhandled: %w", left, ctx.Err())
		}
	}
}

func waitFuture(ctx context.Context, f *actor.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Wait() }() // owner: waitFuture. Ends within the future's 10s timeout.
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
