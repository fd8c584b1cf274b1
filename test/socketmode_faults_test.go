package test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slackevents"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/messages"
)

// fastRetries makes fakeslack redeliver unacked events within a fraction of a second.
func fastRetries() fakeslack.Options {
	return fakeslack.Options{SocketMode: fakeslack.SocketModeOptions{
		AckTimeout:  300 * time.Millisecond,
		RetryDelays: []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond},
	}}
}

// textCounter counts, per message text, how many times handlers saw it.
type textCounter struct {
	mu   sync.Mutex
	seen map[string]int
}

func newTextCounter() *textCounter { return &textCounter{seen: map[string]int{}} }

func (c *textCounter) handle(_ context.Context, ev *switchboard.Event) error {
	e, err := ev.EventsAPI()
	if err != nil {
		return nil
	}
	if m, ok := e.InnerEvent.Data.(*slackevents.MessageEvent); ok {
		c.mu.Lock()
		c.seen[m.Text]++
		c.mu.Unlock()
	}
	return nil
}

func (c *textCounter) distinct() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

// exactlyOnce fails the test unless each of "prefix 1" … "prefix n" was seen exactly once.
func (c *textCounter) exactlyOnce(t *testing.T, prefix string, n int) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var missing, twice []string
	for i := 1; i <= n; i++ {
		switch k := fmt.Sprintf("%s%d", prefix, i); c.seen[k] {
		case 1:
		case 0:
			missing = append(missing, k)
		default:
			twice = append(twice, k)
		}
	}
	if len(missing) > 0 || len(twice) > 0 {
		t.Errorf("lost %d %v, delivered more than once %d %v", len(missing), head(missing), len(twice), head(twice))
	}
}

func head(s []string) []string {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}

func (h *harness) conns(app string) []fakeslack.ConnInfo { return h.srv.Connections(app) }

func (h *harness) onlyConn(app string) fakeslack.ConnInfo {
	h.t.Helper()
	var cs []fakeslack.ConnInfo
	waitFor(h.t, 5*time.Second, "one open socket", func() bool { cs = h.conns(app); return len(cs) == 1 })
	return cs[0]
}

func isReconnecting(ev messages.Lifecycle) bool { _, ok := ev.(messages.Reconnecting); return ok }
func isConnected(ev messages.Lifecycle) bool    { _, ok := ev.(messages.Connected); return ok }

func TestAbruptDropLosesNothingAndDuplicatesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fastRetries())
	c := newTextCounter()
	if err := h.rt.OnEvent("message", c.handle); err != nil {
		t.Fatal(err)
	}
	app := h.addApp(1)
	h.awaitConnected(1, 5*time.Second)
	ws := h.srv.Workspaces()[0]
	inject := func(prefix string, n int) {
		if _, err := h.srv.InjectMessages(context.Background(), app.ID, fakeslack.MessageStream{Team: ws.TeamID, Channel: ws.Channels[0].ID, TextPrefix: prefix, Count: n}); err != nil {
			t.Error(err)
		}
	}
	inject("before ", 300)
	if err := h.srv.DropConnection(h.onlyConn(app.ID).ID, false); err != nil {
		t.Fatal(err)
	}
	inject("during ", 300) // queued by the server while no socket is open, or sent to the dying one
	h.await(5*time.Second, "reconnecting", isReconnecting)
	h.await(5*time.Second, "connected again", isConnected)
	inject("after ", 300)
	waitFor(t, 15*time.Second, "900 distinct events", func() bool { return c.distinct() == 900 })
	waitFor(t, 5*time.Second, "server has nothing pending", func() bool {
		st := h.srv.Stats()
		return st.Acked+st.Unacked >= 900
	})
	for _, p := range []string{"before ", "during ", "after "} {
		c.exactlyOnce(t, p, 300)
	}
	if st := h.srv.Stats(); st.Unacked != 0 {
		t.Errorf("server gave up on %d events", st.Unacked)
	}
}

func TestSilentServerEndsSessionAsStale(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fastRetries(), switchboard.WithKeepalive(50*time.Millisecond, 400*time.Millisecond))
	c := newTextCounter()
	if err := h.rt.OnEvent("message", c.handle); err != nil {
		t.Fatal(err)
	}
	app := h.addApp(1)
	h.awaitConnected(1, 5*time.Second)
	if err := h.srv.SilenceConnection(h.onlyConn(app.ID).ID); err != nil {
		t.Fatal(err)
	}
	ws := h.srv.Workspaces()[0]
	if _, err := h.srv.InjectMessages(context.Background(), app.ID, fakeslack.MessageStream{Team: ws.TeamID, Channel: ws.Channels[0].ID, TextPrefix: "m", Count: 50}); err != nil {
		t.Fatal(err)
	}
	ev := h.await(5*time.Second, "reconnecting", isReconnecting).(messages.Reconnecting)
	if !errors.Is(ev.Cause, messages.ErrStale) {
		t.Errorf("cause = %v, want ErrStale", ev.Cause)
	}
	h.await(5*time.Second, "connected again", isConnected)
	waitFor(t, 10*time.Second, "swallowed events redelivered", func() bool { return c.distinct() == 50 })
	c.exactlyOnce(t, "m", 50)
}

