package engine

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run on a leaked goroutine. protoactor's dead-letter throttle sleeps out its
// window on a goroutine of its own after a dead letter (a session's late message to a stopped
// connection), even once the system shut down; the runtime waits it out in Stop, these tests
// spawn bare systems and do not.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"))
}
