// Package chaos is Switchboard's chaos soak: many RTM workspaces and a Socket Mode app against the
// fakeslack stand-in, a steady stream of events and sends, and faults drawn from a seeded RNG.
//
// Without SWITCHBOARD_SOAK it runs 4 s with 20 RTM workspaces (part of make test, under the race
// detector). With SWITCHBOARD_SOAK=5m (make soak) it runs that long with 200 and prints a report.
// The seed is printed; replay a run's fault sequence with -chaos.seed=N or SWITCHBOARD_SOAK_SEED=N
// (timing still differs between runs).
//
// # Faults
//
// RTM: abrupt drop, clean drop, goodbye, silence (no pings, no data, nothing answered), no pongs,
// 429 with Retry-After 1s on the next rtm.connect; one workspace's token revoked (its link must go
// Fatal token_revoked), restored, and the workspace removed and added again (it must connect).
// Socket Mode (4 connections): abrupt and clean drops, silence, no pongs, refresh (make before
// break), two refreshes at once, 429 on the next apps.connections.open. fakeslack's MaxConnections
// is 5: one refresh fits (4 + its replacement), two at once get too_many_websockets. Subscribers: one
// counts every event, one panics every 37th event, one is slower than the event rate with a queue
// of 32 (it drops, declared; nobody else waits).
//
// # What must hold
//
// Socket Mode: every injected event reaches the counting subscriber exactly once. fakeslack has a
// short ack deadline and redelivers unacked envelopes 6 times within about 5 s, so an event whose
// delivery or ack was lost with a socket comes again; the runtime must drop the redeliveries of
// events it already dispatched.
//
// RTM has no redelivery, so "delivered once" needs a definition. Each event is injected into one
// workspace while holding that workspace's fault lock, so no fault overlaps an injection, and is
// classified by what fakeslack did at that moment: not written (no socket past hello: "while
// disconnected", not expected), written to a silenced socket (fakeslack swallows it: not expected),
// or written to a live socket ("must deliver"). A must-deliver event whose workspace's session end
// was seen between 100 ms before and 500 ms after the write is "at risk": the frame may still have
// been in kernel buffers, or written to a socket the client had already given up, when the socket
// closed. At-risk losses are reported, not failed; any other loss, and any duplicate, fails.
//
// Every rt.Send issued during the faults returns (reply or error) before its 10 s context ends; no
// link other than the revoked one ever reports Fatal; at the end every link is connected again; after
// Stop no goroutine is left (goleak) and the live heap is back within 4 MiB of where it started.
package chaos

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
