package test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/messages"
	"github.com/switchboard-go/switchboard/supervisor"
)

// Each test here runs the runtime against a hostile server (reconnect_hostile_test.go) with the
// default reconnection policy, and bounds counts, not latencies.

// TestCleanDisconnectLoopsAreRateLimited: a server that ends every session cleanly right after
// hello (refresh_requested, warning, an unknown disconnect reason, an RTM goodbye) gets a handful
// of socket opens in 3 s, not thousands: the link backs off when clean reconnects repeat. A server
// that drops every socket abruptly after hello is bounded by the ordinary backoff.
func TestCleanDisconnectLoopsAreRateLimited(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		rtm   bool
		frame string
	}{
		{"refresh_requested", false, `{"type":"disconnect","reason":"refresh_requested"}`},
		{"warning", false, `{"type":"disconnect","reason":"warning"}`},
		{"unknown reason", false, `{"type":"disconnect","reason":"server_shuffle"}`},
		{"rtm goodbye", true, `{"type":"goodbye"}`},
		{"abrupt close", false, ""}, // not clean: the backoff bounds it as well
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHostile(t, &hostile{afterHello: func(ws *websocket.Conn, _ bool) {
				if tt.frame == "" {
					_ = ws.Close()
					return
				}
				_ = ws.WriteMessage(websocket.TextMessage, []byte(tt.frame))
				if strings.Contains(tt.frame, "warning") || strings.Contains(tt.frame, "refresh") {
					time.Sleep(200 * time.Millisecond) // then the server closes the socket, as Slack does
					_ = ws.Close()
				}
			}})
			hr := newHostileRuntime(t, h.apiURL(), 10*time.Second)
			if tt.rtm {
				hr.addWorkspace()
			} else {
				hr.addApp()
			}
			hr.await(5*time.Second, "connected", func(ev messages.Lifecycle) bool { _, ok := ev.(messages.Connected); return ok })
			start := h.opens.Load()
			time.Sleep(3 * time.Second) // the window the count is bounded over
			n := h.opens.Load() - start
			t.Logf("%d socket opens in 3s", n)
			if n >= 20 {
				t.Errorf("%d socket opens in 3s of clean ends, want fewer than 20", n)
			}
			if n < 1 {
				t.Errorf("%d socket opens in 3s of clean ends: the link stopped reconnecting", n)
			}
			if tt.frame != "" && !strings.Contains(hr.logs.String(), "repeat") {
				t.Error("no log of the backoff on repeated clean ends")
			}
		})
	}
}

// TestRetryAfterIsCappedAndParsed: a 429's Retry-After is read in both of RFC 9110's forms and
// capped at supervisor.DefaultMaxRetryAfter with a log, for apps.connections.open and rtm.connect.
func TestRetryAfterIsCappedAndParsed(t *testing.T) {
	t.Parallel()
	for _, rtm := range []bool{false, true} {
		for _, tt := range []struct {
			name     string
			header   func() string
			min, max time.Duration
			capped   bool
		}{
			{"31.7 years", func() string { return "999999999" }, supervisor.DefaultMaxRetryAfter, supervisor.DefaultMaxRetryAfter, true},
			{"past int64 nanoseconds", func() string { return "18446744074" }, supervisor.DefaultMaxRetryAfter, supervisor.DefaultMaxRetryAfter, true},
			{"http-date", func() string { return time.Now().Add(2 * time.Minute).UTC().Format(http.TimeFormat) }, 100 * time.Second, 2 * time.Minute, false},
			{"seconds", func() string { return "90" }, 90 * time.Second, 90 * time.Second, false},
		} {
			t.Run(fmt.Sprintf("rtm=%v/%s", rtm, tt.name), func(t *testing.T) {
				t.Parallel()
				h := newHostile(t, &hostile{open: func(w http.ResponseWriter, _ *http.Request) bool {
					w.Header().Set("Retry-After", tt.header())
					w.WriteHeader(http.StatusTooManyRequests)
					_, _ = w.Write([]byte(`{"ok":false,"error":"ratelimited"}`))
					return true
				}})
				hr := newHostileRuntime(t, h.apiURL(), 10*time.Second)
				if rtm {
					hr.addWorkspace()
				} else {
					hr.addApp()
				}
				ev := hr.await(5*time.Second, "reconnecting", func(ev messages.Lifecycle) bool { _, ok := ev.(messages.Reconnecting); return ok }).(messages.Reconnecting)
				if !errors.Is(ev.Cause, messages.ErrRateLimited) {
					t.Errorf("cause %v, want ratelimited", ev.Cause)
				}
				if ev.Delay < tt.min || ev.Delay > tt.max {
					t.Errorf("delay %v, want in [%v, %v]", ev.Delay, tt.min, tt.max)
				}
				if got := strings.Contains(hr.logs.String(), "retry-after capped"); got != tt.capped {
					t.Errorf("capped logged: %v, want %v", got, tt.capped)
				}
				if n := h.opens.Load(); n != 1 {
					t.Errorf("%d opens, want 1 (the link waits)", n)
				}
			})
		}
	}
}

