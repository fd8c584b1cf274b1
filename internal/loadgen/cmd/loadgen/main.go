// Command loadgen is the Slack side of the bare-loop comparison (loadgen serve) and its
// reference clients (loadgen client -client bare|ceiling|ceiling-coalesced|bare-rtm -world '<World JSON>'). See
// package loadgen; test/bench_ratio_test.go runs it.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/switchboard-go/switchboard/internal/loadgen"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen serve | loadgen client -client NAME -world JSON [-cpuprofile FILE]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		if p := os.Getenv("LOADGEN_SERVE_CPUPROFILE"); p != "" { // the Slack side's own profile, for tuning it
			f, err := os.Create(p)
			if err == nil && pprof.StartCPUProfile(f) == nil {
				defer pprof.StopCPUProfile()
			}
		}
		if err := loadgen.Serve(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen serve:", err)
			os.Exit(1)
		}
	case "client":
		fs := flag.NewFlagSet("client", flag.ExitOnError)
		name := fs.String("client", "bare", "bare, ceiling, ceiling-coalesced or bare-rtm")
		world := fs.String("world", "", "the run's World, as JSON")
		prof := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
		_ = fs.Parse(os.Args[2:])
		client, ok := loadgen.ClientNamed(*name)
		var w loadgen.World
		if err := json.Unmarshal([]byte(*world), &w); err != nil || !ok {
			fmt.Fprintf(os.Stderr, "loadgen client: bad -client %q or -world: %v\n", *name, err)
			os.Exit(2)
		}
		rep := loadgen.Drive(*name, w, client, os.Stdin, *prof)
		_ = json.NewEncoder(os.Stdout).Encode(rep)
		if rep.Error != "" {
			os.Exit(1)
		}
	default:
		fmt.Fprintf(os.Stderr, "loadgen: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
}