func TestRefreshMakesBeforeBreak(t *testing.T) {
	t.Parallel()
	o := fastRetries()
	o.SocketMode.CloseGrace = 500 * time.Millisecond
	h := newHarness(t, o)
	c := newTextCounter()
	if err := h.rt.OnEvent("message", c.handle); err != nil {
		t.Fatal(err)
	}
	app := h.addApp(2)
	h.awaitConnected(2, 5*time.Second)
	// A past failure must not make the refresh look like a reconnect.
	if err := h.srv.DropConnection(h.conns(app.ID)[0].ID, false); err != nil {
		t.Fatal(err)
	}
	h.await(5*time.Second, "reconnecting after the drop", isReconnecting)
	h.await(5*time.Second, "connected after the drop", isConnected)
	var old fakeslack.ConnInfo
	waitFor(t, 5*time.Second, "two sockets", func() bool { cs := h.conns(app.ID); old = cs[0]; return len(cs) == 2 })
	if err := h.srv.RefreshConnection(old.ID, true); err != nil {
		t.Fatal(err)
	}
	// The replacement says hello while the old socket is still open: three sockets at once.
	waitFor(t, 5*time.Second, "replacement opened before the old socket closed", func() bool { return len(h.conns(app.ID)) == 3 })
	if ev := h.await(5*time.Second, "replacement connected", func(ev messages.Lifecycle) bool {
		return isConnected(ev) || isReconnecting(ev)
	}); isReconnecting(ev) {
		t.Errorf("a refresh published %v: make before break is no reconnect", ev)
	}
	waitFor(t, 10*time.Second, "old socket gone", func() bool {
		for _, ci := range h.conns(app.ID) {
			if ci.ID == old.ID {
				return false
			}
		}
		return len(h.conns(app.ID)) == 2
	})
	ws := h.srv.Workspaces()[0]
	if _, err := h.srv.InjectMessages(context.Background(), app.ID, fakeslack.MessageStream{Team: ws.TeamID, Channel: ws.Channels[0].ID, TextPrefix: "m", Count: 100}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "events after refresh", func() bool { return c.distinct() == 100 })
	for len(h.events) > 0 {
		if ev := <-h.events; isReconnecting(ev) {
			t.Errorf("a refresh published %v", ev)
		}
	}
	c.exactlyOnce(t, "m", 100)
	for _, st := range h.rt.Status() {
		if st.State != switchboard.StateConnected {
			t.Errorf("%s is %s after refresh", st.Link, st.State)
		}
	}
}

func TestTooManyWebsocketsBacksOffWithGrowingCappedDelays(t *testing.T) {
	t.Parallel()
	o := fakeslack.Options{SocketMode: fakeslack.SocketModeOptions{MaxConnections: 2}}
	h := newHarness(t, o, switchboard.WithBackoff(40*time.Millisecond, 160*time.Millisecond, time.Minute))
	h.addApp(3)
	var causes []error
	var delays []time.Duration
	for len(delays) < 6 {
		ev := h.await(10*time.Second, "reconnecting", isReconnecting).(messages.Reconnecting)
		causes = append(causes, ev.Cause)
		delays = append(delays, ev.Delay)
		if ev.Attempt != len(delays) {
			t.Errorf("attempt %d, want %d", ev.Attempt, len(delays))
		}
	}
	for i, err := range causes {
		if !errors.Is(err, messages.ErrTooManyWebsockets) {
			t.Errorf("cause %d = %v, want too_many_websockets", i, err)
		}
		if delays[i] > 160*time.Millisecond {
			t.Errorf("delay %d = %v over the 160ms cap", i, delays[i])
		}
	}
	connected := 0
	for _, st := range h.rt.Status() {
		if st.State == switchboard.StateConnected {
			connected++
		}
	}
	if connected != 2 {
		t.Errorf("%d links connected, want the 2 the server allows", connected)
	}
}

