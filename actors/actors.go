package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/switchboard-go/switchboard/messages"
)

// PropsFromFunc returns the Props of an actor that calls f for every event it receives, with the
// actor's context (for ctx.Self, ctx.Send, ctx.Spawn, …). Each actor spawned from them (one per
// key of a keyed subscription) calls the same f, so keep per-key state in a PropsFromProducer
// actor instead.
func PropsFromFunc(f func(ctx actor.Context, ev *messages.Event)) *actor.Props {
	return actor.PropsFromFunc(func(ctx actor.Context) {
		if ev, ok := ctx.Message().(*messages.Event); ok {
			f(ctx, ev)
		}
	})
}
