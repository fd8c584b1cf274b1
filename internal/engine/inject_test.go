package engine

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/switchboard-go/switchboard/messages"
)

// InjectHTTP answers as the dispatcher places and acks the event: empty once placed, a response's
// payload, an empty answer at the deadline for a placed event that takes a response, and ErrBusy
// when nothing was placed in time or the flow gate stayed pressed (then nothing is dispatched).
func TestInjectHTTP(t *testing.T) {
	const event = `{"type":"event_callback","team_id":"T1","event_id":"Ev1","event":{"type":"message","channel":"C1"}}`
	const command = `{"command":"/deploy","team_id":"T1","channel_id":"C1","user_id":"U1"}`
	for _, tt := range []struct {
		name     string
		kind     messages.Kind
		payload  string
		accepts  bool
		pressed  bool
		dispatch func(d *Dispatch) // what the stand-in dispatcher does; nil: nothing
		want     string
		wantErr  error
		timeouts int64
	}{
		{"placed", messages.KindEventsAPI, event, false, false, place, "", nil, 0},
		{"not placed in time", messages.KindEventsAPI, event, false, false, nil, "", ErrBusy, 0},
		{"responded", messages.KindSlashCommand, command, true, false, func(d *Dispatch) {
			place(d)
			_ = d.Event.Respond(map[string]string{"text": "ok"})
		}, `{"text":"ok"}`, nil, 0},
		{"no response in time", messages.KindSlashCommand, command, true, false, place, "", nil, 1},
		{"command not placed", messages.KindSlashCommand, command, true, false, nil, "", ErrBusy, 0},
		{"gate pressed", messages.KindEventsAPI, event, false, true, place, "", ErrBusy, 0},
		{"malformed", messages.KindEventsAPI, `{"type":`, false, false, place, "", ErrMalformedPayload, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env, got := injectEnv(t, tt.dispatch)
			if tt.pressed {
				env.Flow.press()
				defer env.Flow.ease()
			}
			answer, err := InjectHTTP(context.Background(), env, HTTPEvent{
				Link: messages.Link{Transport: messages.HTTP, App: "A1", Name: "A1/http"}, Kind: tt.kind,
				Payload: []byte(tt.payload), Accepts: tt.accepts, Deadline: 50 * time.Millisecond,
			})
			if !errors.Is(err, tt.wantErr) || string(answer) != tt.want {
				t.Fatalf("InjectHTTP = %q, %v; want %q, %v", answer, err, tt.want, tt.wantErr)
			}
			if n := env.Stats.ResponseTimeout.Load(); n != tt.timeouts {
				t.Errorf("response timeouts %d, want %d", n, tt.timeouts)
			}
			if tt.pressed || tt.wantErr == ErrMalformedPayload {
				if n := got(); n != 0 {
					t.Errorf("%d dispatched, want none", n)
				}
			} else if ev := got(); ev != 1 {
				t.Errorf("%d dispatched, want 1", ev)
			}
		})
	}
}

func place(d *Dispatch) {
	d.Placement.Hold(1)
	d.Placement.Placed()
}

// injectEnv returns an Env whose dispatcher runs f on each Dispatch, and a func counting them.
func injectEnv(t *testing.T, f func(*Dispatch)) (*Env, func() int) {
	t.Helper()
	env := testEnv(t)
	system := env.System
	var mu sync.Mutex
	n := 0
	env.Dispatcher = system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if d, ok := c.Message().(*Dispatch); ok {
			mu.Lock()
			n++
			mu.Unlock()
			if f != nil {
				f(d)
			}
		}
	}))
	t.Cleanup(func() { _ = system.Root.StopFuture(env.Dispatcher).Wait() })
	// Every case that dispatches returns after the dispatcher ran: once it placed the event, or at
	// the deadline, well after its mailbox delivered the Dispatch.
	return env, func() int {
		mu.Lock()
		defer mu.Unlock()
		return n
	}
}
