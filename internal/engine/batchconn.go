package engine

import (
	"net"
	"sync"
)

// batchConn is a session's TCP connection with write batching: while the writer holds a batch
// (more frames are queued), writes collect in a buffer and go out in one write when the batch is
// released, so a burst of acks costs one syscall instead of one each. Out of a batch, writes go
// straight through, so control frames written from other goroutines (the reader's pongs) are never
// delayed for long. A nil *batchConn batches nothing.
type batchConn struct {
	net.Conn
	mu      sync.Mutex
	holding bool
	buf     []byte
	err     error // the first failed flush; every later write fails with it
}

// maxBatch bounds the bytes a batch collects before it writes them out.
const maxBatch = 64 << 10

func (c *batchConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if !c.holding {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
		return c.Conn.Write(p)
	}
	c.buf = append(c.buf, p...)
	if len(c.buf) >= maxBatch {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (c *batchConn) flushLocked() error {
	if len(c.buf) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.buf)
	c.buf = c.buf[:0]
	if cap(c.buf) > maxBatch {
		c.buf = nil
	}
	if err != nil {
		c.err = err
	}
	return err
}

// hold starts a batch.
func (c *batchConn) hold() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.holding = true
	c.mu.Unlock()
}

// release ends a batch, writing what it collected.
func (c *batchConn) release() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.holding = false
	return c.flushLocked()
}

// Close writes what a batch collected before closing.
func (c *batchConn) Close() error {
	_ = c.release()
	return c.Conn.Close()
}
