package engine

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/switchboard-go/switchboard/messages"
)

func TestQueueOverflow(t *testing.T) {
	for _, tt := range []struct {
		policy      Overflow
		wantDropped []string
		wantLeft    []string
	}{
		{DropNewest, []string{"4", "5"}, []string{"1", "2", "3"}},
		{DropOldest, []string{"1", "2"}, []string{"3", "4", "5"}},
	} {
		t.Run(tt.policy.String(), func(t *testing.T) {
			q := newQueue(3, tt.policy, NewFlow(), &subCounts{})
			var dropped []string
			wakes := 0
			for i := 1; i <= 5; i++ {
				old, droppedNew, droppedOld, wake := q.push(it(i))
				if droppedNew {
					dropped = append(dropped, fmt.Sprint(i))
				}
				if droppedOld {
					dropped = append(dropped, old.ev.EventID)
				}
				if wake {
					wakes++
				}
			}
			if wakes != 1 {
				t.Errorf("%d wakes for pushes into a scheduled queue, want 1", wakes)
			}
			if fmt.Sprint(dropped) != fmt.Sprint(tt.wantDropped) || q.counts.dropped.Load() != 2 {
				t.Errorf("dropped %v (count %d), want %v", dropped, q.counts.dropped.Load(), tt.wantDropped)
			}
			if n := q.counts.backlog.Load(); n != 3 || q.unfinished() != 3 {
				t.Errorf("backlog %d, unfinished %d with 3 queued", n, q.unfinished())
			}
			if _, ok := q.pop(); !ok || q.unfinished() != 3 {
				t.Errorf("a popped item still being handled must count as unfinished: %d", q.unfinished())
			}
			q.finished()
			var left []string
			for {
				v, ok := q.pop()
				if !ok {
					break
				}
				left = append(left, v.ev.EventID)
				q.finished()
			}
			if n := q.counts.backlog.Load(); n != 0 {
				t.Errorf("backlog %d after every item finished", n)
			}
			if fmt.Sprint(left) != fmt.Sprint(tt.wantLeft[1:]) {
				t.Errorf("left %v, want %v", left, tt.wantLeft)
			}
			if _, _, _, wake := q.push(it(9)); !wake {
				t.Error("push into a drained queue did not wake the subscriber")
			}
		})
	}
}

func TestQueueResumeAfterRestart(t *testing.T) {
	q := newQueue(2, DropNewest, NewFlow(), &subCounts{})
	q.push(it(1))
	if !q.resume() {
		t.Fatal("resume with an item waiting reported nothing")
	}
	q.pop()
	q.pop() // empty: clears scheduled
	if q.resume() {
		t.Fatal("resume of an empty queue reported work")
	}
	if _, _, _, wake := q.push(it(2)); !wake {
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

func TestQueueBackpressure(t *testing.T) {
	flow := NewFlow()
	q := newQueue(4, Backpressure, flow, &subCounts{})
	for i := 1; i <= 3; i++ {
		q.push(it(i))
	}
	if flow.Pressed() {
		t.Fatal("gate pressed below the queue's size")
	}
	for i := 4; i <= 6; i++ {
		if _, dn, do, _ := q.push(it(i)); dn || do {
			t.Fatalf("backpressure queue dropped at %d", i)
		}
	}
	if !flow.Pressed() {
		t.Fatal("a full backpressure queue did not press the gate")
	}
	if q.Len() != 6 || q.counts.dropped.Load() != 0 {
		t.Fatalf("len %d dropped %d, want 6 and 0: events on their way are kept", q.Len(), q.counts.dropped.Load())
	}
	for i := 1; i <= 3; i++ {
		q.pop()
	}
	if !flow.Pressed() {
		t.Fatal("gate eased above half the size")
	}
	q.pop() // 2 left: half of 4
	if flow.Pressed() {
		t.Fatal("gate still pressed at half the size")
	}
	// Two queues press: the gate opens once both eased.
	q2 := newQueue(1, Backpressure, flow, &subCounts{})
	q.push(it(7))
	q.push(it(8))
	q2.push(it(1))
	q.close()
	if !flow.Pressed() {
		t.Fatal("gate eased while the second queue is full")
	}
	q2.pop()
	if flow.Pressed() {
		t.Fatal("gate pressed after every queue eased or closed")
	}
	q.push(it(9)) // closed: never presses again
	if flow.Pressed() {
		t.Fatal("a closed queue pressed the gate")
	}
}

func TestQueueGrowsAndShrinks(t *testing.T) {
	q := newQueue(1000, DropNewest, NewFlow(), &subCounts{})
	if len(q.items) != 0 {
		t.Fatalf("a new queue holds %d slots, want none until used", len(q.items))
	}
	for i := 0; i < 500; i++ {
		q.push(it(i))
	}
	for i := 0; i < 500; i++ {
		if v, _ := q.pop(); v.ev.EventID != fmt.Sprint(i) {
			t.Fatalf("pop %d = %v: order lost across growth", i, v.ev.EventID)
		}
	}
	q.pop() // empty
	if len(q.items) != 0 {
		t.Errorf("an empty queue kept %d slots", len(q.items))
	}
}

// The window's memory does not depend on the IDs: however long they are, it remembers the last n,
// and grows its ring with use, never past n.
func TestIDWindowLongIDs(t *testing.T) {
	w := newIDWindow(10)
	big := string(make([]byte, 4096))
	for i := range 10 {
		if !w.add(fmt.Sprint(i, big)) {
			t.Fatalf("ID %d seen before", i)
		}
	}
	for i := range 10 {
		if w.add(fmt.Sprint(i, big)) {
			t.Errorf("ID %d forgotten within the window", i)
		}
	}
	w.add("new") // evicts 0
	if !w.add(fmt.Sprint(0, big)) {
		t.Error("the oldest ID still remembered beyond the window")
	}
	indexed := 0
	for _, p := range w.table {
		if p != 0 {
			indexed++
		}
	}
	if len(w.ring) != 10 || cap(w.ring) != 10 || indexed != 10 {
		t.Errorf("window of 10 holds ring %d (cap %d), table %d", len(w.ring), cap(w.ring), indexed)
	}
	if small := newIDWindow(10000); small.add("x") && cap(small.ring) > 64 {
		t.Errorf("a window with one ID has a ring of %d slots", cap(small.ring))
	}
}

// The window against the obvious one (a FIFO and a set of the IDs themselves), over a million
// random adds with many repeats, for several sizes: the table's backward-shift deletion must
// never lose an ID that is in the window nor keep one that left it, and never grow past its size.
func TestIDWindowAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 7, 64, 100, 1000} {
		w := newIDWindow(n)
		var fifo []string
		in := map[string]bool{}
		for i := 0; i < 1_000_000/max(1, 100/n+1); i++ {
			id := fmt.Sprint("Ev", rng.IntN(3*n+1))
			want := !in[id]
			if want {
				fifo = append(fifo, id)
				in[id] = true
				if len(fifo) > n {
					delete(in, fifo[0])
					fifo = fifo[1:]
				}
			}
			if got := w.add(id); got != want {
				t.Fatalf("n=%d, add #%d of %s = %v, want %v", n, i, id, got, want)
			}
		}
		if len(w.table) > 2*64 && 8*n <= 5*len(w.table)/2 {
			t.Errorf("n=%d: table of %d slots, more than needed", n, len(w.table))
		}
	}
}

// it is a queue item for event ID n.
func it(n int) item { return item{ev: &messages.Event{EventID: fmt.Sprint(n)}} }
