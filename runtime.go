package switchboard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/switchboard-go/switchboard/internal/engine"
	"github.com/switchboard-go/switchboard/internal/logbridge"
	"github.com/switchboard-go/switchboard/messages"
	"github.com/switchboard-go/switchboard/supervisor"
	"github.com/switchboard-go/switchboard/webhook"
)

// Event is one event from Slack, as handlers receive it (package messages defines it, so that your
// own actors receive the same type). Its fields say where it came from and how it routes (Link,
// Kind, Type, Team, Channel, User, ThreadTS, EventID, EnvelopeID, RetryAttempt, Received) and Raw
// is the payload as Slack sent it. Its methods:
//
//	EventsAPI() (slackevents.EventsAPIEvent, error)    // decode an Events API payload
//	SlashCommand() (slack.SlashCommand, error)          // decode a slash command
//	Interaction() (slack.InteractionCallback, error)    // decode an interaction
//	Text(), Subtype(), BotID(), MessageTS() string      // a message's fields
//	Action() (slack.BlockAction, bool); ActionValue()  // a block action's
//	CallbackID() string; ViewState(); StateValue(b, a)  // a view's callback ID and state.values
//	Say(ctx, text, opts...) (ts string, err error)      // post in the event's channel (SayInThread: in its thread)
//	Respond(payload any) error                          // answer in the ack (commands, views, suggestions)
//	AcceptsResponse() bool                              // whether Respond can
//	Client(ctx) (*slack.Client, error)                  // the team's Web API client; never nil without an error
//	ResponseURL() string                                // the response_url Slack sent, or ""
type Event = messages.Event

// Lifecycle is a link's lifecycle event: messages.Connecting, Connected, Disconnected,
// Reconnecting or Fatal.
type Lifecycle = messages.Lifecycle

// Link names one link: a Socket Mode connection of an app, or an RTM workspace.
type Link = messages.Link

// ErrStopped is returned by calls made after Stop (the same error as webhook.ErrStopped).
var ErrStopped = messages.ErrStopped

// askTimeout bounds a request to the runtime's own actors even when the caller's context has no
// deadline: an actor that went away never answers.
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
	transport  *http.Transport // the runtime's own, closed on Stop; nil when WithHTTPClient's is used as it is

	mu        sync.Mutex
	stopped   bool
	links     map[string]*engine.LinkState // by link name
	apps      map[string][]string          // app ID → its link names
	rtm       rtmFleet                     // RTM workspaces (rtm.go)
	subs      int
	subNames  map[string]struct{} // registered subscriptions
	app       appLayer            // handlers' middleware, error hook and the bot's own IDs (handlerctx.go)
	httpApps  map[string]*httpApp // apps with Transport HTTP, by ID (http.go)
	clustered map[string]struct{} // the clustered subscriptions, by name; each has a forwarder, name+forwarderSuffix (keygrains.go)
	forgets   []func(team string) // each client cache's; InstallationsChanged calls them (install.go)

	storePanics callbackCounter // InstallationStore lookups that panicked (apps.go)
	clu         *clusterState   // WithCluster's member side; nil without (clustering.go)
}

// New builds a runtime from opts; it starts its actors but no link until AddApp.
func New(opts ...Option) (*Runtime, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(cfg); err != nil {
			return nil, err
		}
	}
	httpc, transport, err := cfg.httpClient()
	if err != nil {
		return nil, err
	}
	cfg.http = httpc
	system := engine.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(logbridge.New(cfg.log, slog.LevelWarn))
	}), actor.WithDeadLetterThrottleInterval(deadLetterThrottle))
	ctx, cancel := context.WithCancel(context.Background())
	rt := &Runtime{
		cfg:       cfg,
		log:       logrus.NewEntry(cfg.log).WithField("component", "switchboard"),
		system:    system,
		cancel:    cancel,
		transport: transport,
		links:     map[string]*engine.LinkState{},
		subNames:  map[string]struct{}{},
		apps:      map[string][]string{},
		httpApps:  map[string]*httpApp{},
		clustered: map[string]struct{}{},
	}
	if rt.webhooks = cfg.webhooks; rt.webhooks == nil {
		if rt.webhooks, err = webhook.New(webhook.WithLogger(cfg.log), webhook.WithProxy(webhookProxy(transportOf(httpc)))); err != nil {
			cancel()
			return nil, fmt.Errorf("switchboard: webhook client: %w", err)
		}
	}
	rt.env = &engine.Env{
		System: system, Log: rt.log, Ctx: ctx, WG: &rt.wg, HTTP: cfg.http, APIURL: cfg.apiURL,
		Dialer: socketDialer(transportOf(httpc)),
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
	if cfg.cluster != nil {
		if err := rt.joinCluster(cfg.cluster); err != nil {
			rt.Stop(context.Background())
			return nil, err
		}
	}
	return rt, nil
}

