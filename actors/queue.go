package actors

import (
	"sync"
	"sync/atomic"
)

// Overflow says what a full subscriber queue does with one more event.
type Overflow int

// Overflow policies.
const (
	// DropNewest drops the event that does not fit (the default).
	DropNewest Overflow = iota
	// DropOldest drops the oldest queued event to make room.
	DropOldest
)

func (o Overflow) String() string {
	if o == DropOldest {
		return "drop-oldest"
	}
	return "drop-newest"
}

// queue is a subscriber's bounded FIFO. The dispatcher pushes; the subscriber drains. scheduled is
// true while a wake message is on its way or the subscriber is draining, so a push wakes it only
// when it is idle.
type queue struct {
	mu        sync.Mutex
	items     []any // ring
	head, n   int
	policy    Overflow
	scheduled bool
	dropped   atomic.Int64
	// backlog counts items accepted and not yet finished (queued, or being handled), shared by the
	// queues of one subscription (one per key when keyed): Stop waits for it to reach zero.
	backlog *atomic.Int64
	// open counts this queue's items accepted and not yet finished.
	open atomic.Int64
}

func newQueue(size int, policy Overflow, backlog *atomic.Int64) *queue {
	return &queue{items: make([]any, size), policy: policy, backlog: backlog}
}

// push appends item. It returns the item dropped to keep the bound (the new one or the oldest), or
// nil, and whether the subscriber must be woken.
func (q *queue) push(item any) (dropped any, wake bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n == len(q.items) {
		q.dropped.Add(1)
		if q.policy == DropNewest {
			return item, false
		}
		dropped = q.items[q.head]
		q.items[q.head] = nil
		q.head = (q.head + 1) % len(q.items)
		q.n--
		q.backlog.Add(-1)
		q.open.Add(-1)
	}
	q.items[(q.head+q.n)%len(q.items)] = item
	q.n++
	q.backlog.Add(1)
	q.open.Add(1)
	if !q.scheduled {
		q.scheduled = true
		wake = true
	}
	return dropped, wake
}

// pop removes the oldest item; when the queue is empty it clears scheduled and returns false.
func (q *queue) pop() (any, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n == 0 {
		q.scheduled = false
		return nil, false
	}
	item := q.items[q.head]
	q.items[q.head] = nil
	q.head = (q.head + 1) % len(q.items)
	q.n--
	return item, true
}

// finished records that a popped item was handled (or its handler panicked).
func (q *queue) finished() {
	q.backlog.Add(-1)
	q.open.Add(-1)
}

// unfinished returns how many items were accepted and not yet finished: queued or being handled.
func (q *queue) unfinished() int64 { return q.open.Load() }

// resume is called by a (re)started subscriber: it reports whether items wait, and keeps
// scheduled consistent with that.
func (q *queue) resume() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.scheduled = q.n > 0
	return q.scheduled
}

// Len returns the number of queued items.
func (q *queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}
