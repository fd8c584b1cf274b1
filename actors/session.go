package actors

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
	lastInbound atomic.Int64 // unix nanoseconds
}

func newSession(parent context.Context, gen uint64) *session {
	ctx, cancel := context.WithCancel(parent)
	s := &session{gen: gen, ctx: ctx, cancel: cancel}
	s.touch()
	return s
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
}

// closeGracefully sends a close frame before closing.
func (s *session) closeGracefully() {
	if ws := s.conn(); ws != nil {
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	}
	s.close()
}

func (s *session) touch() { s.lastInbound.Store(time.Now().UnixNano()) }

func (s *session) silentFor(now time.Time) time.Duration {
	return now.Sub(time.Unix(0, s.lastInbound.Load()))
}
