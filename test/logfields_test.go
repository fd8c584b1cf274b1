package test

import (
	"bufio"
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	switchboard "github.com/switchboard-go/switchboard"
)

// TestLogFieldsNameTheConnection: a reader's warning carries app, link and session; a handler's
// panic is logged with its stack, the event's team, type and IDs, and its value redacted.
func TestLogFieldsNameTheConnection(t *testing.T) {
	t.Parallel()
	fs := newFrameServer(t, []byte(`{"type":"events_api",`), eventEnvelope(`"e1"`, "Ev1"))
	logs := &syncBuffer{}
	log := logrus.New()
	log.SetOutput(logs)
	log.SetFormatter(&logrus.JSONFormatter{})
	rt, err := switchboard.New(switchboard.WithAPIURL(fs.srv.URL+"/api/"), switchboard.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopRuntime(t, rt) })
	var panicked atomic.Int32
	if err := rt.Handle(messageEvents, func(context.Context, *switchboard.Event) error {
		panicked.Add(1)
		panic("boom xoxb-1-secret-token")
	}); err != nil {
		t.Fatal(err)
	}
	if err := rt.AddApp(context.Background(), switchboard.App{ID: "A1", Token: "xapp-1-A1-1-s"}); err != nil {
		t.Fatal(err)
	}
	line := func(msg string) map[string]any {
		sc := bufio.NewScanner(strings.NewReader(logs.String()))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == msg {
				return m
			}
		}
		return nil
	}
	waitFor(t, 5*time.Second, "the panic logged", func() bool { return line("handler panicked") != nil })
	p := line("handler panicked")
	for k, want := range map[string]string{"team": "T1", "type": "message", "envelope_id": "e1", "event_id": "Ev1", "app": "A1", "kind": "events_api"} {
		if p[k] != want {
			t.Errorf("panic line %s = %v, want %q", k, p[k], want)
		}
	}
	if s, _ := p["stack"].(string); !strings.Contains(s, "logfields_test.go") {
		t.Errorf("panic line has no stack through the handler: %v", p["stack"])
	}
	if v, _ := p["panic"].(string); !strings.HasPrefix(v, "boom ") || strings.Contains(v, "secret-token") {
		t.Errorf("panic value %q, want it redacted", v)
	}
	w := line("malformed frame skipped")
	if w == nil {
		t.Fatalf("no reader warning:\n%s", logs)
	}
	if w["app"] != "A1" || w["link"] == nil || w["session"] == nil {
		t.Errorf("reader warning without app, link, session: %v", w)
	}
}
