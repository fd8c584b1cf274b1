// Package chaos is Switchboard's chaos soak: many RTM workspaces and a Socket Mode app against the
// fakeslack stand-in, a steady stream of events and sends, and faults drawn from a seeded RNG.
//
// Without SWITCHBOARD_SOAK it runs a few seconds at small scale (part of make test). With
// SWITCHBOARD_SOAK=5m (make soak) it runs that long at full scale and prints a report. The seed
// is printed; replay a run with -chaos.seed=N or SWITCHBOARD_SOAK_SEED=N.
package chaos

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