// TestStopEndsAStalledHandshake: a socket server that accepts TCP but never completes the
// WebSocket handshake does not hold Stop: the dial ends with the session (goleak checks the rest).
func TestStopEndsAStalledHandshake(t *testing.T) {
	t.Parallel()
	for _, rtm := range []bool{false, true} {
		t.Run(fmt.Sprintf("rtm=%v", rtm), func(t *testing.T) {
			t.Parallel()
			addr := stallingListener(t)
			h := newHostile(t, &hostile{socketURL: "ws://" + addr + "/link"})
			hr := newHostileRuntime(t, h.apiURL(), 3*time.Second)
			if rtm {
				hr.addWorkspace()
			} else {
				hr.addApp()
			}
			hr.await(5*time.Second, "connecting", func(ev messages.Lifecycle) bool { _, ok := ev.(messages.Connecting); return ok })
			waitFor(t, 5*time.Second, "the open call", func() bool { return h.opens.Load() > 0 })
			// Cleanup stops the runtime within 3s, well before the dialer's 10s handshake timeout.
		})
	}
}

// TestHungOpenCallTimesOut: with an http.Client without a timeout, an apps.connections.open or
// rtm.connect that never answers ends the session after the open deadline (logged, retried)
// instead of leaving the link connecting forever. The default deadline is 10s; this test sets 300ms.
func TestHungOpenCallTimesOut(t *testing.T) {
	t.Parallel()
	for _, rtm := range []bool{false, true} {
		t.Run(fmt.Sprintf("rtm=%v", rtm), func(t *testing.T) {
			t.Parallel()
			h := newHostile(t, &hostile{open: func(_ http.ResponseWriter, r *http.Request) bool {
				<-r.Context().Done() // never answers; ends when the client gives up
				return true
			}})
			hr := newHostileRuntime(t, h.apiURL(), 5*time.Second, switchboard.WithHTTPClient(&http.Client{}),
				switchboard.WithOpenTimeout(300*time.Millisecond))
			if rtm {
				hr.addWorkspace()
			} else {
				hr.addApp()
			}
			ev := hr.await(30*time.Second, "reconnecting", func(ev messages.Lifecycle) bool { _, ok := ev.(messages.Reconnecting); return ok }).(messages.Reconnecting)
			if !strings.Contains(ev.Cause.Error(), "no answer within") {
				t.Errorf("cause %v, want the open deadline", ev.Cause)
			}
			waitFor(t, 5*time.Second, "the hung open call logged", func() bool {
				return strings.Contains(hr.logs.String(), "no answer within")
			})
		})
	}
}

// TestMassDropIsPaced: when every link drops at once, the runtime's connect budget (default: 10 at
// once, then one per 50ms) spreads the reconnects: no second sees anywhere near all of them, none
// is refused with a 429, and every link comes back.
func TestMassDropIsPaced(t *testing.T) {
	t.Parallel()
	const links = 60
	srv, err := fakeslack.New(fakeslack.Options{Workspaces: links, Apps: -1, UsersPerWorkspace: 1, ChannelsPerWorkspace: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	counter := newConnectCounter()
	hr := newHostileRuntime(t, srv.APIURL(), 15*time.Second,
		switchboard.WithHTTPClient(&http.Client{Transport: counter, Timeout: 30 * time.Second}),
		switchboard.WithBackoff(time.Second, 2*time.Minute, 300*time.Millisecond))
	for _, ws := range srv.Workspaces() {
		if err := hr.rt.AddWorkspace(context.Background(), switchboard.Workspace{Team: ws.TeamID, Token: ws.ClassicBotToken}); err != nil {
			t.Fatal(err)
		}
	}
	isConnected := func(ev messages.Lifecycle) bool { _, ok := ev.(messages.Connected); return ok }
	for range links {
		hr.await(30*time.Second, "connected", isConnected)
	}
	time.Sleep(400 * time.Millisecond) // every session healthy (resetAfter 300ms): each drop retries at once
	start := time.Now()
	for _, c := range srv.Connections("") {
		if err := srv.DropConnection(c.ID, false); err != nil {
			t.Fatal(err)
		}
	}
	for range links {
		hr.await(30*time.Second, "reconnected", isConnected)
	}
	sent := counter.since(start)
	if len(sent) < links {
		t.Errorf("%d rtm.connect calls after the drop, want at least %d", len(sent), links)
	}
	// The budget allows 10 + 20 in any second; the rest is slack for scheduling.
	if peak := peakPerSecond(sent); peak > 40 {
		t.Errorf("%d rtm.connect calls in one second of %d, want at most 40", peak, len(sent))
	}
	if n := counter.limited.Load(); n > 0 {
		t.Errorf("%d reconnects refused with 429", n)
	}
}
