package actors

import (
	"fmt"
	"sync/atomic"
	"testing"
)

func TestQueueOverflow(t *testing.T) {
	for _, tt := range []struct {
		policy      Overflow
		wantDropped []any
		wantLeft    []any
	}{
		{DropNewest, []any{4, 5}, []any{1, 2, 3}},
		{DropOldest, []any{1, 2}, []any{3, 4, 5}},
	} {
		t.Run(tt.policy.String(), func(t *testing.T) {
			q := newQueue(3, tt.policy, &atomic.Int64{})
			var dropped []any
			wakes := 0
			for i := 1; i <= 5; i++ {
				d, wake := q.push(i)
				if d != nil {
					dropped = append(dropped, d)
				}
				if wake {
					wakes++
				}
			}
			if wakes != 1 {
				t.Errorf("%d wakes for pushes into a scheduled queue, want 1", wakes)
			}
			if fmt.Sprint(dropped) != fmt.Sprint(tt.wantDropped) || q.dropped.Load() != 2 {
				t.Errorf("dropped %v (count %d), want %v", dropped, q.dropped.Load(), tt.wantDropped)
			}
			if n := q.backlog.Load(); n != 3 || q.unfinished() != 3 {
				t.Errorf("backlog %d, unfinished %d with 3 queued", n, q.unfinished())
			}
			if _, ok := q.pop(); !ok || q.unfinished() != 3 {
				t.Errorf("a popped item still being handled must count as unfinished: %d", q.unfinished())
			}
			q.finished()
			var left []any
			for {
				v, ok := q.pop()
				if !ok {
					break
				}
				left = append(left, v)
				q.finished()
			}
			if n := q.backlog.Load(); n != 0 {
				t.Errorf("backlog %d after every item finished", n)
			}
			if fmt.Sprint(left) != fmt.Sprint(tt.wantLeft[1:]) {
				t.Errorf("left %v, want %v", left, tt.wantLeft)
			}
			if _, wake := q.push(9); !wake {
				t.Error("push into a drained queue did not wake the subscriber")
			}
		})
	}
}

func TestQueueResumeAfterRestart(t *testing.T) {
	q := newQueue(2, DropNewest, &atomic.Int64{})
	q.push(1)
	if !q.resume() {
		t.Fatal("resume with an item waiting reported nothing")
	}
	q.pop()
	q.pop() // empty: clears scheduled
	if q.resume() {
		t.Fatal("resume of an empty queue reported work")
	}
	if _, wake := q.push(2); !wake {
		t.Error("push after an empty resume did not wake")
	}
}

func TestIDWindow(t *testing.T) {
	w := newIDWindow(3)
	for _, id := range []string{"a", "b", "c"} {
		if !w.add(id) {
			t.Fatalf("%s seen before", id)
		}
	}
	if w.add("a") {
		t.Error("duplicate a accepted")
	}
	w.add("d") // evicts a
	if !w.add("a") {
		t.Error("a still remembered beyond the window")
	}
}
