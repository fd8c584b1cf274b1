package engine

import (
	"context"
	"errors"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/switchboard-go/switchboard/messages"
)

// TestWriteQueueHoldsEveryCreditedAck: a writer whose socket takes nothing still queues an ack
// for every credit of its session, and pings besides, before it calls the socket stalled; the
// frame after that is dropped (its credit given back) and the connection told once.
func TestWriteQueueHoldsEveryCreditedAck(t *testing.T) {
	sys := NewActorSystem(quietLogs)
	defer sys.Shutdown()
	failed := make(chan WriteFailed, 2)
	parent := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if m, ok := ctx.Message().(WriteFailed); ok {
			failed <- m
		}
	}))
	defer sys.Root.Stop(parent)
	sess := newSession(context.Background(), 1)
	defer sess.close()
	w := &writer{env: &Env{System: sys}, sess: sess, parent: parent, queue: make(chan queued, writeQueueSize)}
	for range sessionCredits {
		if err := sess.acquire(); err != nil {
			t.Fatal(err)
		}
		w.enqueue(queued{ack: &SendAck{EnvelopeID: "e", Written: sess.release}})
	}
	for range writeQueueSize - sessionCredits {
		w.enqueue(queued{frame: &outFrame{ping: true}})
	}
	if w.failed || len(sess.credits) != sessionCredits {
		t.Fatalf("failed %v with %d of %d credits held", w.failed, len(sess.credits), sessionCredits)
	}
	w.enqueue(queued{ack: &SendAck{EnvelopeID: "e", Written: sess.release}})
	w.enqueue(queued{frame: &outFrame{ping: true}})
	if !w.failed || len(sess.credits) != sessionCredits-1 {
		t.Fatalf("failed %v with %d credits held after an overflow, want true and %d", w.failed, len(sess.credits), sessionCredits-1)
	}
	if m := <-failed; !errors.Is(m.Err, messages.ErrWriteStalled) || m.Session != 1 {
		t.Fatalf("connection told %+v", m)
	}
}
