package switchboard

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-go/switchboard/internal/engine"
	"github.com/switchboard-go/switchboard/internal/redact"
)

// ErrorHandler is told of an error a handler returned, or of its panic as a *PanicError. ctx is
// the event's (LogFrom reads its log fields); it may be done already when the error was its
// deadline. It runs on the subscription's actor, before the next event.
type ErrorHandler func(ctx context.Context, ev *Event, err error)

// PanicError is a handler's panic, recovered: the value it panicked with and the goroutine's
// stack at the panic. Find it with errors.As.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("switchboard: handler panicked: %v", e.Value) }

// Unwrap returns the value when it is an error (panic(err)), so errors.Is reaches it.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// appLayer is what the runtime keeps for its handlers' chains: the global middleware, the global
// error hook and the bot's own IDs per team. Its zero value is ready.
type appLayer struct {
	mu      sync.Mutex // serialises Use
	mw      atomic.Pointer[[]Middleware]
	onError atomic.Pointer[ErrorHandler]
	self    selfCache
}

// listener is one registration on its way to the dispatcher: the engine's spec, and what the
// handler's chain adds to it.
type listener struct {
	spec        engine.SubscriberSpec
	handler     Handler // nil for actors and lifecycle funcs
	route       string  // the registration that takes BlockID ("OnAction", "OnOptions"), or ""
	mw          []Middleware
	onError     ErrorHandler
	timeout     time.Duration
	includeSelf bool
	blockID     matcher // BlockID's; nil: any
	subtype     *string // Subtype's; nil: any
	clustered   bool    // Clustered
}

// check refuses the options that do not fit the registration, and adds the predicates of BlockID
// and Subtype to the filter.
func (l *listener) check() error {
	if l.handler == nil && (l.mw != nil || l.onError != nil || l.timeout > 0 || l.includeSelf) {
		return errors.New("switchboard: WithMiddleware, OnError, HandlerTimeout and IncludeSelf apply to handlers only")
	}
	if l.blockID != nil && l.route == "" {
		return errors.New("switchboard: BlockID applies to OnAction and OnOptions only")
	}
	if l.subtype != nil {
		if l.spec.Lifecycle != nil {
			return errors.New("switchboard: Subtype does not apply to lifecycle events")
		}
		want, where := *l.subtype, l.spec.Filter.Where
		l.spec.Filter.Where = func(ev *Event) bool {
			return ev.Subtype() == want && (where == nil || where(ev))
		}
	}
	return nil
}

// OnError sets the runtime's error hook: f is told of every error (and recovered panic) of a
// handler whose subscription has no OnError of its own, instead of the default (a log line with
// the event's team, type and IDs). It applies to subscriptions registered before and after; nil
// restores the default. Errors are counted in Stats.HandlerErrors (panics in HandlerPanics)
// whoever handles them.
func (rt *Runtime) OnError(f ErrorHandler) {
	if f == nil {
		rt.app.onError.Store(nil)
		return
	}
	rt.app.onError.Store(&f)
}

// OnError gives the subscription its own error hook, used instead of the runtime's.
func OnError(f ErrorHandler) SubscribeOption {
	return func(l *listener) error {
		if f == nil {
			return errors.New("switchboard: nil error handler")
		}
		l.onError = f
		return nil
	}
}

// HandlerTimeout gives each event of the subscription a deadline d after its handler's chain
// begins: the ctx of the middleware and the handler ends then (the handler should return soon
// after: the next event waits). Default none: the ctx ends only when the runtime stops.
func HandlerTimeout(d time.Duration) SubscribeOption {
	return func(l *listener) error {
		if d <= 0 {
			return fmt.Errorf("switchboard: handler timeout %v must be positive", d)
		}
		l.timeout = d
		return nil
	}
}

// eventInfo is what an event's context carries; its log entry is built on first use.
type eventInfo struct {
	rt     *Runtime
	sub    string
	ev     *Event
	hosted bool // the chain of a clustered subscription's keys (keygrains.go)
}

type eventInfoKey struct{}

// eventCtx is an event's context: its parent's, with the eventInfo as a value, in one allocation.
type eventCtx struct {
	context.Context
	info eventInfo
}

func (c *eventCtx) Value(key any) any {
	if key == (eventInfoKey{}) {
		return &c.info
	}
	return c.Context.Value(key)
}

