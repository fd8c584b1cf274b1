package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/installstore"
)

func testStateOnce(t *testing.T, s suite) {
	st, _ := s.open(t)
	ctx := context.Background()
	a, err := st.Issue(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.Issue(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if a == b || len(a) < 32 {
		t.Fatalf("states %q and %q: want distinct and long", a, b)
	}
	if err := st.Consume(ctx, a); err != nil {
		t.Fatalf("first Consume = %v", err)
	}
	if err := st.Consume(ctx, a); !errors.Is(err, installstore.ErrStateUnknown) {
		t.Errorf("second Consume = %v, want ErrStateUnknown", err)
	}
	if err := st.Consume(ctx, "never-issued"); !errors.Is(err, installstore.ErrStateUnknown) {
		t.Errorf("Consume of a state never issued = %v, want ErrStateUnknown", err)
	}
	if err := st.Consume(ctx, ""); !errors.Is(err, installstore.ErrStateUnknown) {
		t.Errorf("Consume(\"\") = %v, want ErrStateUnknown", err)
	}
	if err := st.Consume(ctx, b); err != nil {
		t.Errorf("Consume of the other state = %v", err)
	}
	if _, err := st.Issue(ctx, -time.Second); err == nil {
		t.Error("Issue with a negative ttl = nil error")
	}
}

func testStateExpiry(t *testing.T, s suite) {
	clk := newClock()
	st, _ := s.open(t, installstore.WithClock(clk.Now))
	ctx := context.Background()
	short, err := st.Issue(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	dflt, err := st.Issue(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	dflt2, err := st.Issue(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	if err := st.Consume(ctx, short); !errors.Is(err, installstore.ErrStateExpired) {
		t.Errorf("Consume at its ttl = %v, want ErrStateExpired", err)
	}
	if err := st.Consume(ctx, short); !errors.Is(err, installstore.ErrStateUnknown) {
		t.Errorf("Consume of an expired state again = %v, want ErrStateUnknown", err)
	}
	clk.Advance(installstore.DefaultStateTTL - time.Minute - time.Second)
	if err := st.Consume(ctx, dflt); err != nil {
		t.Errorf("Consume a second before the default ttl = %v", err)
	}
	clk.Advance(time.Second)
	// Issue sweeps what expired; the expired state stays refused either way.
	if _, err := st.Issue(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if err := st.Consume(ctx, dflt2); !errors.Is(err, installstore.ErrStateExpired) && !errors.Is(err, installstore.ErrStateUnknown) {
		t.Errorf("Consume after the default ttl = %v, want ErrStateExpired or ErrStateUnknown", err)
	}
}

// testStateConcurrent consumes one state from several goroutines and, on a persistent place, from
// two stores (two processes): exactly one succeeds.
func testStateConcurrent(t *testing.T, s suite) {
	st, p := s.open(t)
	stores := []Stores{st}
	if p.DB != nil {
		stores = append(stores, openOn(t, p, s.opts...))
	}
	ctx := context.Background()
	for round := 0; round < 5; round++ {
		state, err := st.Issue(ctx, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		var ok, unknown atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() { // owner: this test; one Consume; the test waits on wg.
				defer wg.Done()
				switch err := stores[i%len(stores)].Consume(ctx, state); {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, installstore.ErrStateUnknown):
					unknown.Add(1)
				default:
					t.Errorf("Consume = %v", err)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 1 || unknown.Load() != 7 {
			t.Fatalf("round %d: %d accepted, %d refused as unknown; want 1 and 7", round, ok.Load(), unknown.Load())
		}
	}
}
