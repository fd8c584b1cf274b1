package switchboard_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
)

// Global middleware runs in Use order (one added after the registration included), then the
// listener's, then the handler, and unwinds in reverse; a middleware that does not call next
// stops the event there.
func TestMiddlewareOrderAndShortCircuit(t *testing.T) {
	t.Parallel()
	e := newAppEnv(t, 1)
	rec := &recorder{}
	mw := func(name string) switchboard.Middleware {
		return func(next switchboard.Handler) switchboard.Handler {
			return func(ctx context.Context, ev *switchboard.Event) error {
				rec.add(name + ">")
				err := next(ctx, ev)
				rec.add("<" + name)
				return err
			}
		}
	}
	stop := func(next switchboard.Handler) switchboard.Handler {
		return func(ctx context.Context, ev *switchboard.Event) error {
			if strings.Contains(ev.Text(), "stop") {
				rec.add("stopped")
				return nil
			}
			return next(ctx, ev)
		}
	}
	if err := e.rt.Use(mw("g1"), mw("g2")); err != nil {
		t.Fatal(err)
	}
	err := e.rt.OnCommand("/mw", func(_ context.Context, ev *switchboard.Event) error {
		rec.add("handler " + ev.Text())
		return nil
	}, switchboard.WithMiddleware(mw("l1"), stop), switchboard.WithMiddleware(mw("l2")))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.rt.Use(mw("g3")); err != nil {
		t.Fatal(err)
	}
	e.start()
	e.command(fakeslack.SlashCommand{Command: "/mw", Text: "go"})
	want := []string{"g1>", "g2>", "g3>", "l1>", "l2>", "handler go", "<l2", "<l1", "<g3", "<g2", "<g1"}
	waitUntil(t, "the chain", func() bool { return rec.has("<g1") })
	if got := rec.list(); !slices.Equal(got, want) {
		t.Errorf("chain ran\n%v\nwant\n%v", got, want)
	}
	rec.mu.Lock()
	rec.got = nil
	rec.mu.Unlock()
	e.command(fakeslack.SlashCommand{Command: "/mw", Text: "stop"})
	want = []string{"g1>", "g2>", "g3>", "l1>", "stopped", "<l1", "<g3", "<g2", "<g1"}
	waitUntil(t, "the short-circuit", func() bool { return rec.has("<g1") })
	if got := rec.list(); !slices.Equal(got, want) {
		t.Errorf("short-circuit ran\n%v\nwant\n%v", got, want)
	}
}

