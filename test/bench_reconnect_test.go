package test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/messages"
)

// connectCounter is an http.RoundTripper over the real transport that notes when each
// socket-opening call (rtm.connect, apps.connections.open) went out and how many were answered 429.
type connectCounter struct {
	next    http.RoundTripper
	mu      sync.Mutex
	sent    []time.Time
	limited atomic.Int64
}

func newConnectCounter() *connectCounter {
	return &connectCounter{next: http.DefaultTransport.(*http.Transport).Clone()}
}

func (c *connectCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	opening := strings.HasSuffix(r.URL.Path, "/rtm.connect") || strings.HasSuffix(r.URL.Path, "/apps.connections.open")
	if opening {
		c.mu.Lock()
		c.sent = append(c.sent, time.Now())
		c.mu.Unlock()
	}
	resp, err := c.next.RoundTrip(r)
	if opening && err == nil && resp.StatusCode == http.StatusTooManyRequests {
		c.limited.Add(1)
	}
	return resp, err
}

// since returns the times of the calls sent at or after t.
func (c *connectCounter) since(t time.Time) []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Time
	for _, s := range c.sent {
		if !s.Before(t) {
			out = append(out, s)
		}
	}
	return out
}

// peakPerSecond is the most calls in any one-second window.
func peakPerSecond(ts []time.Time) int {
	peak, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= time.Second {
			j++
		}
		peak = max(peak, i-j+1)
	}
	return peak
}

// BenchmarkReconnectLoneLink measures drop → Connected for one link alone in its runtime, from
// outside: the time from fakeslack dropping the socket abruptly to the Connected lifecycle event.
// Each op first waits for the session to count as healthy (resetAfter 200ms), so every drop is the
// first failure after a healthy session, which the policy retries at once; that wait is in ns/op
// (so the default -benchtime makes a few ops, not hundreds: use -benchtime 50x for 50 drops). fakeslack's rate
// limits are off: one token reconnects here far more often than Slack's Tier 1 allows. It reports
// p50, p99 and max in ms.
func BenchmarkReconnectLoneLink(b *testing.B) {
	for _, transport := range []string{"socketmode", "rtm"} {
		b.Run("transport="+transport, func(b *testing.B) {
			srv, err := fakeslack.New(fakeslack.Options{Workspaces: 1, TranscriptSize: -1,
				RateLimits: map[string]fakeslack.Limit{}})
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			rt, err := switchboard.New(switchboard.WithAPIURL(srv.APIURL()),
				switchboard.WithBackoff(time.Second, 2*time.Minute, 200*time.Millisecond))
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = rt.Stop(ctx)
			}()
			connected := make(chan time.Time, 16)
			_ = rt.OnLifecycle(func(ev messages.Lifecycle) {
				if _, ok := ev.(messages.Connected); ok {
					connected <- time.Now()
				}
			})
			if transport == "rtm" {
				ws := srv.Workspaces()[0]
				err = rt.AddWorkspace(context.Background(), switchboard.Workspace{Team: ws.TeamID, Token: ws.ClassicBotToken})
			} else {
				app := srv.Apps()[0]
				err = rt.AddApp(context.Background(), switchboard.App{ID: app.AppID, Token: app.AppToken, Connections: 1})
			}
			if err != nil {
				b.Fatal(err)
			}
			await := func() time.Time {
				select {
				case t := <-connected:
					return t
				case <-time.After(30 * time.Second):
					b.Fatal("not connected within 30s")
					return time.Time{}
				}
			}
			await()
			lat := &latencies{}
			b.ResetTimer()
			for range b.N {
				time.Sleep(250 * time.Millisecond) // healthy for longer than resetAfter
				conns := srv.Connections("")
				if len(conns) != 1 {
					b.Fatalf("%d sockets open, want 1", len(conns))
				}
				start := time.Now()
				if err := srv.DropConnection(conns[0].ID, false); err != nil {
					b.Fatal(err)
				}
				lat.add(await().Sub(start))
			}
			b.StopTimer()
			lat.report(b, "ms")
			b.ReportMetric(float64(lat.quantile(1).Microseconds())/1000, "max-ms")
		})
	}
}

// BenchmarkReconnectMassDrop connects 1,000 RTM workspaces, then drops every socket at once and
// waits until each link is Connected again: paced by the runtime's default connect budget (10 at
// once, then 20 a second), and, for comparison, with a budget that never waits (budget=off).
// fakeslack limits rtm.connect per token as Slack does per workspace (defaults: 20 a minute, burst
// 20). It reports the seconds from the drop to the last Connected, the 429s the reconnects got, the
// rtm.connect calls in the busiest second, and the calls made (1,000 when none is refused). One op
// is longer than a second, so the default -benchtime runs one.
func BenchmarkReconnectMassDrop(b *testing.B) {
	for _, budget := range []struct {
		name string
		opt  []switchboard.Option
	}{
		{"default", nil},
		{"off", []switchboard.Option{switchboard.WithConnectBudget(1<<20, time.Nanosecond)}},
	} {
		b.Run("budget="+budget.name, func(b *testing.B) { benchMassDrop(b, 1000, budget.opt...) })
	}
}

func benchMassDrop(b *testing.B, links int, opts ...switchboard.Option) {
	srv, err := fakeslack.New(fakeslack.Options{Workspaces: links, Apps: -1, UsersPerWorkspace: 2,
		ChannelsPerWorkspace: 1, TranscriptSize: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	counter := newConnectCounter()
	rt, err := switchboard.New(append([]switchboard.Option{switchboard.WithAPIURL(srv.APIURL()),
		switchboard.WithHTTPClient(&http.Client{Transport: counter, Timeout: 30 * time.Second}),
		switchboard.WithBackoff(time.Second, 2*time.Minute, time.Second)}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = rt.Stop(ctx)
	}()
	var up atomic.Int64
	_ = rt.OnLifecycle(func(ev messages.Lifecycle) {
		if _, ok := ev.(messages.Connected); ok {
			up.Add(1)
		}
	}, switchboard.Queue(1<<14, switchboard.DropNewest))
	for _, ws := range srv.Workspaces() {
		if err := rt.AddWorkspace(context.Background(), switchboard.Workspace{Team: ws.TeamID, Token: ws.ClassicBotToken}); err != nil {
			b.Fatal(err)
		}
	}
	waitUp := func(n int64, within time.Duration) {
		waitFor(b, within, "links connected", func() bool { return up.Load() >= n })
	}
	waitUp(int64(links), 2*time.Minute)
	var took time.Duration
	var sent []time.Time
	limitedBefore := counter.limited.Load()
	b.ResetTimer()
	for i := range b.N {
		time.Sleep(1200 * time.Millisecond) // healthy for longer than resetAfter (in ns/op: one op per run)
		conns := srv.Connections("")
		start := time.Now()
		for _, c := range conns {
			_ = srv.DropConnection(c.ID, false)
		}
		waitUp(int64(links*(i+2)), 10*time.Minute)
		took = time.Since(start)
		sent = counter.since(start)
	}
	b.StopTimer()
	b.ReportMetric(took.Seconds(), "s-all-reconnected")
	b.ReportMetric(float64(counter.limited.Load()-limitedBefore), "429s")
	b.ReportMetric(float64(peakPerSecond(sent)), "peak-connects/s")
	b.ReportMetric(float64(len(sent)), "connects")
}
