// Command loadgen-switchboard is the Switchboard client of the bare-loop comparison: a runtime
// with default options and one counting handler for message events, on the apps or workspaces of
// a loadgen World (loadgen-switchboard -world '<World JSON>'). It prints a loadgen.Report.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/internal/loadgen"
)

func main() {
	world := flag.String("world", "", "the run's World, as JSON")
	prof := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Parse()
	var w loadgen.World
	if err := json.Unmarshal([]byte(*world), &w); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen-switchboard: bad -world:", err)
		os.Exit(2)
	}
	rep := loadgen.Drive("switchboard", w, run, os.Stdin, *prof)
	_ = json.NewEncoder(os.Stdout).Encode(rep)
	if rep.Error != "" {
		os.Exit(1)
	}
}

// run is the client: what a bot built on Switchboard does, through its public API only.
func run(ctx context.Context, w loadgen.World, c *loadgen.Counter) error {
	rt, err := switchboard.New(switchboard.WithAPIURL(w.API))
	if err != nil {
		return err
	}
	count := func(context.Context, *switchboard.Event) error { c.Add(); return nil }
	if w.Mode == loadgen.RTM {
		err = rt.Handle(switchboard.Filter{Kinds: []switchboard.Kind{switchboard.KindRTM}, Types: []string{"message"}}, count)
	} else {
		err = rt.OnEvent("message", count)
	}
	if err != nil {
		return err
	}
	for i, tok := range w.Tokens {
		if w.Mode == loadgen.RTM {
			err = rt.AddWorkspace(ctx, switchboard.Workspace{Team: w.Teams[i], Token: tok})
		} else {
			err = rt.AddApp(ctx, switchboard.App{Token: tok, Connections: w.Conns})
		}
		if err != nil {
			return err
		}
	}
	<-ctx.Done() // the process exits after its report: Stop's cost is not measured
	return ctx.Err()
}
