package loadgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Result is what the Slack side measured of a run.
type Result struct {
	Events    int     `json:"events"`     // envelopes acked (Socket Mode) or frames written (RTM)
	Seconds   float64 `json:"seconds"`    // first write → last ack (RTM: last write)
	PerSecond float64 `json:"per_second"` // Events / Seconds
	// Ack latencies, envelope written → its ack read, in microseconds (Socket Mode only).
	AckP50 float64 `json:"ack_p50_us"`
	AckP99 float64 `json:"ack_p99_us"`
	AckMax float64 `json:"ack_max_us"`
	// Duplicates are acks of an envelope already acked; Unknown acks that name no envelope.
	Duplicates int `json:"duplicates"`
	Unknown    int `json:"unknown"`
	// CPU is the CPU time the Slack side's process used during the run, in seconds: it shares the
	// machine with the client.
	CPU float64 `json:"cpu_s"`
	// AuthTests is how many auth.test calls the client made, from its first socket to the run's end.
	AuthTests int64 `json:"auth_tests"`
}

// run is one measurement: its slots (one per socket) and the goroutines serving them.
type run struct {
	spec   Spec
	tokens []string
	byTok  map[string]int
	slots  []*slot

	mu     sync.Mutex
	next   []int // per token: slots handed out so far
	closed bool

	up     chan *slot    // each slot once its socket sent hello
	failed chan error    // the first socket failure, buffered 1
	stop   chan struct{} // closed by close
	wg     sync.WaitGroup
	start  atomic.Pointer[time.Time] // when the writers started

	authTests atomic.Int64 // auth.test calls while this run was the server's
}

// since is the time since the writers started.
func (r *run) since() time.Duration { return time.Since(*r.start.Load()) }

// slot is one socket of a run and what its writer and reader record.
type slot struct {
	index   int
	ids     ids
	perConn int
	used    atomic.Bool

	ws   *websocket.Conn
	wmu  sync.Mutex    // the writer and RTM pong replies share the socket
	win  chan struct{} // Socket Mode: one token per unacked envelope; nil when unbounded
	sent []atomic.Int64

	// reader-owned until done closes
	acked      []bool
	lat        []int64 // ns
	duplicates int
	unknown    int
	finished   time.Duration // since the run's start: last ack (or last write on RTM)
	done       chan struct{}
}

func newRun(spec Spec) *run {
	r := &run{spec: spec, byTok: map[string]int{}, next: make([]int, spec.Tokens),
		up: make(chan *slot, spec.Tokens*spec.Conns), failed: make(chan error, 1), stop: make(chan struct{})}
	for t := range spec.Tokens {
		tok := tokenOf(spec.Mode, t)
		r.tokens = append(r.tokens, tok)
		r.byTok[tok] = t
		for range spec.Conns {
			i := len(r.slots)
			sl := &slot{index: i, ids: newIDs(spec.Mode, i, t), perConn: spec.PerConn, done: make(chan struct{})}
			if spec.Mode == SocketMode {
				sl.sent = make([]atomic.Int64, spec.PerConn)
				sl.acked = make([]bool, spec.PerConn)
				sl.lat = make([]int64, 0, spec.PerConn)
				if spec.Window > 0 {
					sl.win = make(chan struct{}, spec.Window)
				}
			}
			r.slots = append(r.slots, sl)
		}
	}
	return r
}

// assign hands out the next free slot of token's app or workspace, or a Slack error code.
func (r *run) assign(token string, rtm bool) (*slot, string) {
	t, ok := r.byTok[token]
	if !ok {
		return nil, "invalid_auth"
	}
	if rtm != (r.spec.Mode == RTM) {
		return nil, "not_allowed_token_type"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.next[t] == r.spec.Conns {
		return nil, "too_many_websockets" // a reconnect within a run: the run fails on its socket
	}
	sl := r.slots[t*r.spec.Conns+r.next[t]]
	r.next[t]++
	return sl, ""
}

func (sl *slot) claim() bool { return sl.used.CompareAndSwap(false, true) }

// connect takes a slot's upgraded socket: hello, then its reader, which answers pings as it reads.
func (r *run) connect(sl *slot, ws *websocket.Conn) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		_ = ws.Close()
		return
	}
	sl.ws = ws
	r.wg.Add(1)
	r.mu.Unlock()
	hello := rtmHello
	if r.spec.Mode == SocketMode {
		hello = socketHello(sl.ids.app, sl.index%r.spec.Conns+1)
	}
	if err := ws.WriteMessage(websocket.TextMessage, hello); err != nil {
		r.fail(fmt.Errorf("slot %d: hello: %w", sl.index, err))
		r.wg.Done()
		return
	}
	go func() { // owner: run. Ends when the socket fails or close closes it; close waits on wg.
		defer r.wg.Done()
		r.read(sl)
	}()
	r.up <- sl
}