// The bot's own messages (bot_id of auth.test) never reach a handler, unless IncludeSelf;
// another bot's and people's do.
func TestBotsOwnMessagesIgnored(t *testing.T) {
	t.Parallel()
	e := newAppEnv(t, 1)
	def, all := &recorder{}, &recorder{}
	if err := e.rt.Handle(switchboard.Filter{Kinds: []switchboard.Kind{switchboard.KindEventsAPI}}, func(_ context.Context, ev *switchboard.Event) error {
		def.add(ev.Text())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.rt.OnMessage("", func(_ context.Context, ev *switchboard.Event) error {
		all.add(ev.Text())
		return nil
	}, switchboard.IncludeSelf()); err != nil {
		t.Fatal(err)
	}
	e.start()
	ws := e.ws[0]
	e.event(map[string]any{"text": "mine", "bot_id": ws.BotID, "user": ws.BotUserID})
	e.event(map[string]any{"text": "mention", "type": "app_mention", "bot_id": ws.BotID, "user": ws.BotUserID})
	e.event(map[string]any{"text": "other bot", "bot_id": "B0OTHER", "user": "U0OTHER"})
	e.event(map[string]any{"text": "person"})
	waitUntil(t, "the messages", func() bool { return def.has("person") && all.has("person") })
	if got := def.list(); !slices.Equal(got, []string{"other bot", "person"}) {
		t.Errorf("default subscription got %v, want the other bot's and the person's", got)
	}
	if got := all.list(); !slices.Equal(got, []string{"mine", "other bot", "person"}) {
		t.Errorf("IncludeSelf subscription got %v, want all three messages", got)
	}
	authTests := func() int {
		return len(e.srv.Transcript().Entries(func(en fakeslack.Entry) bool { return en.Method == "auth.test" }))
	}
	if n := authTests(); n != 1 {
		t.Errorf("%d auth.test calls, want 1 (cached for the team's client)", n)
	}
	// A changed installation gives the team a new client: its bot's IDs are asked again.
	e.rt.InstallationsChanged(ws.TeamID)
	e.event(map[string]any{"text": "mine again", "bot_id": ws.BotID, "user": ws.BotUserID})
	e.event(map[string]any{"text": "person again"})
	waitUntil(t, "the messages after the change", func() bool { return def.has("person again") && all.has("person again") })
	if def.has("mine again") {
		t.Error("the bot's own message reached the default subscription after an installation change")
	}
	if n := authTests(); n != 2 {
		t.Errorf("%d auth.test calls after the installation changed, want 2", n)
	}
}

// Errors and panics reach the listener's OnError, else the runtime's, with the event's context;
// a panic is a *PanicError with its stack, the actor goes on; without a hook an error is logged
// with the team, type and IDs; each is counted; HandlerTimeout ends the event's ctx.
func TestErrorsReachOnError(t *testing.T) {
	t.Parallel()
	e := newAppEnv(t, 1)
	type report struct {
		hook, cmd, team string
		err             error
		ctxErr          error
	}
	reports := make(chan report, 10)
	hook := func(name string) switchboard.ErrorHandler {
		return func(ctx context.Context, ev *switchboard.Event, err error) {
			team, _ := switchboard.LogFrom(ctx).Data["team"].(string)
			reports <- report{hook: name, cmd: ev.Type, team: team, err: err, ctxErr: ctx.Err()}
		}
	}
	e.rt.OnError(hook("global"))
	boom := errors.New("boom")
	var calls atomic.Int32
	handler := func(ctx context.Context, ev *switchboard.Event) error {
		calls.Add(1)
		switch ev.Text() {
		case "panic":
			panic(boom)
		case "slow":
			<-ctx.Done()
			return ctx.Err()
		case "ok":
			return nil
		}
		return boom
	}
	for _, reg := range []struct {
		cmd  string
		opts []switchboard.SubscribeOption
	}{
		{"/global", nil},
		{"/own", []switchboard.SubscribeOption{switchboard.OnError(hook("own")), switchboard.HandlerTimeout(50 * time.Millisecond)}},
	} {
		if err := e.rt.OnCommand(reg.cmd, handler, reg.opts...); err != nil {
			t.Fatal(err)
		}
	}
	e.start()
	await := func(what string) report {
		t.Helper()
		select {
		case r := <-reports:
			return r
		case <-time.After(10 * time.Second):
			t.Fatalf("no report of %s", what)
		}
		return report{}
	}
	team := e.ws[0].TeamID
	e.command(fakeslack.SlashCommand{Command: "/global", Text: "fail"})
	if r := await("an error"); r.hook != "global" || !errors.Is(r.err, boom) || r.cmd != "/global" || r.team != team {
		t.Errorf("error report %+v", r)
	}
	e.command(fakeslack.SlashCommand{Command: "/global", Text: "panic"})
	r := await("a panic")
	var pe *switchboard.PanicError
	if r.hook != "global" || !errors.As(r.err, &pe) || pe.Value != boom || !errors.Is(r.err, boom) ||
		!strings.Contains(string(pe.Stack), "middleware_test.go") {
		t.Errorf("panic report %+v (stack %s)", r, pe.Stack)
	}
	e.command(fakeslack.SlashCommand{Command: "/own", Text: "fail"})
	if r := await("the listener's error"); r.hook != "own" || !errors.Is(r.err, boom) {
		t.Errorf("listener's error report %+v", r)
	}
	e.command(fakeslack.SlashCommand{Command: "/own", Text: "slow"})
	if r := await("a timeout"); r.hook != "own" || !errors.Is(r.err, context.DeadlineExceeded) || r.ctxErr == nil {
		t.Errorf("timeout report %+v", r)
	}
	// The panicking subscription still handles events: no restart was needed.
	e.command(fakeslack.SlashCommand{Command: "/global", Text: "ok"})
	waitUntil(t, "the handler after its panic", func() bool { return calls.Load() == 5 })

	e.rt.OnError(nil) // the default: logged with the event's IDs
	inj := e.command(fakeslack.SlashCommand{Command: "/global", Text: "fail"})
	waitUntil(t, "the error logged", func() bool {
		return e.logLine("handler returned an error", map[string]string{"envelope_id": inj.EnvelopeID}) != nil
	})
	line := e.logLine("handler returned an error", map[string]string{"envelope_id": inj.EnvelopeID})
	if line["team"] != team || line["type"] != "/global" || line["kind"] != "slash_commands" || line["error"] != "boom" {
		t.Errorf("error line %v", line)
	}
	e.command(fakeslack.SlashCommand{Command: "/global", Text: "panic"})
	waitUntil(t, "the panic logged", func() bool { return e.logLine("handler panicked", map[string]string{"type": "/global"}) != nil })
	if s := e.rt.Stats(); s.HandlerErrors != 4 || s.HandlerPanics != 2 {
		t.Errorf("HandlerErrors %d, HandlerPanics %d, want 4 and 2", s.HandlerErrors, s.HandlerPanics)
	}
	select {
	case r := <-reports:
		t.Errorf("a report after OnError(nil): %+v", r)
	default:
	}
}

// LogEvents logs each event after its chain, with the event's fields, its duration and its error.
func TestLogEvents(t *testing.T) {
	t.Parallel()
	e := newAppEnv(t, 1)
	if err := e.rt.OnCommand("/log", func(_ context.Context, ev *switchboard.Event) error {
		if ev.Text() == "fail" {
			return errors.New("it failed")
		}
		return nil
	}, switchboard.Named("logged"), switchboard.WithMiddleware(switchboard.LogEvents(nil))); err != nil {
		t.Fatal(err)
	}
	e.start()
	ok := e.command(fakeslack.SlashCommand{Command: "/log", Text: "fine"})
	bad := e.command(fakeslack.SlashCommand{Command: "/log", Text: "fail"})
	team := e.ws[0].TeamID
	waitUntil(t, "the log lines", func() bool {
		return e.logLine("event handled", map[string]string{"envelope_id": ok.EnvelopeID}) != nil &&
			e.logLine("event failed", map[string]string{"envelope_id": bad.EnvelopeID}) != nil
	})
	line := e.logLine("event handled", map[string]string{"envelope_id": ok.EnvelopeID})
	if line["team"] != team || line["type"] != "/log" || line["subscriber"] != "logged" || line["duration"] == nil || line["level"] != "info" {
		t.Errorf("handled line %v", line)
	}
	line = e.logLine("event failed", map[string]string{"envelope_id": bad.EnvelopeID})
	if line["error"] != "it failed" || line["level"] != "warning" {
		t.Errorf("failed line %v", line)
	}
}
