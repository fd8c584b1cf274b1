package engine

import (
	"slices"

	"github.com/asynkron/protoactor-go/actor"
)

// registryBuckets is how many buckets (of 32 locked maps each) the process registry of a
// runtime's actor system keeps. protoactor makes 1,024, which are 32,768 maps: 2.8 MB of heap
// that stays live whatever the number of actors, and as much again of the collector's headroom
// on top of it. 16 buckets are 512 locked maps, many more than a runtime has cores, for a few
// actors per link; the registry is only used to spawn and stop actors and to resolve a PID
// whose process is not cached yet.
const registryBuckets = 16

// NewActorSystem is actor.NewActorSystem with a process registry sized for a runtime (see
// registryBuckets).
func NewActorSystem(opts ...actor.ConfigOption) *actor.ActorSystem {
	sys := actor.NewActorSystem(opts...)
	compactRegistry(sys, registryBuckets)
	return sys
}

// compactRegistry keeps n of sys's registry buckets, with the processes registered so far (the
// event stream and dead letters) rehashed into them; the other buckets, and their maps, become
// garbage. It must run before anything else uses sys: NewActorSystem starts no goroutine that
// does.
func compactRegistry(sys *actor.ActorSystem, n int) {
	reg := sys.ProcessRegistry.LocalPIDs
	if n <= 0 || n >= len(reg.LocalPIDs) {
		return
	}
	type entry struct {
		id string
		p  any
	}
	var moved []entry
	for _, b := range reg.LocalPIDs {
		if b.Count() == 0 {
			continue // IterBuffered starts a goroutine per map: only where there is something
		}
		for t := range b.IterBuffered() {
			moved = append(moved, entry{t.Key, t.Val})
			b.Remove(t.Key)
		}
	}
	reg.LocalPIDs = slices.Clone(reg.LocalPIDs[:n]) // a copy, so the old array can go
	for _, e := range moved {
		reg.GetBucket(e.id).Set(e.id, e.p)
	}
}