func TestRateLimitedOpenWaitsRetryAfter(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeslack.Options{})
	app := h.app(1)
	h.srv.RefuseOpens(app.ID, 1, "ratelimited", time.Second)
	if err := h.rt.AddApp(context.Background(), app); err != nil {
		t.Fatal(err)
	}
	ev := h.await(5*time.Second, "reconnecting", isReconnecting).(messages.Reconnecting)
	if ev.Delay < time.Second {
		t.Errorf("delay %v shorter than Retry-After 1s", ev.Delay)
	}
	if messages.RetryAfter(ev.Cause) != time.Second || !errors.Is(ev.Cause, messages.ErrRateLimited) {
		t.Errorf("cause = %v", ev.Cause)
	}
	start := time.Now()
	h.await(5*time.Second, "connected", isConnected)
	if waited := time.Since(start); waited < 900*time.Millisecond {
		t.Errorf("connected after %v, before Retry-After", waited)
	}
}

func awaitFatal(h *harness, code messages.Code) messages.Fatal {
	h.t.Helper()
	ev := h.await(10*time.Second, "fatal", func(ev messages.Lifecycle) bool { _, ok := ev.(messages.Fatal); return ok }).(messages.Fatal)
	if !errors.Is(ev.Error, code) {
		h.t.Errorf("fatal error = %v, want %s", ev.Error, code)
	}
	if ev.Advice == "" {
		h.t.Error("fatal has no advice")
	}
	waitFor(h.t, 5*time.Second, "status fatal", func() bool {
		st := h.rt.Status()
		return len(st) == 1 && st[0].State == switchboard.StateFatal && strings.Contains(st[0].LastError, string(code))
	})
	return ev
}

func TestRevokedTokenStopsTheLink(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeslack.Options{})
	app := h.addApp(1)
	h.awaitConnected(1, 5*time.Second)
	h.srv.RevokeToken(app.Token)
	awaitFatal(h, messages.ErrTokenRevoked)
	// The fatal link closes its socket; the server sees the close a moment later.
	waitFor(t, 5*time.Second, "the fatal link's socket closed", func() bool { return len(h.conns(app.ID)) == 0 })
}

func TestLinkDisabledStopsTheLink(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeslack.Options{})
	app := h.addApp(1)
	h.awaitConnected(1, 5*time.Second)
	if err := h.srv.DisableSocketMode(app.ID); err != nil {
		t.Fatal(err)
	}
	ev := awaitFatal(h, messages.ErrLinkDisabled)
	if !strings.Contains(ev.Advice, "Socket Mode") {
		t.Errorf("advice %q does not say what to turn on", ev.Advice)
	}
}

func TestWrongTokenKindIsRefusedUpFront(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeslack.Options{})
	app := h.app(1)
	app.Token = h.srv.Workspaces()[0].BotToken
	if err := h.rt.AddApp(context.Background(), app); err == nil || !strings.Contains(err.Error(), "xapp-") {
		t.Errorf("AddApp with a bot token: %v, want an error naming xapp-", err)
	}
	app.Token, app.Connections = h.srv.Apps()[0].AppToken, 11
	if err := h.rt.AddApp(context.Background(), app); err == nil {
		t.Error("AddApp with 11 connections succeeded")
	}
}

func TestSlowAndPanickingHandlersDelayNothingElse(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeslack.Options{})
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // runs before the harness stops the runtime
	var slowGot, panicked int
	var mu sync.Mutex
	if err := h.rt.OnEvent("message", func(context.Context, *switchboard.Event) error {
		mu.Lock()
		slowGot++
		mu.Unlock()
		<-release
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := h.rt.OnEvent("message", func(context.Context, *switchboard.Event) error {
		mu.Lock()
		panicked++
		mu.Unlock()
		panic("handler bug")
	}); err != nil {
		t.Fatal(err)
	}
	fast := newTextCounter()
	if err := h.rt.OnEvent("message", fast.handle); err != nil {
		t.Fatal(err)
	}
	app := h.addApp(1)
	h.awaitConnected(1, 5*time.Second)
	ws := h.srv.Workspaces()[0]
	if _, err := h.srv.InjectMessages(context.Background(), app.ID, fakeslack.MessageStream{Team: ws.TeamID, Channel: ws.Channels[0].ID, TextPrefix: "m", Count: 100}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "fast handler saw everything", func() bool { return fast.distinct() == 100 })
	waitFor(t, 20*time.Second, "every event acked", func() bool { return h.srv.Stats().Acked == 100 })
	waitFor(t, 20*time.Second, "the panicking handler restarted for each event", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return panicked == 100
	})
	mu.Lock()
	if slowGot != 1 {
		t.Errorf("slow handler entered %d times while blocked, want 1", slowGot)
	}
	mu.Unlock()
	// The supervisor counts a panic after the handler's own count: wait for it too.
	waitFor(t, 20*time.Second, "100 handler panics counted", func() bool { return h.rt.Stats().HandlerPanics == 100 })
	if st := h.srv.Stats(); st.Redelivered != 0 {
		t.Errorf("%d redeliveries: acks were late", st.Redelivered)
	}
}
