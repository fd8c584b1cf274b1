// Command loadgen-switchboard is the Switchboard client of the bare-loop comparison: a runtime
// with default options and one counting handler for message events, on the apps or workspaces of
// a loadgen World (loadgen-switchboard -world '<World JSON>'). It prints a loadgen.Report.
//
// With SWITCHBOARD_RATIO_HEAPPROFILE set to a directory, it also writes two heap profiles there,
// one when half of the run's events were handled (the flood in full swing) and one at the end,
// named <mode>-<apps>x<conns>-<pid>-{mid,end}.heap, and says on stderr what the process holds at
// the end (peak RSS, its file and anonymous parts, and the Go runtime's heap and stack figures).
// It samples the heap every 4 KiB allocated rather than 512 KiB, which costs some CPU: a run with
// it measures memory, not speed.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/internal/loadgen"
)

const heapProfileEnv = "SWITCHBOARD_RATIO_HEAPPROFILE"

func main() {
	world := flag.String("world", "", "the run's World, as JSON")
	prof := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Parse()
	var w loadgen.World
	if err := json.Unmarshal([]byte(*world), &w); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen-switchboard: bad -world:", err)
		os.Exit(2)
	}
	heapDir := os.Getenv(heapProfileEnv)
	client := run
	if heapDir != "" {
		runtime.MemProfileRate = 4096 // finer than the default 512 KiB: a run's live heap is a few MiB
		client = func(ctx context.Context, w loadgen.World, c *loadgen.Counter) error {
			go profileAtHalf(ctx, heapPath(heapDir, w, "mid"), c) // owner: run. Ends with ctx or at half.
			return run(ctx, w, c)
		}
	}
	rep := loadgen.Drive("switchboard", w, client, os.Stdin, *prof)
	if heapDir != "" {
		writeHeapProfile(heapPath(heapDir, w, "end"))
		memorySummary(w)
	}
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

func heapPath(dir string, w loadgen.World, when string) string {
	return filepath.Join(dir, fmt.Sprintf("%s-%dx%d-%d-%s.heap", w.Mode, len(w.Tokens), max(w.Conns, 1), os.Getpid(), when))
}

// profileAtHalf writes a heap profile once half of the expected events were handled.
func profileAtHalf(ctx context.Context, path string, c *loadgen.Counter) {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for c.Handled() < c.Total()/2 {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
	writeHeapProfile(path)
}

func writeHeapProfile(path string) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen-switchboard:", err)
		return
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen-switchboard:", err)
	}
}

// memorySummary says on stderr what the process holds at the end of the run.
func memorySummary(w loadgen.World) {
	proc := loadgen.ProcStatusKiB()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	const mib = 1 << 20
	fmt.Fprintf(os.Stderr, "loadgen-switchboard %s %dx%d: VmHWM: %d, RssAnon: %d, RssFile: %d KiB; heap in use %.1f MiB, alloc %.1f, sys %.1f, released %.1f, next GC %.1f; stacks %.1f MiB; sys %.1f MiB; %d GCs\n",
		w.Mode, len(w.Tokens), max(w.Conns, 1), proc["VmHWM"], proc["RssAnon"], proc["RssFile"],
		float64(m.HeapInuse)/mib, float64(m.HeapAlloc)/mib, float64(m.HeapSys)/mib, float64(m.HeapReleased)/mib, float64(m.NextGC)/mib,
		float64(m.StackInuse)/mib, float64(m.Sys)/mib, m.NumGC)
}