// LogFrom returns a logger carrying the event's fields (subscriber, link, app, team, kind, type,
// event_id, envelope_id, channel), redacted like the runtime's own lines, for the ctx a handler
// or middleware was given. For another ctx it returns an entry that discards.
func LogFrom(ctx context.Context) *logrus.Entry {
	if in, ok := ctx.Value(eventInfoKey{}).(*eventInfo); ok {
		return in.rt.log.WithFields(eventFields(in.sub, in.ev))
	}
	l := logrus.New()
	l.SetOutput(discard{})
	return logrus.NewEntry(l)
}

// SubscriptionName returns the name of the subscription whose chain ctx was given to, or "".
func SubscriptionName(ctx context.Context) string {
	if in, ok := ctx.Value(eventInfoKey{}).(*eventInfo); ok {
		return in.sub
	}
	return ""
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// chain returns the engine handler of l: per event, a context of its own, the chain (the bot's
// own events dropped unless IncludeSelf, the global middleware in Use order, the listener's, the
// handler), a recovered panic, and the error reported.
func (rt *Runtime) chain(l *listener) engine.Handler {
	name := l.spec.Name
	return func(ctx context.Context, ev *Event) error {
		ctx = &eventCtx{Context: ctx, info: eventInfo{rt: rt, sub: name, ev: ev, hosted: l.clustered}}
		if l.timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, l.timeout)
			defer cancel()
		}
		err, panicked := rt.run(ctx, l, ev)
		if err == nil {
			return nil
		}
		return rt.report(ctx, l, ev, err, panicked)
	}
}

// run builds the chain from the global middleware's snapshot and calls it, recovering a panic.
func (rt *Runtime) run(ctx context.Context, l *listener, ev *Event) (err error, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			err, panicked = &PanicError{Value: r, Stack: debug.Stack()}, true
		}
	}()
	if !l.includeSelf && rt.fromSelf(ctx, ev) {
		return nil, false
	}
	h := l.handler
	for i := len(l.mw) - 1; i >= 0; i-- {
		h = l.mw[i](h)
	}
	if g := rt.app.mw.Load(); g != nil {
		for i := len(*g) - 1; i >= 0; i-- {
			h = (*g)[i](h)
		}
	}
	return h(ctx, ev), false
}

// report hands err to the listener's hook, else the runtime's; without either a panic is logged
// here (with its stack) and an error goes back to the engine, which logs and counts it.
func (rt *Runtime) report(ctx context.Context, l *listener, ev *Event, err error, panicked bool) error {
	if panicked {
		rt.env.Stats.HandlerPanics.Add(1)
	}
	hook := l.onError
	if hook == nil {
		if g := rt.app.onError.Load(); g != nil {
			hook = *g
		}
	}
	switch {
	case hook != nil:
		if !panicked {
			rt.env.Stats.HandlerErrors.Add(1)
		}
		rt.callHook(ctx, hook, l.spec.Name, ev, err)
	case panicked:
		pe := err.(*PanicError)
		rt.log.WithFields(eventFields(l.spec.Name, ev)).WithField("panic", redact.Value(pe.Value)).
			WithField("stack", string(pe.Stack)).Error("handler panicked")
	default:
		return err
	}
	return nil
}

// callHook runs an error hook; its own panic is logged and counted, and ends nothing.
func (rt *Runtime) callHook(ctx context.Context, hook ErrorHandler, name string, ev *Event, err error) {
	defer func() {
		if r := recover(); r != nil {
			rt.env.Stats.HandlerPanics.Add(1)
			rt.log.WithFields(eventFields(name, ev)).WithField("panic", redact.Value(r)).
				WithField("stack", string(debug.Stack())).Error("error hook panicked")
		}
	}()
	hook(ctx, ev, err)
}

// eventFields are the log fields that identify an event, as the engine logs them.
func eventFields(subscriber string, ev *Event) logrus.Fields {
	f := logrus.Fields{"subscriber": subscriber, "link": ev.Link.Name, "team": ev.Team, "kind": string(ev.Kind), "type": ev.Type}
	if ev.Link.App != "" {
		f["app"] = ev.Link.App
	}
	if ev.EventID != "" {
		f["event_id"] = ev.EventID
	}
	if ev.EnvelopeID != "" {
		f["envelope_id"] = ev.EnvelopeID
	}
	if ev.Channel != "" {
		f["channel"] = ev.Channel
	}
	return f
}
