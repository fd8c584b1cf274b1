package engine

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-go/switchboard/messages"
)

// Overflow says what a subscriber queue does once it holds its size.
type Overflow int

// Overflow policies.
const (
	// Backpressure (the default) never drops: a full queue holds the flow gate, so the readers
	// stop reading their sockets (and acking) until it has drained to half its size. The queue
	// takes the few events already on their way when it filled (at most the readers' credits).
	Backpressure Overflow = iota
	// DropNewest drops the event that does not fit; counted and logged.
	DropNewest
	// DropOldest drops the oldest queued event to make room; counted and logged.
	DropOldest
)

func (o Overflow) String() string {
	switch o {
	case DropNewest:
		return "drop-newest"
	case DropOldest:
		return "drop-oldest"
	default:
		return "backpressure"
	}
}

// Queue memory grows on demand, from minQueueCap slots, and is given back once the queue is empty
// with more than keepQueueCap slots, so idle keyed subscribers cost little.
const (
	minQueueCap  = 8
	keepQueueCap = 64
)

// queue is a subscriber's FIFO. The dispatcher pushes; the subscriber drains. scheduled is true
// while a wake message is on its way or the subscriber is draining, so a push wakes it only when
// it is idle.
type queue struct {
	mu        sync.Mutex
	items     []item // ring, grown by doubling
	head, n   int
	size      int // the bound: Backpressure presses the gate at it, the drop policies drop at it
	policy    Overflow
	flow      *Flow // nil: the queue never presses (lifecycle queues)
	pressing  bool
	scheduled bool
	closed    bool
	// counts are the subscription's, shared by its queues (one per key when keyed).
	counts *subCounts
	// open counts this queue's items accepted and not yet finished.
	open atomic.Int64
}

func newQueue(size int, policy Overflow, flow *Flow, counts *subCounts) *queue {
	return &queue{size: size, policy: policy, flow: flow, counts: counts}
}

// subCounts are one subscription's counters, over every key.
type subCounts struct {
	name string // the subscription's
	// backlog counts items accepted and not yet finished (queued, or being handled): Stop waits for
	// it to reach zero.
	backlog atomic.Int64
	// dropped counts items dropped by the overflow policy.
	dropped atomic.Int64
	// keys counts a keyed subscription's live keys.
	keys atomic.Int64

	mu         sync.Mutex
	lastLog    time.Time
	droppedLog int64 // dropped when the last log line was written
}

// dropLogEvery bounds the drop warnings: one line per subscription per period, with the count.
const dropLogEvery = 10 * time.Second

// logDrops writes a warning about drops, at most once per dropLogEvery for the subscription.
func (c *subCounts) logDrops(log *logrus.Entry, policy Overflow, now time.Time) {
	c.mu.Lock()
	if now.Sub(c.lastLog) < dropLogEvery {
		c.mu.Unlock()
		return
	}
	total := c.dropped.Load()
	since := total - c.droppedLog
	c.lastLog, c.droppedLog = now, total
	c.mu.Unlock()
	log.WithFields(logrus.Fields{"subscriber": c.name, "policy": policy.String(), "dropped": since, "dropped_total": total}).
		Warn("subscriber queue full: events dropped by its overflow policy")
}

// item is one queued delivery: an event with its envelope's ack, or a lifecycle event.
type item struct {
	ev  *messages.Event
	ack *Ack // nil for RTM events and lifecycle events
	lc  messages.Lifecycle
}

// push appends it. A drop policy at the queue's size drops the new item (droppedNew) or the
// oldest, which it returns (droppedOld). wake says whether the subscriber must be woken.
func (q *queue) push(it item) (oldest item, droppedNew, droppedOld, wake bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n >= q.size {
		switch {
		case q.policy == DropNewest:
			q.counts.dropped.Add(1)
			return item{}, true, false, false
		case q.policy == DropOldest || q.flow == nil:
			q.counts.dropped.Add(1)
			oldest, droppedOld = q.items[q.head], true
			q.items[q.head] = item{}
			q.head = (q.head + 1) % len(q.items)
			q.n--
			q.counts.backlog.Add(-1)
			q.open.Add(-1)
		}
	}
	if q.n == len(q.items) {
		q.grow()
	}
	q.items[(q.head+q.n)%len(q.items)] = it
	q.n++
	q.counts.backlog.Add(1)
	q.open.Add(1)
	if q.policy == Backpressure && q.flow != nil && !q.pressing && !q.closed && q.n >= q.size {
		q.pressing = true
		q.flow.press()
	}
	if !q.scheduled {
		q.scheduled = true
		wake = true
	}
	return oldest, false, droppedOld, wake
}

func (q *queue) grow() {
	c := max(minQueueCap, 2*len(q.items))
	items := make([]item, c)
	for i := 0; i < q.n; i++ {
		items[i] = q.items[(q.head+i)%len(q.items)]
	}
	q.items, q.head = items, 0
}

// pop removes the oldest item; when the queue is empty it clears scheduled and returns false.
func (q *queue) pop() (item, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n == 0 {
		q.scheduled = false
		if len(q.items) > keepQueueCap {
			q.items, q.head = nil, 0
		}
		return item{}, false
	}
	it := q.items[q.head]
	q.items[q.head] = item{}
	q.head = (q.head + 1) % len(q.items)
	q.n--
	if q.pressing && q.n <= q.size/2 {
		q.pressing = false
		q.flow.ease()
	}
	return it, true
}

// close is called when the queue's subscriber goes away: a pressing queue eases the gate, and
// presses no more.
func (q *queue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	if q.pressing {
		q.pressing = false
		q.flow.ease()
	}
}

// finished records that a popped item was handled (or its handler panicked).
func (q *queue) finished() {
	q.counts.backlog.Add(-1)
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
