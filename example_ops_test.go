package switchboard_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/messages"
)

// exampleBot is a stand-in with two workspaces and one app, and a runtime pointed at it; subscribe
// before calling connect, which adds the app and waits for its connections.
type exampleBot struct {
	srv       *fakeslack.Server
	rt        *switchboard.Runtime
	app       fakeslack.App
	ws        fakeslack.Workspace
	connected chan struct{}
}

func newExampleBot() *exampleBot {
	srv, err := fakeslack.New(fakeslack.Options{Workspaces: 2})
	if err != nil {
		panic(err)
	}
	rt, err := switchboard.New(switchboard.WithAPIURL(srv.APIURL()))
	if err != nil {
		panic(err)
	}
	b := &exampleBot{srv: srv, rt: rt, app: srv.Apps()[0], ws: srv.Workspaces()[0], connected: make(chan struct{}, 10)}
	_ = rt.OnLifecycle(func(ev messages.Lifecycle) {
		if _, ok := ev.(messages.Connected); ok {
			b.connected <- struct{}{}
		}
	}, switchboard.Named("example-connected"))
	return b
}

func (b *exampleBot) connect(conns int) {
	inst := switchboard.Installations{}
	for _, ws := range b.srv.Workspaces() {
		inst[ws.TeamID] = ws.BotToken
	}
	if err := b.rt.AddApp(context.Background(), switchboard.App{ID: b.app.AppID, Token: b.app.AppToken, Connections: conns, Installations: inst}); err != nil {
		panic(err)
	}
	for range conns {
		<-b.connected
	}
}

func (b *exampleBot) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = b.rt.Stop(ctx)
	_ = b.srv.Close()
}

// Handle takes any filter: here, messages in one channel only, whichever their workspace.
func ExampleRuntime_Handle() {
	b := newExampleBot()
	defer b.stop()
	channel := b.ws.Channels[1].ID
	seen := make(chan string, 10)
	_ = b.rt.Handle(switchboard.Filter{Types: []string{"message"}, Channels: []string{channel}},
		func(_ context.Context, ev *switchboard.Event) error { seen <- ev.Channel; return nil })
	b.connect(1)
	for _, ch := range []string{b.ws.Channels[0].ID, channel} {
		_, _ = b.srv.InjectMessages(context.Background(), b.app.AppID, fakeslack.MessageStream{Team: b.ws.TeamID, Channel: ch, TextPrefix: "hi ", Count: 2})
	}
	fmt.Println(<-seen == channel, <-seen == channel)
	// Output: true true
}

// A slash command answered in its ack: the user sees the text without a Web API call.
func ExampleRuntime_OnCommand() {
	b := newExampleBot()
	defer b.stop()
	_ = b.rt.OnCommand("/deploy", func(_ context.Context, ev *switchboard.Event) error {
		cmd, err := ev.SlashCommand()
		if err != nil {
			return err
		}
		return ev.Respond(map[string]string{"response_type": "ephemeral", "text": "deploying " + cmd.Text})
	})
	b.connect(1)
	inj, _ := b.srv.InjectSlashCommand(b.app.AppID, fakeslack.SlashCommand{Team: b.ws.TeamID, Command: "/deploy", Text: "api"})
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if p, ok := b.srv.AckPayload(inj.EnvelopeID); ok {
			fmt.Println(string(p))
			break
		}
	}
	// Output: {"response_type":"ephemeral","text":"deploying api"}
}

// An interaction: a view submission answered in the ack with a response_action.
func ExampleRuntime_OnInteraction() {
	b := newExampleBot()
	defer b.stop()
	_ = b.rt.OnInteraction("view_submission", func(_ context.Context, ev *switchboard.Event) error {
		in, err := ev.Interaction()
		if err != nil {
			return err
		}
		return ev.Respond(map[string]any{"response_action": "errors",
			"errors": map[string]string{"title": "callback " + in.View.CallbackID + " needs a title"}})
	})
	b.connect(1)
	inj, _ := b.srv.InjectInteraction(b.app.AppID, fakeslack.Interaction{Team: b.ws.TeamID, Type: "view_submission", CallbackID: "new-ticket"})
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if p, ok := b.srv.AckPayload(inj.EnvelopeID); ok {
			fmt.Println(string(p))
			break
		}
	}
	// Output: {"errors":{"title":"callback new-ticket needs a title"},"response_action":"errors"}
}

