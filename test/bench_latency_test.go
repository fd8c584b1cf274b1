package test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/messages"
)

// benchApp is a fakeslack server and a runtime with one Socket Mode app of conns connections,
// connected, for the Socket Mode benchmarks.
type benchApp struct {
	srv  *fakeslack.Server
	rt   *switchboard.Runtime
	app  fakeslack.App
	ws   fakeslack.Workspace
	acks *latencies
}

func newBenchApp(b *testing.B, conns int, subscribe func(rt *switchboard.Runtime)) *benchApp {
	b.Helper()
	srv, err := fakeslack.New(fakeslack.Options{Workspaces: 1, TranscriptSize: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Close() })
	rt, err := switchboard.New(switchboard.WithAPIURL(srv.APIURL()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = rt.Stop(ctx)
	})
	ba := &benchApp{srv: srv, rt: rt, app: srv.Apps()[0], ws: srv.Workspaces()[0], acks: &latencies{}}
	rt.OnAck(ba.acks.add)
	subscribe(rt)
	up := make(chan struct{}, conns)
	_ = rt.OnLifecycle(func(ev messages.Lifecycle) {
		if _, ok := ev.(messages.Connected); ok {
			up <- struct{}{}
		}
	})
	if err := rt.AddApp(context.Background(), switchboard.App{ID: ba.app.AppID, Token: ba.app.AppToken, Connections: conns}); err != nil {
		b.Fatal(err)
	}
	for range conns {
		select {
		case <-up:
		case <-time.After(10 * time.Second):
			b.Fatal("not connected")
		}
	}
	return ba
}

