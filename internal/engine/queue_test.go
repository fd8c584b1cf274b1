package engine

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
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
	for i := range w.size() {
		if w.at(i) != 0 {
			indexed++
		}
	}
	if len(w.lows) != 10 || cap(w.lows) != 10 || len(w.highs) != 10 || indexed != 10 {
		t.Errorf("window of 10 holds ring %d (cap %d, high words %d), table %d", len(w.lows), cap(w.lows), len(w.highs), indexed)
	}
	if small := newIDWindow(10000); small.add("x") && cap(small.lows) > 64 {
		t.Errorf("a window with one ID has a ring of %d slots", cap(small.lows))
	}
}

// The window against the obvious one (a FIFO and a set of the IDs themselves), over a million
// random adds with many repeats, for several sizes (the last with the wide table): the table's
// backward-shift deletion must never lose an ID that is in the window nor keep one that left it,
// and never grow past its size. IDs of Slack's shape (packed) alone, and mixed with others
// (hashed) that appear part-way, so that the high words come while the ring is in use.
func TestIDWindowAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 7, 64, 100, 1000, 70000} {
		for _, mixed := range []bool{false, true} {
			w := newIDWindow(n)
			var fifo []string
			in := map[string]bool{}
			adds := 1_000_000 / max(1, 100/n+1)
			for i := 0; i < adds; i++ {
				v := rng.IntN(3*n + 1)
				id := "Ev" + strings.ToUpper(strconv.FormatInt(int64(v), 36))
				if mixed && i > adds/3 && v%2 == 0 {
					id = fmt.Sprint("ev-", v/2) // not Slack's shape: hashed
				}
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
					t.Fatalf("n=%d mixed=%v, add #%d of %s = %v, want %v", n, mixed, i, id, got, want)
				}
			}
			if w.size() > 2*64 && 8*n <= 5*w.size()/2 {
				t.Errorf("n=%d: table of %d slots, more than needed", n, w.size())
			}
			if (w.highs != nil) != mixed || (w.wide != nil) != (n >= 1<<16) {
				t.Errorf("n=%d mixed=%v: high words %v, wide table %v", n, mixed, w.highs != nil, w.wide != nil)
			}
		}
	}
}

// Slack's event IDs pack into distinct numbers below 2^63; others do not pack.
func TestPackEventID(t *testing.T) {
	seen := map[uint64]string{}
	for _, id := range []string{"Ev0", "Ev00", "Ev000", "Ev1", "EvZ", "Ev10", "EvZZ", "Ev100", "Ev08MFMKH6", "Ev08MFMKH7", "Ev01C0VWJ3TX", "EvZZZZZZZZZZZZ", "Ev000000000000"} {
		v, ok := packEventID(id)
		if !ok || v>>63 != 0 {
			t.Fatalf("%s: %d, %v", id, v, ok)
		}
		if other, dup := seen[v]; dup {
			t.Fatalf("%s and %s both pack to %d", id, other, v)
		}
		seen[v] = id
	}
	for _, id := range []string{"", "Ev", "ev1", "EV1", "Ev1a", "Ev-1", "Ev0000000000000", "Xv1", "Ev1 "} {
		if v, ok := packEventID(id); ok {
			t.Errorf("%q packed to %d", id, v)
		}
	}
	// Every number of up to 2 characters, in order: the packing is a bijection onto 0..36+36².
	want := uint64(0)
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	for l := 1; l <= 2; l++ {
		for v := range pow(36, l) {
			id := "Ev"
			for i, x := 0, v; i < l; i, x = i+1, x/36 {
				id = id[:2] + string(digits[x%36]) + id[2:]
			}
			if got, _ := packEventID(id); got != want {
				t.Fatalf("%s packs to %d, want %d", id, got, want)
			}
			want++
		}
	}
}

func pow(b, e int) int {
	r := 1
	for range e {
		r *= b
	}
	return r
}

// A window full of 10,000 of Slack's IDs keeps 8 bytes an ID and a table of 2-byte positions.
func TestIDWindowSize(t *testing.T) {
	w := newIDWindow(10000)
	for i := range 30000 {
		if !w.add(fmt.Sprintf("Ev%010d", i)) {
			t.Fatalf("ID %d seen before", i)
		}
	}
	if cap(w.lows) != 10000 || w.highs != nil || len(w.narrow) != 16384 || w.wide != nil {
		t.Errorf("ring of %d, high words %d, table %d narrow and %d wide slots", cap(w.lows), cap(w.highs), len(w.narrow), len(w.wide))
	}
}

// it is a queue item for event ID n.
func it(n int) item { return item{ev: &messages.Event{EventID: fmt.Sprint(n)}} }

// One add to a full window of 10,000: Slack's IDs (packed) and others (hashed).
func BenchmarkIDWindowAdd(b *testing.B) {
	for _, shape := range []string{"Ev%010d", "event-%d"} {
		b.Run(shape[:2], func(b *testing.B) {
			w := newIDWindow(10000)
			ids := make([]string, 1<<16)
			for i := range ids {
				ids[i] = fmt.Sprintf(shape, i)
			}
			for i := range 10000 {
				w.add(ids[i])
			}
			b.ResetTimer()
			for i := range b.N {
				w.add(ids[i&(len(ids)-1)])
			}
		})
	}
}
