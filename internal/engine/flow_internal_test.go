package engine

import (
	"context"
	"testing"
)

// TestPoolCreditsComeBack: a session gives back the runtime's credits it holds as frames are
// handled, and all the rest when it closes (frames left in mailboxes never are); a release after
// the close gives nothing back twice.
func TestPoolCreditsComeBack(t *testing.T) {
	pool := make(chan struct{}, 8)
	s := newSession(context.Background(), 1)
	s.pool = pool
	for i := 0; i < 3; i++ {
		if err := s.acquire(); err != nil {
			t.Fatal(err)
		}
	}
	other := newSession(context.Background(), 2)
	other.pool = pool
	if err := other.acquire(); err != nil {
		t.Fatal(err)
	}
	s.release()
	if len(pool) != 3 {
		t.Fatalf("pool holds %d credits, want 3", len(pool))
	}
	s.close()
	if len(pool) != 1 {
		t.Fatalf("after close the pool holds %d credits, want the other session's 1", len(pool))
	}
	s.release() // a frame of the closed session handled late
	s.release()
	if len(pool) != 1 {
		t.Fatalf("late releases took %d credits of another session", 1-len(pool))
	}
	other.close()
	if len(pool) != 0 {
		t.Fatalf("%d credits left after every session closed", len(pool))
	}
}
