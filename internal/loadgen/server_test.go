package loadgen

import (
	"context"
	"testing"
	"time"
)

// TestReferenceClients runs each reference client against the server in-process, small.
func TestReferenceClients(t *testing.T) {
	srv, err := NewServer()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, tt := range []struct {
		client string
		spec   Spec
	}{
		{"bare", Spec{Mode: SocketMode, PerConn: 500, Window: 100}},
		{"bare", Spec{Mode: SocketMode, Tokens: 2, Conns: 3, PerConn: 300}},
		{"ceiling", Spec{Mode: SocketMode, Conns: 2, PerConn: 500, Window: 10}},
		{"ceiling-coalesced", Spec{Mode: SocketMode, Conns: 2, PerConn: 500, Window: 100}},
		{"ceiling-coalesced", Spec{Mode: SocketMode, PerConn: 2000}},
		{"bare-rtm", Spec{Mode: RTM, Tokens: 3, PerConn: 400}},
	} {
		w, err := srv.Start(tt.spec)
		if err != nil {
			t.Fatal(err)
		}
		client, _ := ClientNamed(tt.client)
		c := NewCounter(w.Total)
		ctx, cancel := context.WithCancel(context.Background())
		failed := make(chan error, 1)
		go func() { failed <- client(ctx, w, c) }() // owner: this test; waited below.
		res, err := srv.Wait(10*time.Second, 30*time.Second)
		if err != nil {
			t.Fatalf("%s %+v: %v", tt.client, tt.spec, err)
		}
		select {
		case <-c.Full():
		case <-time.After(10 * time.Second):
			t.Fatalf("%s %+v: handled %d of %d", tt.client, tt.spec, c.n.Load(), w.Total)
		}
		cancel()
		<-failed
		if res.Events != w.Total || res.Duplicates != 0 || res.Unknown != 0 {
			t.Errorf("%s %+v: %+v", tt.client, tt.spec, res)
		}
		if tt.spec.Mode == SocketMode && (res.AckP50 <= 0 || res.AckP99 < res.AckP50) {
			t.Errorf("%s %+v: ack latencies %+v", tt.client, tt.spec, res)
		}
	}
}
