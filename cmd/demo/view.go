package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	switchboard "github.com/switchboard-go/switchboard"
)

// view draws the live view: a compact table of links redrawn in place on a terminal, or a status
// line every few seconds appended otherwise (pipes, CI logs).
type view struct {
	out    io.Writer
	tty    bool
	rt     *switchboard.Runtime
	bot    *bot
	header string
	start  time.Time

	mu       sync.Mutex
	notes    []string // latest scene notes, newest last
	lines    int      // lines drawn last time, to move back over them
	lastIn   int64
	lastAt   time.Time
	rate     float64
	lastLine time.Time
}

const maxNotes = 6

// note records a scene note; appended at once when not on a terminal.
func (v *view) note(s string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	line := fmt.Sprintf("%5.1fs  %s", time.Since(v.start).Seconds(), s)
	v.notes = append(v.notes, line)
	if len(v.notes) > maxNotes {
		v.notes = v.notes[len(v.notes)-maxNotes:]
	}
	if !v.tty {
		fmt.Fprintln(v.out, "scene "+line)
	}
}

// draw renders one frame; call it every ~500 ms. Off a terminal a line goes out every 2s, or at
// once when final.
func (v *view) draw(final bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := time.Now()
	st := v.rt.Stats()
	if !v.lastAt.IsZero() {
		if dt := now.Sub(v.lastAt).Seconds(); dt > 0 {
			v.rate = float64(st.EventsIn-v.lastIn) / dt
		}
	}
	v.lastIn, v.lastAt = st.EventsIn, now
	links := v.rt.Status()
	sort.Slice(links, func(i, j int) bool { return links[i].Link.Name < links[j].Link.Name })
	reconnects := 0
	for _, l := range links {
		reconnects += l.Reconnects
	}
	elapsed := now.Sub(v.start).Seconds()
	if !v.tty {
		if !final && now.Sub(v.lastLine) < 2*time.Second {
			return
		}
		v.lastLine = now
		states := make([]string, len(links))
		for i, l := range links {
			states[i] = l.Link.Name + "=" + string(l.State)
		}
		fmt.Fprintf(v.out, "%5.1fs  events %d (%.0f/s)  replies %d  reconnects %d  dup dropped %d  links %s\n",
			elapsed, st.EventsIn, v.rate, v.bot.replies.Load(), reconnects, st.Duplicates, strings.Join(states, " "))
		return
	}
	var b strings.Builder
	if v.lines > 0 {
		fmt.Fprintf(&b, "\033[%dA\033[J", v.lines) // back to the top of the last frame, clear below
	}
	fmt.Fprintf(&b, "%s  %5.1fs\n", v.header, elapsed)
	fmt.Fprintf(&b, "events in %-7d %6.0f/s   replies %-6d acks %-7d dup dropped %-4d reconnects %-3d per-channel actors %d\n",
		st.EventsIn, v.rate, v.bot.replies.Load(), st.Acks, st.Duplicates, reconnects, v.bot.counterSpawn.Load())
	fmt.Fprintf(&b, "%-14s %-11s %-13s %8s %10s  %s\n", "LINK", "TRANSPORT", "STATE", "SESSION", "RECONNECTS", "LAST ERROR")
	for _, l := range links {
		errText := l.LastError
		if len(errText) > 60 {
			errText = errText[:57] + "..."
		}
		fmt.Fprintf(&b, "%-14s %-11s %-13s %8d %10d  %s\n", l.Link.Name, l.Link.Transport, l.State, l.Session, l.Reconnects, errText)
	}
	for _, n := range v.notes {
		b.WriteString("  " + n + "\n")
	}
	v.lines = strings.Count(b.String(), "\n") // the cursor-up prefix holds no newline
	fmt.Fprint(v.out, b.String())
}
