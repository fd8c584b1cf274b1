package test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/messages"
)

// BenchmarkSocketModeThroughput measures events per second through the whole path, with the
// stand-in in the same process: server writes the envelope, the reader decodes it, the connection
// dispatches and acks it, a handler runs, and the server matches the ack. It reports events/s.
func BenchmarkSocketModeThroughput(b *testing.B) {
	for _, conns := range []int{1, 8} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			srv, err := fakeslack.New(fakeslack.Options{Workspaces: 1, TranscriptSize: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			rt, err := switchboard.New(switchboard.WithAPIURL(srv.APIURL()))
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = rt.Stop(ctx)
			}()
			var handled atomic.Int64
			// A queue that holds all b.N, dropping the newest past that (the default, 256 with
			// Backpressure, would hold the readers back at full blast).
			if err := rt.Handle(messageEvents, func(context.Context, *switchboard.Event) error { handled.Add(1); return nil }, bigQueue); err != nil {
				b.Fatal(err)
			}
			up := make(chan struct{}, conns)
			_ = rt.OnLifecycle(func(ev messages.Lifecycle) {
				if _, ok := ev.(messages.Connected); ok {
					up <- struct{}{}
				}
			})
			app, ws := srv.Apps()[0], srv.Workspaces()[0]
			if err := rt.AddApp(context.Background(), switchboard.App{ID: app.AppID, Token: app.AppToken, Connections: conns}); err != nil {
				b.Fatal(err)
			}
			for i := 0; i < conns; i++ {
				select {
				case <-up:
				case <-time.After(10 * time.Second):
					b.Fatal("not connected")
				}
			}
			b.ResetTimer()
			start := time.Now()
			if _, err := srv.InjectMessages(context.Background(), app.AppID, fakeslack.MessageStream{Team: ws.TeamID, Channel: ws.Channels[0].ID, TextPrefix: "m", Count: b.N}); err != nil {
				b.Fatal(err)
			}
			for handled.Load() < int64(b.N) || srv.Stats().Acked < int64(b.N) {
				if time.Since(start) > 2*time.Minute {
					b.Fatalf("handled %d acked %d of %d", handled.Load(), srv.Stats().Acked, b.N)
				}
				time.Sleep(time.Millisecond)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
		})
	}
}
