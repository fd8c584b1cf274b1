package switchboard_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
)

// An event's context ends when the runtime stops (once Stop has given the handlers their time,
// a second before its deadline): a handler waiting on it returns, and its error reaches OnError.
func TestEventContextEndsOnStop(t *testing.T) {
	t.Parallel()
	e := newAppEnv(t, 1)
	entered := make(chan struct{})
	reported := make(chan error, 1)
	e.rt.OnError(func(_ context.Context, _ *switchboard.Event, err error) { reported <- err })
	if err := e.rt.OnCommand("/wait", func(ctx context.Context, _ *switchboard.Event) error {
		close(entered)
		<-ctx.Done()
		return ctx.Err()
	}); err != nil {
		t.Fatal(err)
	}
	e.start()
	e.command(fakeslack.SlashCommand{Command: "/wait"})
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler never ran")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	// Stop gives the handler its time, says it left an event unhandled, then ends its ctx.
	if err := e.rt.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "dispatcher") ||
		strings.Contains(err.Error(), "still running") {
		t.Errorf("Stop: %v, want the handler's unhandled event reported", err)
	}
	select {
	case err := <-reported:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("reported %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the handler's ctx did not end with Stop")
	}
}

// RTM messages route by text too, and the RTM bot's own messages (its user) are dropped.
func TestRTMMessagesRouteAndIgnoreSelf(t *testing.T) {
	t.Parallel()
	e := newAppEnv(t, 1)
	def, all := &recorder{}, &recorder{}
	for _, reg := range []struct {
		rec  *recorder
		opts []switchboard.SubscribeOption
	}{{def, nil}, {all, []switchboard.SubscribeOption{switchboard.IncludeSelf()}}} {
		rec := reg.rec
		if err := e.rt.OnMessage("hi", func(_ context.Context, ev *switchboard.Event) error {
			rec.add(ev.Text())
			return nil
		}, reg.opts...); err != nil {
			t.Fatal(err)
		}
	}
	ws := e.ws[0]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.rt.AddWorkspace(ctx, switchboard.Workspace{Team: ws.TeamID, Token: ws.ClassicBotToken}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the RTM socket", func() bool { return len(e.srv.Connections(ws.TeamID)) > 0 })
	ch := ws.Channels[0].ID
	for _, m := range []fakeslack.RTMMessage{
		{Channel: ch, User: ws.BotUserID, Text: "hi from the bot"},
		{Channel: ch, Text: "no greeting"},
		{Channel: ch, Text: "hi from a person"},
	} {
		if _, err := e.srv.InjectRTMMessage(ws.TeamID, m); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "the person's greeting", func() bool { return def.has("hi from a person") && all.has("hi from a person") })
	if got := def.list(); !slices.Equal(got, []string{"hi from a person"}) {
		t.Errorf("default subscription got %v", got)
	}
	if got := all.list(); !slices.Equal(got, []string{"hi from the bot", "hi from a person"}) {
		t.Errorf("IncludeSelf subscription got %v", got)
	}
}
