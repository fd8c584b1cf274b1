package test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/slack-go/slack/slackevents"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/messages"
)

func injectN(t *testing.T, h *harness, app, team, channel, prefix string, n int) {
	t.Helper()
	if _, err := h.srv.InjectMessages(context.Background(), app, fakeslack.MessageStream{Team: team, Channel: channel, TextPrefix: prefix, Count: n}); err != nil {
		t.Fatal(err)
	}
}

// channelActor is a user subscriber actor: it counts its incarnations and the events it got.
type channelActor struct {
	started *atomic.Int32
	got     *sync.Map // channel → *atomic.Int32
	block   <-chan struct{}
	blockOn string
}

func (a *channelActor) Receive(ctx actor.Context) {
	switch ev := ctx.Message().(type) {
	case *actor.Started:
		a.started.Add(1)
	case *messages.Event:
		n, _ := a.got.LoadOrStore(ev.Channel, &atomic.Int32{})
		n.(*atomic.Int32).Add(1)
		if ev.Channel == a.blockOn {
			<-a.block
		}
	}
}

func TestPerChannelActorsRunApartAndStopWhenIdle(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeslack.Options{})
	var started atomic.Int32
	got := &sync.Map{}
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	ws := h.srv.Workspaces()[0]
	chA, chB := ws.Channels[0].ID, ws.Channels[1].ID
	props := actor.PropsFromProducer(func() actor.Actor {
		return &channelActor{started: &started, got: got, block: block, blockOn: chA}
	})
	if err := h.rt.Subscribe(switchboard.Filter{Types: []string{"message"}}, props, switchboard.PerChannel(300*time.Millisecond), switchboard.Named("per-channel")); err != nil {
		t.Fatal(err)
	}
	app := h.addApp(1)
	h.awaitConnected(1, 5*time.Second)
	injectN(t, h, app.ID, ws.TeamID, chA, "a", 5) // the channel A actor blocks on its first event
	injectN(t, h, app.ID, ws.TeamID, chB, "b", 20)
	count := func(ch string) int32 {
		n, ok := got.Load(ch)
		if !ok {
			return 0
		}
		return n.(*atomic.Int32).Load()
	}
	waitFor(t, 5*time.Second, "channel B handled while A is blocked", func() bool { return count(chB) == 20 })
	if count(chA) != 1 {
		t.Errorf("channel A actor handled %d, want 1 (blocked)", count(chA))
	}
	if n := started.Load(); n != 2 {
		t.Errorf("%d actors started, want one per channel", n)
	}
	// B's actor goes idle and stops; a new event for B starts a new one.
	waitFor(t, 5*time.Second, "channel B's idle actor stopped", func() bool {
		st, err := h.rt.SubscriberStats(context.Background())
		for _, s := range st {
			if s.Name == "per-channel" {
				return err == nil && s.Keys == 1 // A's, blocked
			}
		}
		return false
	})
	injectN(t, h, app.ID, ws.TeamID, chB, "b2-", 1)
	waitFor(t, 5*time.Second, "a new channel B actor", func() bool { return started.Load() == 3 && count(chB) == 21 })
}

func TestQueueOverflowPolicies(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		policy switchboard.Overflow
		want   []string // after the blocked first event, what the handler sees
	}{
		{switchboard.DropNewest, []string{"m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9", "m10"}},
		{switchboard.DropOldest, []string{"m40", "m41", "m42", "m43", "m44", "m45", "m46", "m47", "m48", "m49"}},
	} {
		t.Run(tt.policy.String(), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, fakeslack.Options{})
			release := make(chan struct{})
			var mu sync.Mutex
			var seen []string
			if err := h.rt.Handle(switchboard.Filter{Types: []string{"message"}}, func(_ context.Context, ev *switchboard.Event) error {
				mu.Lock()
				seen = append(seen, textOf(t, ev))
				first := len(seen) == 1
				mu.Unlock()
				if first {
					<-release
				}
				return nil
			}, switchboard.Queue(10, tt.policy)); err != nil {
				t.Fatal(err)
			}
			app := h.addApp(1)
			h.awaitConnected(1, 5*time.Second)
			ws := h.srv.Workspaces()[0]
			injectN(t, h, app.ID, ws.TeamID, ws.Channels[0].ID, "first", 1)
			waitFor(t, 5*time.Second, "handler blocked on the first event", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(seen) == 1
			})
			injectN(t, h, app.ID, ws.TeamID, ws.Channels[0].ID, "m", 49)
			waitFor(t, 5*time.Second, "overflow counted", func() bool { return h.rt.Stats().Dropped == 39 })
			close(release)
			waitFor(t, 5*time.Second, "queue drained", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(seen) == 11
			})
			mu.Lock()
			defer mu.Unlock()
			if got := strings.Join(seen[1:], " "); got != strings.Join(tt.want, " ") {
				t.Errorf("handled %s, want %s", got, strings.Join(tt.want, " "))
			}
		})
	}
}

func TestAckAfterHandlers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeslack.Options{}, switchboard.WithAckAfterHandlers())
	release := make(chan struct{})
	if err := h.rt.OnEvent("message", func(context.Context, *switchboard.Event) error { <-release; return nil }); err != nil {
		t.Fatal(err)
	}
	app := h.addApp(1)
	h.awaitConnected(1, 5*time.Second)
	ws := h.srv.Workspaces()[0]
	injectN(t, h, app.ID, ws.TeamID, ws.Channels[0].ID, "m", 1)
	waitFor(t, 5*time.Second, "delivered", func() bool { return h.srv.Stats().Delivered == 1 })
	time.Sleep(200 * time.Millisecond) // an ack would have arrived by now; absence cannot be awaited
	if n := h.srv.Stats().Acked; n != 0 {
		t.Fatalf("acked %d before the handler finished", n)
	}
	close(release)
	waitFor(t, 5*time.Second, "acked after the handler", func() bool { return h.srv.Stats().Acked == 1 })
}

