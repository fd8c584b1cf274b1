package loadgen

import (
	"bufio"
	"encoding/json"
	"io"
	"time"
)

// Answer is the line Serve prints once a run ended.
type Answer struct {
	Result Result `json:"result"`
	Error  string `json:"error,omitempty"`
}

// Serve is the Slack side as a process: for each line of in, a JSON Spec, it starts that run and
// prints its World as a JSON line on out, then waits for the run (sockets connected within 60 s,
// done within 10 minutes) and prints an Answer line. It returns when in closes.
func Serve(in io.Reader, out io.Writer) error {
	srv, err := NewServer()
	if err != nil {
		return err
	}
	defer srv.Close()
	enc := json.NewEncoder(out)
	lines := bufio.NewScanner(in)
	for lines.Scan() {
		var spec Spec
		if err := json.Unmarshal(lines.Bytes(), &spec); err != nil {
			if err := enc.Encode(Answer{Error: err.Error()}); err != nil {
				return err
			}
			continue
		}
		w, err := srv.Start(spec)
		if err != nil {
			if err := enc.Encode(Answer{Error: err.Error()}); err != nil {
				return err
			}
			continue
		}
		if err := enc.Encode(w); err != nil {
			return err
		}
		var a Answer
		if a.Result, err = srv.Wait(60*time.Second, 10*time.Minute); err != nil {
			a.Error = err.Error()
		}
		if err := enc.Encode(a); err != nil {
			return err
		}
	}
	return lines.Err()
}
