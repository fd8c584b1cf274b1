package engine

import (
	"context"
	"io"
	"sync"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
)

// testEnv returns an Env on an actor system that logs nothing, with a discarded logrus logger.
// Its context ends and its system shuts down when the test ends, after the cleanups the test
// registers later (which stop what it spawned).
func testEnv(t *testing.T) *Env {
	t.Helper()
	system := actor.NewActorSystem(quietLogs)
	ctx, cancel := context.WithCancel(context.Background())
	log := logrus.New()
	log.SetOutput(io.Discard)
	t.Cleanup(func() {
		cancel()
		system.Shutdown()
	})
	return &Env{System: system, Log: logrus.NewEntry(log), Ctx: ctx, WG: &sync.WaitGroup{}, Stats: &Stats{}, Flow: NewFlow()}
}