// Lifecycle events tell a link's story: here a socket dropped and came back.
func ExampleRuntime_OnLifecycle() {
	b := newExampleBot()
	defer b.stop()
	events := make(chan messages.Lifecycle, 20)
	_ = b.rt.OnLifecycle(func(ev messages.Lifecycle) { events <- ev })
	b.connect(1)
	_ = b.srv.DropConnection(b.srv.Connections(b.app.AppID)[0].ID, false)
	for ev := range events {
		switch e := ev.(type) {
		case messages.Reconnecting:
			var se *messages.SocketError
			if errors.As(e.Cause, &se) {
				fmt.Println("reconnecting after a", se.Op, "error")
			}
		case messages.Connected:
			fmt.Println("connected, session", e.Session > 0)
			if e.Attempt > 0 {
				return
			}
		}
	}
	// Output:
	// connected, session true
	// reconnecting after a read error
	// connected, session true
}

// counter is a protoactor-go actor; with PerChannel there is one per channel, spawned on the
// channel's first event.
type counter struct {
	n   int
	out chan string
}

func (c *counter) Receive(ctx actor.Context) {
	if ev, ok := ctx.Message().(*switchboard.Event); ok {
		c.n++
		if c.n == 3 {
			c.out <- ev.Channel
		}
	}
}

// Subscribe sends events to your own actors: here one counting actor per channel.
func ExampleRuntime_Subscribe() {
	b := newExampleBot()
	defer b.stop()
	done := make(chan string, 4)
	_ = b.rt.Subscribe(switchboard.Filter{Types: []string{"message"}},
		actor.PropsFromProducer(func() actor.Actor { return &counter{out: done} }),
		switchboard.PerChannel(time.Minute))
	b.connect(1)
	for _, ch := range b.ws.Channels {
		_, _ = b.srv.InjectMessages(context.Background(), b.app.AppID, fakeslack.MessageStream{Team: b.ws.TeamID, Channel: ch.ID, TextPrefix: "m", Count: 3})
	}
	got := []string{<-done, <-done}
	sort.Strings(got)
	fmt.Println(got[0] == b.ws.Channels[0].ID || got[0] == b.ws.Channels[1].ID, got[0] != got[1])
	// Output: true true
}

// Run blocks until its context ends (SIGTERM in a real program), then stops gracefully.
func ExampleRuntime_Run() {
	b := newExampleBot()
	defer b.srv.Close()
	b.connect(2)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond) // stands in for the signal
	defer cancel()
	err := b.rt.Run(ctx, 5*time.Second)
	fmt.Println(err, len(b.srv.Connections(b.app.AppID)))
	// Output: <nil> 0
}

// Status is a snapshot of every link.
func ExampleRuntime_Status() {
	b := newExampleBot()
	defer b.stop()
	b.connect(2)
	st := b.rt.Status()
	sort.Slice(st, func(i, j int) bool { return st[i].Link.Name < st[j].Link.Name })
	for _, s := range st {
		fmt.Println(s.Link.Name == b.app.AppID+"/1" || s.Link.Name == b.app.AppID+"/2", s.Link.Transport, s.State, s.Reconnects)
	}
	// Output:
	// true socketmode connected 0
	// true socketmode connected 0
}

// OnAck reports each ack's latency, from reading the envelope to writing its ack: feed it to a
// histogram.
func ExampleRuntime_OnAck() {
	b := newExampleBot()
	defer b.stop()
	acks := make(chan time.Duration, 10)
	b.rt.OnAck(func(latency time.Duration) { acks <- latency })
	b.connect(1)
	_, _ = b.srv.InjectMessages(context.Background(), b.app.AppID, fakeslack.MessageStream{Team: b.ws.TeamID, Channel: b.ws.Channels[0].ID, TextPrefix: "m", Count: 1})
	l := <-acks
	fmt.Println(l > 0 && l < 3*time.Second)
	// Output: true
}

// SubscriberStats shows each subscription's queue: a deep queue means a slow handler.
func ExampleRuntime_SubscriberStats() {
	b := newExampleBot()
	defer b.stop()
	_ = b.rt.OnEvent("message", func(context.Context, *switchboard.Event) error { return nil })
	stats, _ := b.rt.SubscriberStats(context.Background())
	for _, s := range stats {
		fmt.Println(s.Name, s.Queued, s.Dropped)
	}
	// Output:
	// example-connected 0 0
	// sub-1 0 0
}
