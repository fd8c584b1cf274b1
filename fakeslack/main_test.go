package fakeslack_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/switchboard-go/switchboard/fakeslack"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start runs a server for one test and closes it when the test ends.
func start(t testing.TB, o fakeslack.Options) *fakeslack.Server {
	t.Helper()
	srv, err := fakeslack.New(o)
	if err != nil {
		t.Fatalf("fakeslack.New: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// dial opens a WebSocket to url and closes it when the test ends.
func dial(t testing.TB, url string) *websocket.Conn {
	t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	_ = resp.Body.Close()
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// readFrame reads the next text frame as a JSON object, failing the test after timeout.
func readFrame(t testing.TB, c *websocket.Conn, timeout time.Duration) map[string]any {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	_, data, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("frame %q is not a JSON object: %v", data, err)
	}
	return m
}

// waitFor polls cond every 5 ms until it holds, failing the test after timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
