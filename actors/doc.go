// Package actors is for programs that handle Slack events with their own protoactor-go actors:
// the contract such an actor lives by, and PropsFromFunc for the simple case.
//
// A subscriber actor is spawned by Runtime.Subscribe from the Props you give it (one actor per
// subscription, or one per key with PerTeam, PerChannel or PerThread), as a child of the runtime's
// subscriber for it. It receives every *messages.Event that passes the subscription's filter:
//
//   - one at a time: the next event is sent once Receive returned for the previous one, so the
//     actor may keep state without locks;
//   - in read order per workspace;
//   - read-only: the same *messages.Event goes to every subscription that matches it.
//
// A panic in Receive restarts the actor alone (its state is lost, the event is not redelivered);
// the runtime counts it in Stats.HandlerPanics. An event is acked once it sits in the
// subscription's queue (by default), or once Receive returned (WithAckAfterHandlers). To answer a
// slash command or an interaction in its ack, call ev.Respond before the response deadline.
//
// Blocking in Receive holds back this actor's events only; while its queue is full the runtime
// stops reading Slack's sockets (Backpressure), so do long work elsewhere and send yourself the
// result.
//
// The actor stops when its key has been idle (keyed subscriptions), when the subscription is
// removed (after its queued events), or when the runtime stops; it gets *actor.Stopping first.
package actors
