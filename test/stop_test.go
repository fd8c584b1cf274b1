package test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	switchboard "github.com/switchboard-go/switchboard"

	"github.com/switchboard-go/switchboard/fakeslack"
)

func TestGracefulStopAcksInFlightAndClosesCleanly(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeslack.Options{SocketMode: fakeslack.SocketModeOptions{NoRetries: true}})
	c := newTextCounter()
	if err := h.rt.OnEvent("message", c.handle); err != nil {
		t.Fatal(err)
	}
	app := h.addApp(2)
	h.awaitConnected(2, 5*time.Second)
	ws := h.srv.Workspaces()[0]
	injectN(t, h, app.ID, ws.TeamID, ws.Channels[0].ID, "m", 2000)
	waitFor(t, 10*time.Second, "events read", func() bool { return h.rt.Stats().EventsIn == 2000 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.rt.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if st := h.srv.Stats(); st.Acked != 2000 {
		t.Errorf("server saw %d acks of 2000 events read before Stop", st.Acked)
	}
	waitFor(t, 5*time.Second, "sockets closed", func() bool { return len(h.srv.Connections(app.ID)) == 0 })
	clean := 0
	for _, e := range h.srv.Transcript().Entries(func(e fakeslack.Entry) bool { return e.Kind == fakeslack.KindConn && e.App == app.ID }) {
		if strings.HasPrefix(e.Status, "closed by client: 1000") {
			clean++
		}
	}
	if clean != 2 {
		t.Errorf("%d sockets closed with a close frame (1000), want 2", clean)
	}
}

func TestStopHandlesEveryAcceptedEvent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeslack.Options{})
	var mu sync.Mutex
	handled := 0
	if err := h.rt.OnEvent("message", func(context.Context, *switchboard.Event) error {
		time.Sleep(time.Millisecond) // the work Stop waits for, not a wait for state
		mu.Lock()
		handled++
		mu.Unlock()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c := newTextCounter()
	if err := h.rt.Handle(switchboard.Filter{Types: []string{"message"}}, c.handle, switchboard.PerChannel(time.Minute)); err != nil {
		t.Fatal(err)
	}
	app := h.addApp(1)
	h.awaitConnected(1, 5*time.Second)
	ws := h.srv.Workspaces()[0]
	injectN(t, h, app.ID, ws.TeamID, ws.Channels[0].ID, "m", 500)
	waitFor(t, 10*time.Second, "events read", func() bool { return h.rt.Stats().EventsIn == 500 })
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := h.rt.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if acked := h.srv.Stats().Acked; acked != 500 {
		t.Fatalf("%d acked", acked)
	}
	mu.Lock()
	defer mu.Unlock()
	if handled != 500 {
		t.Errorf("handled %d of the 500 events acked before Stop", handled)
	}
	c.exactlyOnce(t, "m", 500)
}
