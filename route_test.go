package switchboard_test

import (
	"context"
	"regexp"
	"slices"
	"testing"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
)

// Every route kind, matched and not matched: an event reaches the routes it matches and no
// other route's queue (Stats.Dispatched counts exactly the matches).
func TestRoutesMatchBeforeQueueing(t *testing.T) {
	t.Parallel()
	e := newAppEnv(t, 1)
	rec := &recorder{}
	h := func(name string) switchboard.Handler {
		return func(_ context.Context, ev *switchboard.Event) error {
			rec.add(name + " " + ev.EnvelopeID)
			return nil
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.rt.OnAction("approve", h("action")))
	must(e.rt.OnAction(regexp.MustCompile(`^vote_`), h("action-re")))
	must(e.rt.OnAction("approve", h("action-block"), switchboard.BlockID("b2")))
	must(e.rt.OnViewSubmission("new_item", h("view")))
	must(e.rt.OnViewClosed(regexp.MustCompile(`^new_`), h("closed")))
	must(e.rt.OnShortcut("quick", h("shortcut")))
	must(e.rt.OnOptions("pick", h("options")))
	must(e.rt.OnMessage("deploy", h("msg")))
	must(e.rt.OnMessage(regexp.MustCompile(`(?i)^hello`), h("msg-re")))
	must(e.rt.OnEvent("message", h("subtype"), switchboard.Subtype("channel_join")))
	must(e.rt.Handle(switchboard.Filter{}, h("all"), switchboard.IncludeSelf()))
	e.start()

	type injection struct {
		inj  func() fakeslack.Injected
		want []string
	}
	act := func(action, block string) func() fakeslack.Injected {
		return func() fakeslack.Injected {
			return e.interaction(fakeslack.Interaction{ActionID: action, BlockID: block})
		}
	}
	typed := func(typ, callback string) func() fakeslack.Injected {
		return func() fakeslack.Injected {
			return e.interaction(fakeslack.Interaction{Type: typ, CallbackID: callback, ActionID: callback})
		}
	}
	msg := func(fields map[string]any) func() fakeslack.Injected {
		return func() fakeslack.Injected { return e.event(fields) }
	}
	injections := []injection{
		{act("approve", "b1"), []string{"action"}},
		{act("vote_up", "b2"), []string{"action-re"}},
		{act("approve", "b2"), []string{"action", "action-block"}},
		{act("reject", "b2"), nil},
		{typed("view_submission", "new_item"), []string{"view"}},
		{typed("view_submission", "other"), nil},
		{typed("view_closed", "new_item"), []string{"closed"}},
		{typed("view_closed", "old_item"), nil},
		{typed("shortcut", "quick"), []string{"shortcut"}},
		{typed("message_action", "quick"), []string{"shortcut"}},
		{typed("shortcut", "slow"), nil},
		{typed("block_suggestion", "pick"), []string{"options"}},
		{typed("block_suggestion", "other"), nil},
		{msg(map[string]any{"text": "please deploy now"}), []string{"msg"}},
		{msg(map[string]any{"text": "HELLO there"}), []string{"msg-re"}},
		{msg(map[string]any{"text": "nothing to see"}), nil},
		{msg(map[string]any{"text": "<@U1> has joined", "subtype": "channel_join"}), []string{"subtype"}},
	}
	var want []string
	matches := 0
	for _, in := range injections {
		id := in.inj().EnvelopeID
		want = append(want, "all "+id)
		for _, w := range in.want {
			want = append(want, w+" "+id)
			matches++
		}
	}
	waitUntil(t, "every match", func() bool { return len(rec.list()) >= len(want) })
	got := rec.list()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("handled\n%v\nwant\n%v", got, want)
	}
	if d, n := e.rt.Stats().Dispatched, int64(len(injections)+matches); d != n {
		t.Errorf("Dispatched = %d, want %d: an event was queued for a route it does not match", d, n)
	}
}

// A pattern of another type, a nil regexp, and BlockID or Subtype where they do not apply fail
// the registration.
func TestRouteRegistrationErrors(t *testing.T) {
	t.Parallel()
	e := newAppEnv(t, 1)
	h := func(context.Context, *switchboard.Event) error { return nil }
	var nilRE *regexp.Regexp
	for i, err := range []error{
		e.rt.OnAction(42, h),
		e.rt.OnMessage(nilRE, h),
		e.rt.OnViewSubmission([]string{"a"}, h),
		e.rt.OnShortcut(nil, h),
		e.rt.OnOptions("x", h, switchboard.BlockID(3)),
		e.rt.OnEvent("message", h, switchboard.BlockID("b")),
		e.rt.OnAction("a", nil),
		e.rt.OnLifecycle(func(switchboard.Lifecycle) {}, switchboard.Subtype("x")),
		e.rt.OnLifecycle(func(switchboard.Lifecycle) {}, switchboard.IncludeSelf()),
		e.rt.OnCommand("/x", h, switchboard.WithMiddleware(nil)),
		e.rt.OnCommand("/x", h, switchboard.HandlerTimeout(0)),
		e.rt.OnCommand("/x", h, switchboard.OnError(nil)),
	} {
		if err == nil {
			t.Errorf("registration %d: no error", i)
		}
	}
	if err := e.rt.OnAction("a", h, switchboard.BlockID(regexp.MustCompile("b")), switchboard.Named("ok")); err != nil {
		t.Errorf("OnAction with BlockID: %v", err)
	}
	if err := e.rt.Use(nil); err == nil {
		t.Error("Use(nil): no error")
	}
}