// inject injects n message events and waits until done() reaches target and the server matched
// every ack so far.
func (ba *benchApp) inject(b *testing.B, n int, acked int64, done func() int64, target int64) {
	if _, err := ba.srv.InjectMessages(context.Background(), ba.app.AppID, fakeslack.MessageStream{
		Team: ba.ws.TeamID, Channel: ba.ws.Channels[0].ID, TextPrefix: "m", Count: n}); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for done() < target || ba.srv.Stats().Acked < acked {
		if time.Since(start) > 2*time.Minute {
			b.Fatalf("handled %d of %d, acked %d of %d", done(), target, ba.srv.Stats().Acked, acked)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// messageEvents selects the injected message events; bigQueue keeps a benchmark's handler from
// dropping any at full blast (it drops the newest when full; the default queue, 256 with
// Backpressure, would hold the readers back instead).
var (
	messageEvents = switchboard.Filter{Kinds: []messages.Kind{messages.KindEventsAPI}, Types: []string{"message"}}
	bigQueue      = switchboard.Queue(1<<22, switchboard.DropNewest)
)

// latencies collects durations from any goroutine.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) reset() {
	l.mu.Lock()
	l.d = l.d[:0]
	l.mu.Unlock()
}

// quantile returns the q-quantile (0 ≤ q ≤ 1) of the collected durations.
func (l *latencies) quantile(q float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func (l *latencies) report(b *testing.B, unit string) {
	b.ReportMetric(float64(l.quantile(0.5).Microseconds())/1000, "p50-"+unit)
	b.ReportMetric(float64(l.quantile(0.99).Microseconds())/1000, "p99-"+unit)
}

// BenchmarkSocketModeAckLatency measures the ack latency Runtime.OnAck reports (envelope read →
// ack written) on 1 and 8 connections: at full blast (all b.N events injected at once, so up to
// b.N are in flight) and windowed (100 events injected, all handled and acked, then the next
// 100: at most 100 in flight). It reports p50 and p99 in ms and events/s.
func BenchmarkSocketModeAckLatency(b *testing.B) {
	for _, conns := range []int{1, 8} {
		for _, window := range []int{0, 100} {
			name := fmt.Sprintf("conns=%d/inflight=all", conns)
			if window > 0 {
				name = fmt.Sprintf("conns=%d/inflight=%d", conns, window)
			}
			b.Run(name, func(b *testing.B) {
				var handled atomic.Int64
				ba := newBenchApp(b, conns, func(rt *switchboard.Runtime) {
					_ = rt.Handle(messageEvents, func(context.Context, *switchboard.Event) error { handled.Add(1); return nil }, bigQueue)
				})
				ba.acks.reset()
				b.ResetTimer()
				start := time.Now()
				if window == 0 {
					ba.inject(b, b.N, int64(b.N), handled.Load, int64(b.N))
				} else {
					for sent := 0; sent < b.N; sent += window {
						n := min(window, b.N-sent)
						ba.inject(b, n, int64(sent+n), handled.Load, int64(sent+n))
					}
				}
				elapsed := time.Since(start)
				b.StopTimer()
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
				ba.acks.report(b, "ack-ms")
			})
		}
	}
}

// fanoutWindow is how many events BenchmarkDispatcherFanout injects before waiting for every
// subscriber to handle them.
const fanoutWindow = 10000

// BenchmarkDispatcherFanout measures one connection's events reaching 1, 10 and 100 subscribers:
// events/s counts events all subscribers have handled; deliveries/s counts handler calls.
func BenchmarkDispatcherFanout(b *testing.B) {
	for _, subs := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) {
			var handled atomic.Int64
			ba := newBenchApp(b, 1, func(rt *switchboard.Runtime) {
				for range subs {
					if err := rt.Handle(messageEvents, func(context.Context, *switchboard.Event) error { handled.Add(1); return nil },
						switchboard.Queue(2*fanoutWindow, switchboard.DropNewest)); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.ResetTimer()
			start := time.Now()
			// Windows of fanoutWindow events keep each subscriber's queue (fanoutWindow·2) from
			// overflowing while the slowest catches up.
			for sent := 0; sent < b.N; sent += fanoutWindow {
				n := min(fanoutWindow, b.N-sent)
				ba.inject(b, n, int64(sent+n), handled.Load, int64(sent+n)*int64(subs))
			}
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
			b.ReportMetric(float64(b.N*subs)/elapsed.Seconds(), "deliveries/s")
		})
	}
}

// BenchmarkReconnectAfterDrop measures the time from an abrupt drop of a healthy session to
// Connected again, with the default policy (the first failure of a connected session reconnects at
// once; the runtime's connect budget paces the rest); a session counts as healthy after 1s instead of the default minute, and each op
// waits that out, so that every drop meets a healthy session. Each op drops every link once, all
// at once: 20 RTM workspaces, or a Socket Mode app's 8 connections. It reports p50, p99 and max
// over all drops, in ms.
func BenchmarkReconnectAfterDrop(b *testing.B) {
	for _, transport := range []string{"rtm", "socketmode"} {
		b.Run("transport="+transport, func(b *testing.B) {
			srv, err := fakeslack.New(fakeslack.Options{Workspaces: 20, TranscriptSize: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			rt, err := switchboard.New(switchboard.WithAPIURL(srv.APIURL()),
				switchboard.WithBackoff(time.Second, 2*time.Minute, time.Second))
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = rt.Stop(ctx)
			}()
			var mu sync.Mutex
			dropped := map[string]time.Time{} // link → when its socket was dropped
			lat := &latencies{}
			connected := make(chan string, 64)
			_ = rt.OnLifecycle(func(ev messages.Lifecycle) {
				if c, ok := ev.(messages.Connected); ok {
					mu.Lock()
					if t, ok := dropped[c.Link.Name]; ok {
						lat.add(time.Since(t))
						delete(dropped, c.Link.Name)
					}
					mu.Unlock()
					connected <- c.Link.Name
				}
			}, switchboard.Queue(1<<12, switchboard.DropNewest))
			links := 0
			if transport == "rtm" {
				for _, ws := range srv.Workspaces() {
					if err := rt.AddWorkspace(context.Background(), switchboard.Workspace{Team: ws.TeamID, Token: ws.ClassicBotToken}); err != nil {
						b.Fatal(err)
					}
					links++
				}
			} else {
				app := srv.Apps()[0]
				links = 8
				if err := rt.AddApp(context.Background(), switchboard.App{ID: app.AppID, Token: app.AppToken, Connections: links}); err != nil {
					b.Fatal(err)
				}
			}
			awaitN := func(n int) {
				for range n {
					select {
					case <-connected:
					case <-time.After(30 * time.Second):
						b.Fatal("not connected within 30s")
					}
				}
			}
			awaitN(links)
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				time.Sleep(1200 * time.Millisecond) // healthy for longer than resetAfter
				b.StartTimer()
				conns := srv.Connections("")
				mu.Lock()
				for _, c := range conns {
					name := c.Team
					if c.Kind == fakeslack.ConnSocketMode {
						name = "" // the link is not named in ConnInfo: match by count below
					}
					if name != "" {
						dropped[name] = time.Now()
					}
				}
				mu.Unlock()
				start := time.Now()
				for _, c := range conns {
					_ = srv.DropConnection(c.ID, false)
				}
				if transport == "socketmode" {
					// Socket Mode links are named by the runtime ("A…/1"): time them from the drop.
					for range conns {
						select {
						case <-connected:
							lat.add(time.Since(start))
						case <-time.After(30 * time.Second):
							b.Fatal("not connected within 30s")
						}
					}
					continue
				}
				awaitN(len(conns))
			}
			b.StopTimer()
			lat.report(b, "ms")
			b.ReportMetric(float64(lat.quantile(1).Microseconds())/1000, "max-ms")
		})
	}
}
