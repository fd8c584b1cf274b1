package switchboard_test

import (
	"context"
	"testing"
	"time"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/cluster"
)

// Without WithCluster the runtime is a single process: no member, no cluster status. WithCluster
// without a Store fails New.
func TestWithoutCluster(t *testing.T) {
	rt, err := switchboard.New()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		rt.Stop(ctx)
	}()
	if _, ok := rt.ClusterStatus(); ok || rt.Member() != "" || rt.Owners() != nil {
		t.Error("a runtime without WithCluster reports a cluster")
	}
	if _, err := switchboard.New(switchboard.WithCluster(cluster.Config{Port: 1, HealthPort: 2, Peers: []string{"x"}})); err == nil {
		t.Error("WithCluster without a Store: New did not fail")
	}
}
