package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/messages"
)

// hostedEnv runs a real dispatcher with one hosted PerChannel subscription "conv" whose handler
// reports each event and then waits for release (when release is not nil).
func hostedEnv(t *testing.T, release chan struct{}) (*Env, chan string) {
	t.Helper()
	env := testEnv(t)
	system := env.System
	env.Dispatcher = system.Root.Spawn(DispatcherProps(env, 100))
	t.Cleanup(func() { _ = system.Root.PoisonFuture(env.Dispatcher).Wait() })
	handled := make(chan string, 16)
	reply := NewReply()
	system.Root.Send(env.Dispatcher, Subscribe{Reply: reply, Spec: SubscriberSpec{Name: "conv", KeyBy: KeyChannel, Hosted: true,
		Handler: func(_ context.Context, ev *messages.Event) error {
			handled <- ev.Channel + " " + ev.EventID
			if release != nil {
				<-release
			}
			return nil
		}}})
	if err := (<-reply); err != nil {
		t.Fatal(err)
	}
	return env, handled
}

func hostedEvent(id, channel string) Forwarded {
	return Forwarded{Subscription: "conv", Event: &messages.Event{Kind: messages.KindEventsAPI, Type: "message", Team: "T1",
		Channel: channel, EventID: id, Link: messages.Link{Transport: messages.SocketMode, App: "A1", Name: "A1/1"}}}
}

func dispatchHosted(env *Env, f Forwarded) chan error {
	done := make(chan error, 2)
	DispatchHosted(env, f, func(err error) { done <- err })
	return done
}

func await[T any](t *testing.T, c chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s", what)
		panic("unreachable")
	}
}

// A hosted subscription takes only the events forwarded to it by name: it answers each once it is
// queued, drops a second copy of an event (a redelivery read by another member), refuses an
// unknown subscription, and takes nothing from the dispatcher's routing.
func TestDispatchHosted(t *testing.T) {
	env, handled := hostedEnv(t, nil)
	if err := await(t, dispatchHosted(env, hostedEvent("Ev1", "C1")), "answer"); err != nil {
		t.Fatalf("first copy: %v", err)
	}
	if got := await(t, handled, "handler"); got != "C1 Ev1" {
		t.Fatalf("handled %q", got)
	}
	if err := await(t, dispatchHosted(env, hostedEvent("Ev1", "C1")), "answer"); err != nil {
		t.Fatalf("second copy: %v", err)
	}
	f := hostedEvent("Ev2", "C1")
	f.Subscription = "other"
	if err := await(t, dispatchHosted(env, f), "answer"); !errors.Is(err, ErrNotHosted) {
		t.Fatalf("unknown subscription: %v, want ErrNotHosted", err)
	}
	ev := &messages.Event{Kind: messages.KindEventsAPI, Type: "message", Team: "T1", Channel: "C1", EventID: "Ev3",
		Link: messages.Link{Transport: messages.SocketMode, App: "A1", Name: "A1/1"}}
	d := &Dispatch{Event: ev}
	env.send(env.Dispatcher, d)
	if err := await(t, dispatchHosted(env, hostedEvent("Ev4", "C1")), "answer"); err != nil {
		t.Fatal(err)
	}
	if got := await(t, handled, "handler"); got != "C1 Ev4" {
		t.Fatalf("handled %q after a routed event and Ev4: the hosted subscription took the routed one, or the duplicate", got)
	}
	if n := env.Stats.Duplicates.Load(); n != 1 {
		t.Errorf("Duplicates = %d, want 1", n)
	}
	// Removing the app frees its hosted windows too: Ev1 is new again.
	env.send(env.Dispatcher, ForgetApp{App: "A1"})
	if err := await(t, dispatchHosted(env, hostedEvent("Ev1", "C1")), "answer"); err != nil {
		t.Fatal(err)
	}
	if got := await(t, handled, "handler"); got != "C1 Ev1" {
		t.Fatalf("handled %q after ForgetApp, want Ev1 again", got)
	}
}

// With AfterHandlers the answer waits for the handler; KeyIdle says busy until then, for that key
// only.
func TestDispatchHostedAfterHandlers(t *testing.T) {
	release := make(chan struct{})
	env, handled := hostedEnv(t, release)
	f := hostedEvent("Ev1", "C1")
	f.AfterHandlers = true
	done := dispatchHosted(env, f)
	await(t, handled, "handler")
	idle := func(key string) bool {
		c := make(chan bool, 1)
		KeyIdle(env, "conv", key, func(b bool) { c <- b })
		return await(t, c, "KeyIdle")
	}
	if idle("T1/C1") {
		t.Error("KeyIdle: the key is idle while its handler runs")
	}
	if !idle("T1/C2") {
		t.Error("KeyIdle: another key is busy")
	}
	select {
	case err := <-done:
		t.Fatalf("answered (%v) before the handler returned", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := await(t, done, "answer"); err != nil {
		t.Fatal(err)
	}
	for !idle("T1/C1") {
		time.Sleep(5 * time.Millisecond)
	}
}