func TestResponseDeadlineSendsEmptyAck(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeslack.Options{}, switchboard.WithResponseDeadline(200*time.Millisecond))
	late := make(chan error, 1)
	tooBig := make(chan error, 1)
	if err := h.rt.OnCommand("/slow", func(_ context.Context, ev *switchboard.Event) error {
		tooBig <- ev.Respond(map[string]string{"text": strings.Repeat("x", messages.MaxResponseSize)})
		// Respond only once the deadline's empty ack has reached the server.
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if _, acked := h.srv.AckPayload(ev.EnvelopeID); acked {
				break
			}
		}
		late <- ev.Respond(map[string]string{"text": "too late"})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	app := h.addApp(1)
	h.awaitConnected(1, 5*time.Second)
	inj, err := h.srv.InjectSlashCommand(app.ID, fakeslack.SlashCommand{Team: h.srv.Workspaces()[0].TeamID, Command: "/slow"})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-tooBig; !errors.Is(err, messages.ErrResponseTooLarge) {
		t.Errorf("oversized response: %v, want ErrResponseTooLarge", err)
	}
	if err := <-late; !errors.Is(err, messages.ErrAlreadyAcked) {
		t.Errorf("late response: %v, want ErrAlreadyAcked", err)
	}
	payload, ok := h.srv.AckPayload(inj.EnvelopeID)
	if !ok || payload != nil {
		t.Errorf("ack = %s, %v; want an empty ack in time", payload, ok)
	}
	if n := h.rt.Stats().ResponseTimeouts; n != 1 {
		t.Errorf("ResponseTimeouts = %d", n)
	}
}

func TestAddAndRemoveAppsLive(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeslack.Options{Apps: 2})
	apps := h.srv.Apps()
	for _, a := range apps {
		if err := h.rt.AddApp(context.Background(), switchboard.App{ID: a.AppID, Token: a.AppToken, Connections: 2}); err != nil {
			t.Fatal(err)
		}
	}
	h.awaitConnected(4, 5*time.Second)
	if err := h.rt.AddApp(context.Background(), switchboard.App{ID: apps[0].AppID, Token: apps[0].AppToken}); err == nil {
		t.Error("adding an app twice succeeded")
	}
	if err := h.rt.RemoveApp(context.Background(), apps[0].AppID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "removed app's sockets closed", func() bool { return len(h.srv.Connections(apps[0].AppID)) == 0 })
	st := h.rt.Status()
	if len(st) != 2 {
		t.Fatalf("status lists %d links, want 2", len(st))
	}
	for _, s := range st {
		if s.Link.App != apps[1].AppID || s.State != switchboard.StateConnected || s.Session == 0 || s.ConnectedAt.IsZero() {
			t.Errorf("status %+v", s)
		}
	}
	if err := h.rt.RemoveApp(context.Background(), apps[0].AppID); err == nil {
		t.Error("removing a removed app succeeded")
	}
}

func TestLogsNeverHoldSecrets(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeslack.Options{})
	app := h.addApp(1)
	h.awaitConnected(1, 5*time.Second)
	if err := h.srv.DropConnection(h.onlyConn(app.ID).ID, false); err != nil {
		t.Fatal(err)
	}
	h.await(5*time.Second, "reconnected", isConnected)
	h.srv.RevokeToken(app.Token)
	awaitFatal(h, messages.ErrTokenRevoked)
	logs := h.logs.String()
	if !strings.Contains(logs, "token_revoked") {
		t.Fatalf("logs do not show the failure at all:\n%s", logs)
	}
	secret := app.Token[strings.Index(app.Token, "-")+1:]
	for _, s := range []string{secret, "ticket="} {
		if strings.Contains(logs, s) {
			t.Errorf("logs hold %q", s)
		}
	}
}

// textOf returns a message event's text.
func textOf(t *testing.T, ev *switchboard.Event) string {
	t.Helper()
	e, err := ev.EventsAPI()
	if err != nil {
		t.Errorf("decode: %v", err)
		return ""
	}
	m, ok := e.InnerEvent.Data.(*slackevents.MessageEvent)
	if !ok {
		t.Errorf("event is %T", e.InnerEvent.Data)
		return ""
	}
	return m.Text
}

// slowActor handles each event slowly, so a key's subscriber is idle-checked while busy.
type slowActor struct{ handled *atomic.Int32 }

func (a *slowActor) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*messages.Event); ok {
		time.Sleep(10 * time.Millisecond) // the work itself, not a wait for state
		a.handled.Add(1)
	}
}

func TestIdleKeyIsNotStoppedWhileBusy(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeslack.Options{})
	var handled atomic.Int32
	props := actor.PropsFromProducer(func() actor.Actor { return &slowActor{handled: &handled} })
	if err := h.rt.Subscribe(switchboard.Filter{Types: []string{"message"}}, props, switchboard.PerChannel(2*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	app := h.addApp(1)
	h.awaitConnected(1, 5*time.Second)
	ws := h.srv.Workspaces()[0]
	for round := 0; round < 5; round++ { // each round ends with the key's last event in flight
		injectN(t, h, app.ID, ws.TeamID, ws.Channels[0].ID, fmt.Sprintf("r%d-", round), 5)
		want := int32(5 * (round + 1))
		waitFor(t, 5*time.Second, fmt.Sprintf("round %d handled", round), func() bool { return handled.Load() == want })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.rt.Stop(ctx); err != nil {
		t.Errorf("Stop: %v", err)
	}
}
