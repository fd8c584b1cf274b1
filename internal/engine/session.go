package engine

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// session is one socket session of a connection: its generation, the socket once dialed, and when
// traffic last arrived. The connection closes it on Restarting and Stopping; goroutines of the
// session read it but never own it.
type session struct {
	gen         uint64
	ctx         context.Context // cancelled by close
	cancel      context.CancelFunc
	mu          sync.Mutex
	ws          *websocket.Conn
	closed      bool
	lastInbound atomic.Int64 // unix nanoseconds, on clock
	// clock is the runtime's (useClock); until set, the wall clock.
	clock atomic.Pointer[Clock]
	// credits bound the frames of this session between its reader and the subscription queues
	// (for Socket Mode envelopes, until their ack leaves the writer's queue): the reader takes one
	// per frame, and waits when none is left.
	credits chan struct{}
	// pool is the runtime's credits, shared by every session (nil: none); pooled counts the
	// session's.
	pool   chan struct{}
	pooled atomic.Int64
	// paused is true while the reader holds back because of flow control: the silence is ours,
	// so the pingers do not count it as a stale link.
	paused atomic.Bool
	// batch is the socket's TCP connection when it was dialed here (nil otherwise): the writer
	// batches its writes while frames are queued. Set before the writer starts.
	batch *batchConn
	// awaitingReplies counts RTM sends waiting for their reply_to: while any waits, the reader
	// does not pause at the flow gate (the handler that sent may be what the gate waits for).
	awaitingReplies atomic.Int32
	// ahead counts the frames the reader sent the connection that the connection has not taken
	// yet (at most readAhead); aheadWake wakes a reader waiting for it to fall to half.
	ahead        atomic.Int32
	aheadWaiting atomic.Bool
	aheadWake    chan struct{}
}

// sessionCredits is how many frames a session may have between its reader and the queues. 64 is
// as fast as 256 was on every workload of the bare-loop comparison, and takes less memory where
// Slack keeps many envelopes unacked (with a queue of 256, on 8 busy connections, 2.7 MiB less of
// peak RSS): the frames past it wait in the socket. It also bounds, per socket, the slash commands
// waiting for a Respond and, with WithAckAfterHandlers, the events being handled.
const sessionCredits = 64

// readAhead is how many frames a session's reader may have sent its connection that the
// connection has not taken yet. The rest wait in the socket, not in memory: Slack keeps many
// envelopes unacked on a busy socket, and a reader that outruns its connection would otherwise
// hold them all (on 8 busy connections, 1.3 MiB less of peak RSS, at the same throughput). Once
// the limit is reached the reader waits until its connection has taken half of them.
const readAhead = 32

func newSession(parent context.Context, gen uint64) *session {
	ctx, cancel := context.WithCancel(parent)
	s := &session{gen: gen, ctx: ctx, cancel: cancel, credits: make(chan struct{}, sessionCredits),
		aheadWake: make(chan struct{}, 1)}
	s.touch()
	return s
}

// acquire takes a credit for one frame, from the session's and from the runtime's pool, waiting
// while either has none left; it fails once the session ends.
func (s *session) acquire() error {
	if err := take(s, s.credits); err != nil {
		return err
	}
	if s.pool == nil {
		return nil
	}
	if err := take(s, s.pool); err != nil {
		s.giveBack(s.credits)
		return err
	}
	s.pooled.Add(1)
	if s.ctx.Err() != nil { // closed meanwhile: close gave back what it counted
		s.releasePooled()
	}
	return nil
}

// sent records one more frame sent to the connection, first waiting, paused, while readAhead
// of them are still in its mailbox; it fails once the session ends.
func (s *session) sent() error {
	if s.ahead.Load() >= readAhead {
		s.paused.Store(true)
		defer s.resume()
		for s.ahead.Load() >= readAhead {
			s.aheadWaiting.Store(true)
			if s.ahead.Load() < readAhead { // taken meanwhile: no wake is coming for it
				s.aheadWaiting.Store(false)
				break
			}
			select {
			case <-s.aheadWake:
			case <-s.ctx.Done():
				return s.ctx.Err()
			}
		}
	}
	s.ahead.Add(1)
	return nil
}

// taken records that the connection took a frame of the session from its mailbox, and wakes
// the reader if it waits and half of readAhead is free again.
func (s *session) taken() {
	if s.ahead.Add(-1) <= readAhead/2 && s.aheadWaiting.CompareAndSwap(true, false) {
		select {
		case s.aheadWake <- struct{}{}:
		default:
		}
	}
}

// take takes a credit of c, pausing the reader while none is left, until s ends.
func take(s *session, c chan struct{}) error {
	select {
	case c <- struct{}{}:
		return nil
	default:
	}
	s.paused.Store(true)
	defer s.resume()
	select {
	case c <- struct{}{}:
		return nil
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
}

func (s *session) giveBack(c chan struct{}) {
	select {
	case <-c:
	default:
	}
}

// release returns a frame's credit. It never blocks.
func (s *session) release() {
	s.giveBack(s.credits)
	s.releasePooled()
}

// releasePooled gives one of the session's pool credits back, if it still holds one (close gives
// back all it holds: frames of an ended session are never handled).
func (s *session) releasePooled() {
	for {
		n := s.pooled.Load()
		if n <= 0 {
			return
		}
		if s.pooled.CompareAndSwap(n, n-1) {
			s.giveBack(s.pool)
			return
		}
	}
}

// resume ends a pause: the clock of silence starts again now.
func (s *session) resume() {
	s.touch()
	s.paused.Store(false)
}

// attach hands the dialed socket to the session; false means the session already ended and the
// caller must close ws itself.
func (s *session) attach(ws *websocket.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.ws = ws
	return true
}

func (s *session) conn() *websocket.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ws
}

// close ends the session: cancels its context and closes the socket, which ends its reader.
// Safe to call more than once.
func (s *session) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	s.cancel()
	if s.ws != nil {
		_ = s.ws.Close()
	}
	for n := s.pooled.Swap(0); n > 0; n-- { // frames still in mailboxes will never give them back
		s.giveBack(s.pool)
	}
}

// closeGracefully sends a close frame before closing.
func (s *session) closeGracefully() {
	if ws := s.conn(); ws != nil {
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	}
	s.close()
}

// useClock makes the session read c from now on; the silence clock starts again.
func (s *session) useClock(c Clock) {
	s.clock.Store(&c)
	s.touch()
}

func (s *session) now() time.Time {
	if c := s.clock.Load(); c != nil {
		return (*c).Now()
	}
	return time.Now()
}

func (s *session) touch() { s.lastInbound.Store(s.now().UnixNano()) }

// silentFor returns how long nothing arrived; zero while the reader is paused by flow control.
func (s *session) silentFor(now time.Time) time.Duration {
	if s.paused.Load() {
		return 0
	}
	return now.Sub(time.Unix(0, s.lastInbound.Load()))
}