// ask sends msg (carrying reply) to pid and waits for the answer, until ctx ends or askTimeout
// passes. An error answer is returned; any other is stored in *out when out is not nil.
func (rt *Runtime) ask(ctx context.Context, pid *actor.PID, msg any, reply engine.Reply, out *any) error {
	if rt.isStopped() {
		return ErrStopped
	}
	return rt.request(ctx, pid, msg, reply, out)
}

// request is ask without the stopped check, for Stop itself.
func (rt *Runtime) request(ctx context.Context, pid *actor.PID, msg any, reply engine.Reply, out *any) error {
	rt.system.Root.Send(pid, msg)
	timer := time.NewTimer(askTimeout)
	defer timer.Stop()
	select {
	case res := <-reply:
		if e, ok := res.(error); ok {
			return redactError(e)
		}
		if out != nil {
			*out = res
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return fmt.Errorf("switchboard: %s did not answer within %v", pid.Id, askTimeout)
	}
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
		out = append(out, redactStatus(statusOf(s.Status())))
	}
	return out
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
	handoverErr := rt.clusterHandover(ctx) // clustering.go; nil without a cluster
	rt.mu.Lock()
	if rt.stopped {
		rt.mu.Unlock()
		return nil
	}
	rt.stopped = true
	rt.mu.Unlock()

	var errs []error
	if handoverErr != nil {
		errs = append(errs, handoverErr)
	}
	if err := rt.drain(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := rt.awaitHandlers(ctx); err != nil {
		errs = append(errs, err)
	}
	for _, pid := range []*actor.PID{rt.supervisor, rt.dispatcher} {
		if err := rt.poison(ctx, pid); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", pid.Id, err))
		}
	}
	rt.cancel()
	if err := rt.webhooks.Close(); err != nil {
		errs = append(errs, fmt.Errorf("webhook client: %w", err))
	}
	if rt.transport != nil {
		rt.transport.CloseIdleConnections()
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
	reply := engine.NewReply()
	var res any
	if err := rt.request(ctx, rt.supervisor, engine.ListConnections{Reply: reply}, reply, &res); err != nil {
		return fmt.Errorf("list connections: %w", err)
	}
	pids, _ := res.([]*actor.PID)
	replies := make([]engine.Reply, len(pids))
	for i, pid := range pids {
		replies[i] = engine.NewReply()
		rt.system.Root.Send(pid, engine.Drain{Reply: replies[i]})
	}
	timer := time.NewTimer(drainTimeout)
	defer timer.Stop()
	var errs []error
	for i, r := range replies {
		select {
		case <-r:
		case <-ctx.Done():
			return errors.Join(append(errs, fmt.Errorf("drain %s: %w", pids[i].Id, ctx.Err()))...)
		case <-timer.C:
			// A connection that stopped meanwhile never answers: its session is over anyway.
			rt.log.WithField("link", pids[i].Id).Warn("drain: connection did not answer, its acks may be unwritten")
			return errors.Join(errs...)
		}
	}
	return errors.Join(errs...)
}

// poison stops pid after the messages already in its mailbox and waits until it has stopped.
func (rt *Runtime) poison(ctx context.Context, pid *actor.PID) error {
	done := make(chan struct{})
	watcher := rt.system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		switch m := c.Message().(type) {
		case *actor.Started:
			c.Watch(pid)
			c.Poison(pid)
		case *actor.Terminated:
			if m.Who.Equal(pid) {
				close(done)
				c.Stop(c.Self())
			}
		}
	}))
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		rt.system.Root.Stop(watcher)
		return ctx.Err()
	}
}

// awaitHandlers waits until every subscription has handled the events it accepted (they may be
// acked already), keeping a second of ctx's deadline for the rest of Stop.
func (rt *Runtime) awaitHandlers(ctx context.Context) error {
	return rt.awaitQueues(ctx, nil)
}

// awaitQueues waits until the subscriptions that only selects (every one when nil) have nothing
// queued or in a handler, or until a second before ctx's deadline.
func (rt *Runtime) awaitQueues(ctx context.Context, only func(name string) bool) error {
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
			if only == nil || only(s.Name) {
				left += s.Queued
			}
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