// wait is Server.Wait.
func (r *run) wait(connectWithin, runWithin time.Duration) (Result, error) {
	deadline := time.After(connectWithin)
	for range r.slots {
		select {
		case <-r.up:
		case err := <-r.failed:
			return Result{}, err
		case <-deadline:
			return Result{}, fmt.Errorf("loadgen: not every socket connected within %v", connectWithin)
		}
	}
	cpu0 := cpuTime()
	start := time.Now()
	r.start.Store(&start)
	for _, sl := range r.slots {
		r.wg.Add(1)
		go func() { // owner: run. Ends after PerConn writes or at the first write error; close waits on wg.
			defer r.wg.Done()
			r.write(sl)
		}()
	}
	deadline = time.After(runWithin)
	for _, sl := range r.slots {
		select {
		case <-sl.done:
		case err := <-r.failed:
			return Result{}, err
		case <-deadline:
			return Result{}, fmt.Errorf("loadgen: run not done within %v", runWithin)
		}
	}
	res := Result{CPU: (cpuTime() - cpu0).Seconds(), AuthTests: r.authTests.Load()}
	var last time.Duration
	var lat []int64
	for _, sl := range r.slots {
		last = max(last, sl.finished)
		res.Duplicates += sl.duplicates
		res.Unknown += sl.unknown
		lat = append(lat, sl.lat...)
		res.Events += sl.perConn
	}
	res.Seconds = last.Seconds()
	res.PerSecond = float64(res.Events) / res.Seconds
	if len(lat) > 0 {
		slices.Sort(lat)
		q := func(p float64) float64 { return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / 1e3 }
		res.AckP50, res.AckP99, res.AckMax = q(0.50), q(0.99), float64(lat[len(lat)-1])/1e3
	}
	return res, nil
}

// maxBatch is the most frames one write(2) carries: the Slack side writes what the window allows
// in one go, so that its own cost per event stays small next to the client's.
const maxBatch = 16

// write floods one socket: PerConn events, on Socket Mode each taking a window slot first. It
// frames them itself (a server's frames are unmasked) and writes up to maxBatch per write(2):
// gorilla writes every frame (its pongs included) with one write, so frames never interleave.
func (r *run) write(sl *slot) {
	conn := sl.ws.UnderlyingConn()
	out := make([]byte, 0, maxBatch*1400)
	body := make([]byte, 0, 2048)
	for seq := 0; seq < sl.perConn; {
		k := min(maxBatch, sl.perConn-seq)
		if sl.win != nil {
			select {
			case sl.win <- struct{}{}:
			case <-r.stop:
				return
			}
			n := 1
		more:
			for n < k {
				select {
				case sl.win <- struct{}{}:
					n++
				default:
					break more
				}
			}
			k = n
		}
		out = out[:0]
		for j := range k {
			if r.spec.Mode == RTM {
				body = appendRTMMessage(body[:0], &sl.ids, seq+j)
			} else {
				body = appendMessageEnvelope(body[:0], &sl.ids, seq+j)
				sl.sent[seq+j].Store(int64(r.since()))
			}
			out = appendTextFrame(out, body)
		}
		sl.wmu.Lock()
		_, err := conn.Write(out)
		sl.wmu.Unlock()
		if err != nil {
			r.fail(fmt.Errorf("slot %d: write %d: %w", sl.index, seq, err))
			return
		}
		seq += k
	}
	if r.spec.Mode == RTM {
		sl.finished = r.since()
		close(sl.done)
	}
}

// appendTextFrame appends a final, unmasked text frame carrying payload (RFC 6455 §5.2).
func appendTextFrame(dst, payload []byte) []byte {
	switch n := len(payload); {
	case n < 126:
		dst = append(dst, 0x81, byte(n))
	case n <= 0xffff:
		dst = append(dst, 0x81, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x81, 127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, payload...)
}

// read reads one socket's frames: acks on Socket Mode, pings on RTM (answered with a pong).
func (r *run) read(sl *slot) {
	var frame bytes.Buffer
	acked := 0
	for {
		_, rd, err := sl.ws.NextReader()
		if err != nil {
			if acked < sl.perConn || r.spec.Mode == RTM {
				r.fail(fmt.Errorf("slot %d: read after %d acks: %w", sl.index, acked, err))
			}
			return
		}
		frame.Reset()
		if _, err := frame.ReadFrom(rd); err != nil {
			r.fail(fmt.Errorf("slot %d: read: %w", sl.index, err))
			return
		}
		if r.spec.Mode == RTM {
			r.pong(sl, frame.Bytes())
			continue
		}
		if acked == sl.perConn {
			continue // done: wait reads the slot's counts now
		}
		s, seq, ok := parseEnvelopeID(envelopeIDOf(frame.Bytes()))
		if !ok || s != sl.index || seq >= sl.perConn {
			sl.unknown++
			continue
		}
		if sl.acked[seq] {
			sl.duplicates++
			continue
		}
		sl.acked[seq] = true
		sl.lat = append(sl.lat, int64(r.since())-sl.sent[seq].Load())
		if sl.win != nil {
			<-sl.win
		}
		if acked++; acked == sl.perConn {
			sl.finished = r.since()
			close(sl.done)
		}
	}
}

// pong answers an RTM JSON ping ({"id":n,"type":"ping",…}) with {"reply_to":n,"type":"pong",…}.
func (r *run) pong(sl *slot, frame []byte) {
	var f map[string]any
	if json.Unmarshal(frame, &f) != nil || f["type"] != "ping" {
		return
	}
	f["reply_to"], f["type"] = f["id"], "pong"
	delete(f, "id")
	b, _ := json.Marshal(f)
	sl.wmu.Lock()
	defer sl.wmu.Unlock()
	_, _ = sl.ws.UnderlyingConn().Write(appendTextFrame(nil, b))
}

// fail records the run's first socket failure, unless the run was closed.
func (r *run) fail(err error) {
	select {
	case <-r.stop:
	case r.failed <- err:
	default:
	}
}

// close ends the run: no new sockets, every socket closed, every goroutine exited. Safe to call twice.
func (r *run) close() {
	r.mu.Lock()
	already := r.closed
	r.closed = true
	r.mu.Unlock()
	if already {
		return
	}
	close(r.stop)
	for _, sl := range r.slots {
		if sl.ws != nil {
			_ = sl.ws.Close()
		}
	}
	r.wg.Wait()
}
