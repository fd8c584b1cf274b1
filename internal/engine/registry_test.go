package engine

import (
	"io"
	"log/slog"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
)

// quietLogs discards protoactor's logs.
var quietLogs = actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
})

type echo struct{ to chan<- string }

func (e echo) Receive(ctx actor.Context) {
	if s, ok := ctx.Message().(string); ok {
		e.to <- ctx.Self().Id + ":" + s
	}
}

// TestCompactRegistry: NewActorSystem's registry has registryBuckets buckets and still resolves
// what protoactor registered before the compaction (dead letters, the event stream); many actors
// spawn, answer and stop through it, and a message to a stopped one reaches the dead letters.
func TestCompactRegistry(t *testing.T) {
	sys := NewActorSystem(quietLogs)
	defer sys.Shutdown()
	reg := sys.ProcessRegistry
	if n := len(reg.LocalPIDs.LocalPIDs); n != registryBuckets {
		t.Fatalf("%d registry buckets, want %d", n, registryBuckets)
	}
	if p, ok := reg.GetLocal("deadletter"); !ok || p != actor.Process(sys.DeadLetter) {
		t.Fatalf("deadletter resolves to %v, %v", p, ok)
	}
	if _, ok := reg.GetLocal("eventstream"); !ok {
		t.Fatal("eventstream is not registered")
	}
	registered := func() (n int) {
		for _, b := range reg.LocalPIDs.LocalPIDs {
			n += b.Count()
		}
		return n
	}
	before := registered()

	const actors = 500
	replies := make(chan string, actors)
	pids := make([]*actor.PID, actors)
	for i := range pids {
		pids[i] = sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return echo{replies} }))
	}
	if n := registered(); n != before+actors {
		t.Fatalf("%d processes registered, want %d", n, before+actors)
	}
	for _, pid := range pids {
		sys.Root.Send(actor.NewPID(pid.Address, pid.Id), "hi") // a fresh PID: resolved in the registry
	}
	seen := map[string]bool{}
	for range pids {
		seen[<-replies] = true
	}
	for _, pid := range pids {
		if !seen[pid.Id+":hi"] {
			t.Fatalf("no answer from %s", pid.Id)
		}
		if err := sys.Root.StopFuture(pid).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	if n := registered(); n != before {
		t.Fatalf("%d processes registered after the stops, want %d", n, before)
	}

	dead := make(chan *actor.DeadLetterEvent, 1)
	sub := sys.EventStream.Subscribe(func(m any) {
		if d, ok := m.(*actor.DeadLetterEvent); ok {
			select {
			case dead <- d:
			default:
			}
		}
	})
	defer sys.EventStream.Unsubscribe(sub)
	sys.Root.Send(actor.NewPID(pids[0].Address, pids[0].Id), "late")
	if d := <-dead; d.PID.Id != pids[0].Id {
		t.Fatalf("dead letter for %s, want %s", d.PID.Id, pids[0].Id)
	}
}
