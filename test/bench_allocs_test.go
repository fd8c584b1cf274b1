package test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	switchboard "github.com/switchboard-go/switchboard"
)

// BenchmarkEventAllocs counts the heap allocations and bytes per Socket Mode event on the whole
// client path (read, decode, dispatch, a handler that does nothing, ack write), with a minimal
// server in the process that renders frames into one reused buffer and discards the acks (its own
// share is about one allocation per ack read). One op is one event.
func BenchmarkEventAllocs(b *testing.B) {
	var sent atomic.Int64
	total := int64(b.N) + 1000
	up := websocket.Upgrader{}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/apps.connections.open", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"ok":true,"url":"ws://` + r.Host + `/link"}`))
	})
	mux.HandleFunc("/link", func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello","num_connections":1}`))
		go func() { // owner: this handler; ends with the socket.
			var buf []byte
			for i := int64(0); i < total; i++ {
				id := strconv.AppendInt(nil, i, 10)
				buf = append(buf[:0], `{"envelope_id":"env-`...)
				buf = append(buf, id...)
				buf = append(buf, `","payload":{"token":"t","team_id":"T1","api_app_id":"A1","event":{"type":"message","user":"U1","text":"hello there, a message of some length","ts":"1.000001","channel":"C1","event_ts":"1.000001","channel_type":"channel"},"type":"event_callback","event_id":"Ev`...)
				buf = append(buf, id...)
				buf = append(buf, `","event_time":1},"type":"events_api","accepts_response_payload":false,"retry_attempt":0,"retry_reason":""}`...)
				if ws.WriteMessage(websocket.TextMessage, buf) != nil {
					return
				}
				sent.Add(1)
			}
		}()
		for {
			_, r, err := ws.NextReader()
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, r)
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	rt, err := switchboard.New(switchboard.WithAPIURL(srv.URL + "/api/"))
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = rt.Stop(ctx)
	}()
	var handled atomic.Int64
	if err := rt.OnEvent("message", func(context.Context, *switchboard.Event) error { handled.Add(1); return nil }); err != nil {
		b.Fatal(err)
	}
	if err := rt.AddApp(context.Background(), switchboard.App{Token: "xapp-1-A1-1-s"}); err != nil {
		b.Fatal(err)
	}
	wait := func(n int64) {
		for deadline := time.Now().Add(time.Minute); handled.Load() < n; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				b.Fatalf("handled %d of %d", handled.Load(), n)
			}
		}
	}
	wait(1000) // warm up: connected, queues grown
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	b.ResetTimer()
	wait(total)
	b.StopTimer()
	runtime.ReadMemStats(&m1)
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(b.N), "allocs/event")
	b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/float64(b.N), "B/event")
}
