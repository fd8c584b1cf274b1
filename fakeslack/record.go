package fakeslack

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// recorder writes transcript entries as JSON lines (Options.Record). Guarded by Transcript.mu.
type recorder struct {
	w         *bufio.Writer
	err       error // the first write error; nothing is written after it
	lastFlush time.Time
}

func newRecorder(w io.Writer) *recorder {
	if w == nil {
		return nil
	}
	return &recorder{w: bufio.NewWriterSize(w, 64<<10), lastFlush: time.Now()}
}

// recordFlushEvery is how stale a recording's file may be while the server runs.
const recordFlushEvery = 100 * time.Millisecond

func (r *recorder) write(e Entry) {
	if r.err != nil {
		return
	}
	line, err := json.Marshal(e)
	if err == nil {
		line = append(line, '\n')
		_, err = r.w.Write(line)
	}
	if err == nil && time.Since(r.lastFlush) >= recordFlushEvery {
		err, r.lastFlush = r.w.Flush(), time.Now()
	}
	r.err = err
}

// flush writes what the recording buffered and returns its first error.
func (t *Transcript) flush() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.rec == nil {
		return nil
	}
	if t.rec.err == nil {
		t.rec.err = t.rec.w.Flush()
	}
	return t.rec.err
}

// ReadRecording reads a recording written through Options.Record (or the entries of the admin
// transcript route, one a line). Blank lines are skipped.
func ReadRecording(r io.Reader) ([]Entry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	var out []Entry
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		var e Entry
		if err := json.Unmarshal(line, &e); err != nil {
			return out, fmt.Errorf("fakeslack: recording line %d: %w", n, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("fakeslack: read recording: %w", err)
	}
	return out, nil
}
