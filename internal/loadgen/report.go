package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Counter counts the events a client handled, and when the first and the last expected one came.
// Its methods are safe for concurrent use.
type Counter struct {
	total       int64
	n           atomic.Int64
	first, last atomic.Int64 // unix nanoseconds
	full        chan struct{}
}

// NewCounter returns a counter expecting total events.
func NewCounter(total int) *Counter {
	return &Counter{total: int64(total), full: make(chan struct{})}
}

// Add counts one event handled.
func (c *Counter) Add() {
	n := c.n.Add(1)
	if n == 1 {
		c.first.Store(time.Now().UnixNano())
	}
	if n == c.total {
		c.last.Store(time.Now().UnixNano())
		close(c.full)
	}
}

// Handled is the number of events counted so far.
func (c *Counter) Handled() int64 { return c.n.Load() }

// Total is the number of events the counter expects.
func (c *Counter) Total() int64 { return c.total }

// Full is closed once the expected total was counted.
func (c *Counter) Full() <-chan struct{} { return c.full }

// Report is what a client process says of itself after a run.
type Report struct {
	Client  string  `json:"client"`
	Handled int64   `json:"handled"`
	Seconds float64 `json:"seconds"` // first event → the expected total's last, as the client saw them
	// PeakRSS is the process's high-water resident set (VmHWM), in KiB.
	PeakRSS int64 `json:"peak_rss_kib"`
	// CPU is the user and system CPU time the process used, in seconds.
	CPU   float64 `json:"cpu_s"`
	Error string  `json:"error,omitempty"`
}

// Drive runs client as a client process does: it starts the client on w, waits until stdin
// closes (the Slack side is done: on RTM, written, but maybe still in the socket buffers), then
// up to a minute more for the expected total, and returns the report. A client that fails first
// ends Drive at once. cpuProfile, when not "", is a file for a CPU profile of the client's run.
func Drive(name string, w World, client Client, stdin io.Reader, cpuProfile string) Report {
	rep := Report{Client: name}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			rep.Error = err.Error()
			return rep
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			rep.Error = err.Error()
			return rep
		}
	}
	c := NewCounter(w.Total)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	failed := make(chan error, 1)
	go func() { // owner: Drive. Ends when cancel ends ctx (the process exits after Drive anyway).
		failed <- client(ctx, w, c)
	}()
	eof := make(chan struct{})
	go func() { // owner: Drive. Ends when stdin closes.
		_, _ = io.Copy(io.Discard, bufio.NewReader(stdin))
		close(eof)
	}()
	select {
	case <-eof:
		select {
		case <-c.Full():
		case err := <-failed:
			rep.Error = fmt.Sprint("client failed: ", err)
		case <-time.After(time.Minute):
			rep.Error = fmt.Sprintf("handled %d of %d events", c.n.Load(), w.Total)
		}
	case err := <-failed:
		rep.Error = fmt.Sprint("client failed: ", err)
	}
	if cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	rep.Handled = c.n.Load()
	if last := c.last.Load(); last != 0 {
		rep.Seconds = float64(last-c.first.Load()) / 1e9
	}
	rep.PeakRSS = ProcStatusKiB()["VmHWM"]
	rep.CPU = cpuTime().Seconds()
	return rep
}

// ProcStatusKiB returns the fields of /proc/self/status given in kB (VmHWM, the peak RSS;
// RssAnon; RssFile; …), by name, in KiB; nil where there is no /proc.
func ProcStatusKiB() map[string]int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil
	}
	out := map[string]int64{}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[2] == "kB" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			out[strings.TrimSuffix(f[0], ":")] = kb
		}
	}
	return out
}

// cpuTime is the user and system CPU time the process used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
