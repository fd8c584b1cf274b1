package switchboard_test

import (
	"context"
	"log"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/cluster"
)

// One actor per conversation across a cluster: every member runs this program (with its own
// ports), and each channel's messages run on one member at a time, one at a time, whichever
// member's socket read them. (Not run: it needs its peers.)
func ExampleClustered() {
	ctx := context.Background()
	store, err := cluster.OpenSQLite(ctx, "/var/lib/bot/cluster.db") // cluster.OpenPostgres across hosts
	if err != nil {
		log.Fatal(err)
	}
	rt, err := switchboard.New(switchboard.WithCluster(cluster.Config{
		Port: 7001, HealthPort: 7101, Store: store,
		Peers: []string{"127.0.0.1:7101", "127.0.0.1:7102", "127.0.0.1:7103"},
	}), switchboard.WithAckAfterHandlers()) // a member killed mid-conversation loses nothing: its keys' events are sent again
	if err != nil {
		log.Fatal(err)
	}
	err = rt.OnMessage("", func(ctx context.Context, ev *switchboard.Event) error {
		_, err := ev.SayInThread(ctx, "seen: "+ev.Text())
		return err
	}, switchboard.Named("conversation"), switchboard.PerChannel(0), switchboard.Clustered())
	if err != nil {
		log.Fatal(err)
	}
}
