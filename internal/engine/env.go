package engine

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gorilla/websocket"
	"github.com/sirupsen/logrus"

	"github.com/switchboard-go/switchboard/internal/redact"
	"github.com/switchboard-go/switchboard/messages"
)

// Env is what all actors of one runtime share. Its fields are set before the first actor spawns
// and not changed afterwards.
type Env struct {
	System *actor.ActorSystem
	Log    *logrus.Entry
	// Ctx is cancelled when the runtime stops; every goroutine of an actor watches it.
	Ctx context.Context
	// WG counts every goroutine actors start; the runtime waits on it after stopping them.
	WG *sync.WaitGroup
	// HTTP is the client for Web API calls. APIURL is the Web API base, ending in "/api/".
	HTTP   *http.Client
	APIURL string
	Dialer *websocket.Dialer
	// Dispatcher receives events and lifecycle events; set once it is spawned.
	Dispatcher *actor.PID
	// Stats collects counters the runtime exposes.
	Stats *Stats
	// Flow is the flow-control gate that full Backpressure queues press and readers wait at.
	Flow *Flow
	// AckHook is called with each Socket Mode ack's latency once the ack is written.
	AckHook AckHook
	// Connects paces reconnects across the runtime; the zero value has the defaults.
	Connects ConnectBudget
	// OpenTimeout bounds one apps.connections.open or rtm.connect call, whatever the HTTP
	// client's own timeout. Default 10s (DefaultOpenTimeout).
	OpenTimeout time.Duration
	// Clock is what timers and liveness checks read; nil means the wall clock.
	Clock Clock

	sessions atomic.Uint64
}

// Go runs f on a goroutine counted in WG.
func (e *Env) Go(f func()) {
	e.WG.Add(1)
	go func() {
		defer e.WG.Done()
		f()
	}()
}

// nextSession returns a session generation unique in the runtime.
func (e *Env) nextSession() uint64 { return e.sessions.Add(1) }

// send delivers msg to pid from any goroutine.
func (e *Env) send(pid *actor.PID, msg any) { e.System.Root.Send(pid, msg) }

// publish hands a lifecycle event to the dispatcher, its error redacted (errors.Is and As still
// reach the original).
func (e *Env) publish(ev messages.Lifecycle) {
	switch x := ev.(type) {
	case messages.Disconnected:
		x.Reason = redact.Error(x.Reason)
		ev = x
	case messages.Reconnecting:
		x.Cause = redact.Error(x.Cause)
		ev = x
	case messages.Fatal:
		x.Error = redact.Error(x.Error)
		ev = x
	}
	if e.Dispatcher != nil {
		e.send(e.Dispatcher, ev)
	}
}

// after sends msg to pid after d on the runtime's clock; Stop the returned timer to cancel.
func (e *Env) after(d time.Duration, pid *actor.PID, msg any) Timer {
	return e.clock().AfterFunc(d, func() { e.send(pid, msg) })
}

// clock returns Env.Clock, or the wall clock when it is nil.
func (e *Env) clock() Clock {
	if e.Clock == nil {
		return realClock{}
	}
	return e.Clock
}

// now is the runtime clock's time.
func (e *Env) now() time.Time { return e.clock().Now() }

// Stats are the runtime's running totals, safe for concurrent use.
type Stats struct {
	EventsIn        atomic.Int64 // envelopes and RTM events read
	Acks            atomic.Int64 // acks written
	Duplicates      atomic.Int64 // redeliveries dropped by dedupe
	Dispatched      atomic.Int64 // deliveries into subscriber queues
	Dropped         atomic.Int64 // deliveries dropped by a full subscriber queue
	HandlerPanics   atomic.Int64 // handler or subscriber actor panics
	HandlerErrors   atomic.Int64 // errors handlers returned
	Malformed       atomic.Int64 // frames that did not decode
	ResponseTimeout atomic.Int64 // envelopes acked empty because no response came in time
}
