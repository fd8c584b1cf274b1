package chaos

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/messages"
)

var seedFlag = flag.Int64("chaos.seed", 0, "seed of the fault RNG (0: SWITCHBOARD_SOAK_SEED, else the clock)")

// scale is one soak's size and rates.
type scale struct {
	long       bool
	duration   time.Duration
	workspaces int           // RTM workspaces (plus one Socket Mode app with smConns connections)
	smConns    int           // Socket Mode connections of the app
	smBatch    int           // Socket Mode events per injection …
	smEvery    time.Duration // … every smEvery
	rtmEvery   time.Duration // one RTM event into a random workspace every rtmEvery
	sendEvery  time.Duration // one rt.Send to a random workspace every sendEvery
	faultEvery time.Duration // one RTM fault every faultEvery
	// smFaultEvery is the Socket Mode fault period. Each fault costs an apps.connections.open,
	// which Slack (and fakeslack) limit to 60 a minute per app with a burst of 30: faster, the
	// app spends its time in Retry-After with no socket, fakeslack's queue for it (10,000)
	// overflows, and events are lost at the server, not in the runtime.
	smFaultEvery time.Duration
	revokeAt     time.Duration // revoke cycles (revoke, Fatal, restore, re-add) every revokeAt
	ackTimeout   time.Duration // fakeslack's Socket Mode ack deadline (Slack's is 3s)
}

func soakScale(t *testing.T) scale {
	s := scale{duration: 4 * time.Second, workspaces: 20, smConns: 4, smBatch: 10, smEvery: 25 * time.Millisecond,
		rtmEvery: 5 * time.Millisecond, sendEvery: 20 * time.Millisecond, faultEvery: 150 * time.Millisecond, smFaultEvery: 250 * time.Millisecond,
		revokeAt: 1500 * time.Millisecond, ackTimeout: 300 * time.Millisecond}
	if v := os.Getenv("SWITCHBOARD_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("SWITCHBOARD_SOAK=%q is not a positive duration", v)
		}
		s = scale{long: true, duration: d, workspaces: 200, smConns: 4, smBatch: 10, smEvery: 10 * time.Millisecond,
			rtmEvery: 2 * time.Millisecond, sendEvery: 10 * time.Millisecond, faultEvery: 50 * time.Millisecond, smFaultEvery: 2 * time.Second,
			revokeAt: 20 * time.Second, ackTimeout: time.Second}
	}
	return s
}

func soakSeed() int64 {
	if *seedFlag != 0 {
		return *seedFlag
	}
	if v := os.Getenv("SWITCHBOARD_SOAK_SEED"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	}
	return time.Now().UnixNano()
}

// soak is one run: the server, the runtime, the ledger and the counters of what was done.
type soak struct {
	t      *testing.T
	sc     scale
	srv    *fakeslack.Server
	rt     *switchboard.Runtime
	led    *ledger
	app    fakeslack.App
	teams  []switchboard.Workspace
	chans  map[string]string // team → a channel ID
	locks  []sync.Mutex      // per workspace: injections and faults of one workspace never overlap
	revoke int               // index of the workspace whose token is revoked and restored

	faults                                sync.Map // kind → *atomic.Int64
	sends, sendsDone, sendsOK, sendsHung  atomic.Int64
	sendErrs                              sync.Map // kind → *atomic.Int64
	revokes, fatalSeen, readded, panicked atomic.Int64
	slowHandled                           atomic.Int64
	acks, lateAcks, maxAck                atomic.Int64 // from rt.OnAck; late: over the server's ack deadline
}

func (s *soak) count(m *sync.Map, kind string) {
	v, _ := m.LoadOrStore(kind, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func snapshot(m *sync.Map) map[string]int {
	out := map[string]int{}
	m.Range(func(k, v any) bool { out[k.(string)] = int(v.(*atomic.Int64).Load()); return true })
	return out
}

// TestChaos is the soak. See the package doc for its modes; the checks are listed in check.
func TestChaos(t *testing.T) {
	sc := soakScale(t)
	seed := soakSeed()
	t.Logf("chaos seed %d (replay: -chaos.seed=%d), %d RTM workspaces, %d Socket Mode connections, %v",
		seed, seed, sc.workspaces, sc.smConns, sc.duration)
	if sc.long {
		fmt.Printf("chaos seed %d\n", seed)
	}
	heap0 := liveHeap()

	s := &soak{t: t, sc: sc, led: newLedger(), chans: map[string]string{}}
	s.start()
	ctx, cancel := context.WithTimeout(context.Background(), sc.duration)
	var wg sync.WaitGroup
	var sendWG sync.WaitGroup
	for i, f := range []func(context.Context, *rand.Rand){
		s.injectSocketMode, s.injectRTM, func(ctx context.Context, r *rand.Rand) { s.sendRTM(ctx, r, &sendWG) },
		func(ctx context.Context, r *rand.Rand) { s.injectFaults(ctx, r, "rtm", s.sc.faultEvery) },
		func(ctx context.Context, r *rand.Rand) { s.injectFaults(ctx, r, "sm", s.sc.smFaultEvery) },
		s.revokeCycles,
	} {
		wg.Add(1)
		go func() { // owner: TestChaos. Ends when ctx does; waited below.
			defer wg.Done()
			f(ctx, rand.New(rand.NewPCG(uint64(seed), uint64(i))))
		}()
	}
	if sc.long || os.Getenv("CHAOS_PROGRESS") != "" {
		wg.Add(1)
		go func() { // owner: TestChaos. Ends with ctx; waited below.
			defer wg.Done()
			s.progress(ctx)
		}()
	}
	wg.Wait()
	cancel()
	s.settle(&sendWG)
	v := s.led.verdict()
	s.report(seed, v)
	s.check(v)

	stopCtx, stopCancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer stopCancel()
	if err := s.rt.Stop(stopCtx); err != nil {
		t.Errorf("Stop: %v", err)
	}
	_ = s.srv.Close()
	s.led, s.rt, s.srv = nil, nil, nil
	goleak.VerifyNone(t)
	// Timers of the stopped runtime (hello timeout, a retiring connection's grace, 3s at most here)
	// keep its actor system reachable until they fire: give them that long.
	var heap1 uint64
	waitUntil(context.Background(), 5*time.Second, func() bool { heap1 = liveHeap(); return heap1 <= heap0+heapSlack })
	if p := os.Getenv("CHAOS_HEAPPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			_ = pprof.WriteHeapProfile(f)
			_ = f.Close()
		}
	}
	t.Logf("live heap before %.1f MiB, after stop %.1f MiB", mib(heap0), mib(heap1))
	if heap1 > heap0+heapSlack {
		t.Errorf("live heap after stop %.1f MiB, %.1f MiB over the %.1f MiB before the soak", mib(heap1), mib(heap1-heap0), mib(heap0))
	}
}

// start runs the server and the runtime, subscribes, connects everything and waits for it.
func (s *soak) start() {
	t := s.t
	srv, err := fakeslack.New(fakeslack.Options{
		Workspaces: s.sc.workspaces, Apps: 1, UsersPerWorkspace: 2, ChannelsPerWorkspace: 1, TranscriptSize: -1,
		RTM: fakeslack.RTMOptions{WriteBurst: 50, WriteRefill: 10 * time.Millisecond},
		SocketMode: fakeslack.SocketModeOptions{
			// Short ack deadline and quick retries, so redelivery completes within the run.
			AckTimeout:  s.sc.ackTimeout,
			RetryDelays: []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond},
			// 4 connections + 1 replacement during a refresh fit; two overlapping refreshes do not.
			MaxConnections: s.sc.smConns + 1,
			CloseGrace:     300 * time.Millisecond, WarningBefore: -1, PingInterval: time.Second,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.srv = srv
	rt, err := switchboard.New(switchboard.WithAPIURL(srv.APIURL()),
		switchboard.WithBackoff(20*time.Millisecond, 500*time.Millisecond, 2*time.Second),
		switchboard.WithKeepalive(300*time.Millisecond, 1500*time.Millisecond),
		switchboard.WithHelloTimeout(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	s.rt = rt
	rt.OnAck(func(d time.Duration) {
		s.acks.Add(1)
		if d > s.sc.ackTimeout {
			s.lateAcks.Add(1)
		}
		for m := s.maxAck.Load(); int64(d) > m && !s.maxAck.CompareAndSwap(m, int64(d)); m = s.maxAck.Load() {
		}
	})
	if err := rt.OnLifecycle(s.led.lifecycle, switchboard.Named("chaos-lifecycle"), switchboard.Queue(1<<16, switchboard.DropNewest)); err != nil {
		t.Fatal(err)
	}
	// The counting subscriber: every message event, with a queue that never fills.
	if err := rt.Handle(switchboard.Filter{}, func(_ context.Context, ev *switchboard.Event) error { s.led.see(textOf(ev)); return nil },
		switchboard.Named("ledger"), switchboard.Queue(1<<20, switchboard.DropNewest)); err != nil {
		t.Fatal(err)
	}
	// A subscriber that panics now and then: only it restarts.
	var n atomic.Int64
	if err := rt.Handle(switchboard.Filter{}, func(context.Context, *switchboard.Event) error {
		if n.Add(1)%37 == 0 {
			s.panicked.Add(1)
			panic("chaos: subscriber panics")
		}
		return nil
	}, switchboard.Named("panicky")); err != nil {
		t.Fatal(err)
	}
	// A subscriber slower than the event rate, with a small queue: it drops, nobody else waits.
	if err := rt.Handle(switchboard.Filter{}, func(ctx context.Context, _ *switchboard.Event) error {
		select {
		case <-time.After(5 * time.Millisecond):
		case <-ctx.Done():
		}
		s.slowHandled.Add(1)
		return nil
	}, switchboard.Named("slow"), switchboard.Queue(32, switchboard.DropOldest)); err != nil {
		t.Fatal(err)
	}

	s.app = srv.Apps()[0]
	if err := rt.AddApp(context.Background(), switchboard.App{ID: s.app.AppID, Token: s.app.AppToken, Connections: s.sc.smConns}); err != nil {
		t.Fatal(err)
	}
	for _, ws := range srv.Workspaces() {
		w := switchboard.Workspace{Team: ws.TeamID, Token: ws.ClassicBotToken, WriteBurst: 20, WriteRefill: 10 * time.Millisecond, SendQueue: 256}
		s.teams = append(s.teams, w)
		s.chans[ws.TeamID] = ws.Channels[0].ID
		if err := rt.AddWorkspace(context.Background(), w); err != nil {
			t.Fatal(err)
		}
	}
	s.locks = make([]sync.Mutex, len(s.teams))
	s.revoke = 0
	s.awaitAllConnected(60 * time.Second)
}

// awaitAllConnected waits until every link is connected.
func (s *soak) awaitAllConnected(timeout time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var down []string
		for _, st := range s.rt.Status() {
			if st.State != switchboard.StateConnected {
				down = append(down, fmt.Sprintf("%s:%s(%s)", st.Link.Name, st.State, st.LastError))
			}
		}
		if len(down) == 0 {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%d links not connected after %v: %.600v", len(down), timeout, down)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// every runs f every d until ctx ends.
func every(ctx context.Context, d time.Duration, f func()) {
	tk := time.NewTicker(d)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			f()
		}
	}
}

// injectSocketMode injects batches of message events into the app; each must reach the counting
// subscriber exactly once (the server redelivers unacked ones; the runtime dedupes).
func (s *soak) injectSocketMode(ctx context.Context, _ *rand.Rand) {
	ws := s.teams[1%len(s.teams)].Team
	batch := 0
	every(ctx, s.sc.smEvery, func() {
		batch++
		b := smBatch{prefix: fmt.Sprintf("s%d-", batch), count: s.sc.smBatch}
		n, err := s.srv.InjectMessages(context.Background(), s.app.AppID, fakeslack.MessageStream{
			Team: ws, Channel: s.chans[ws], TextPrefix: b.prefix, Count: b.count})
		if err != nil || n != b.count {
			s.t.Errorf("InjectMessages: %d of %d: %v", n, b.count, err)
			return
		}
		s.led.addSM(b)
	})
}

// injectRTM writes one message event at a time into a random workspace, classifying it by the
// state of the workspace's sockets at that moment (see rtmClass).
func (s *soak) injectRTM(ctx context.Context, r *rand.Rand) {
	seq := 0
	every(ctx, s.sc.rtmEvery, func() {
		seq++
		i := r.IntN(len(s.teams))
		team := s.teams[i].Team
		prefix := fmt.Sprintf("r%d-", seq)
		s.locks[i].Lock()
		silenced := false
		for _, c := range s.srv.Connections(team) {
			silenced = silenced || c.Silent
		}
		n, err := s.srv.InjectRTMStream(team, fakeslack.RTMMessage{Channel: s.chans[team], Text: prefix}, 1)
		rec := rtmRecord{text: prefix + "1", team: team, at: time.Now()}
		s.locks[i].Unlock()
		switch {
		case err != nil:
			s.t.Errorf("InjectRTMStream: %v", err)
			return
		case silenced:
			rec.class = rtmSilenced
		case n == 0:
			rec.class = rtmNotConnected
		}
		s.led.addRTM(rec)
	})
}

// sendRTM issues rt.Send concurrently to random workspaces; each must return (reply or error)
// before its 10s context ends.
func (s *soak) sendRTM(ctx context.Context, r *rand.Rand, wg *sync.WaitGroup) {
	every(ctx, s.sc.sendEvery, func() {
		team := s.teams[r.IntN(len(s.teams))].Team
		s.sends.Add(1)
		wg.Add(1)
		go func() { // owner: sendRTM. Ends when Send returns (10s at most); settle waits on wg.
			defer wg.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := s.rt.Send(sctx, team, switchboard.RTMMessage{Channel: s.chans[team], Text: "chaos send"})
			s.sendsDone.Add(1)
			switch {
			case err == nil:
				s.sendsOK.Add(1)
				return
			case errors.Is(err, context.DeadlineExceeded):
				s.sendsHung.Add(1)
			}
			s.count(&s.sendErrs, sendErrKind(err))
		}()
	})
}

func sendErrKind(err error) string {
	var se *messages.SessionEndedError
	switch {
	case errors.Is(err, switchboard.ErrNotConnected):
		return "not_connected"
	case errors.As(err, &se) && se.MaybeSent:
		return "session_ended_maybe_sent"
	case errors.As(err, &se):
		return "session_ended"
	case errors.Is(err, switchboard.ErrSlowDown):
		return "slow_down"
	case errors.Is(err, switchboard.ErrSendQueueFull):
		return "queue_full"
	case errors.Is(err, switchboard.ErrUnknownWorkspace):
		return "unknown_workspace"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline (hung)"
	}
	return "other: " + err.Error()
}

// check fails the test for what the soak promises.
func (s *soak) check(v verdict) {
	t := s.t
	if v.smLost > 0 || v.smDup > 0 {
		t.Errorf("socket mode: %d lost, %d duplicated of %d (server gave up on %d)", v.smLost, v.smDup, v.smInjected, s.srv.Stats().Unacked)
	}
	if v.rtmLost > 0 || v.rtmDup > 0 {
		t.Errorf("rtm: %d lost, %d duplicated of %d that had to be delivered", v.rtmLost, v.rtmDup, v.rtmMust)
	}
	if v.smInjected == 0 || v.rtmMust == 0 {
		t.Errorf("nothing to check: %d socket mode, %d rtm events", v.smInjected, v.rtmMust)
	}
	if h := s.sendsHung.Load(); h > 0 {
		t.Errorf("%d sends hung until their 10s deadline", h)
	}
	if s.revokes.Load() == 0 || s.fatalSeen.Load() != s.revokes.Load() {
		t.Errorf("revoked %d times, Fatal seen %d times", s.revokes.Load(), s.fatalSeen.Load())
	}
	s.led.mu.Lock()
	for link, err := range s.led.fatal {
		t.Errorf("link %s ended Fatal: %v", link, err)
	}
	s.led.mu.Unlock()
	if s.panicked.Load() == 0 {
		t.Error("the panicking subscriber never panicked")
	}
	subs, err := s.rt.SubscriberStats(context.Background())
	if err != nil {
		t.Error(err)
	}
	for _, st := range subs {
		if st.Name == "ledger" && st.Dropped > 0 {
			t.Errorf("counting subscriber dropped %d events", st.Dropped)
		}
	}
}

// heapSlack is how much more live heap than before the soak may remain after Stop.
const heapSlack = 4 << 20

// liveHeap returns the live heap after two collections.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// progress prints the server's and the runtime's Socket Mode counters every 5s.
func (s *soak) progress(ctx context.Context) {
	start := time.Now()
	every(ctx, 5*time.Second, func() {
		st, conns, all := s.srv.Stats(), 0, s.srv.Connections("")
		for _, c := range all {
			if c.Kind == fakeslack.ConnSocketMode {
				conns++
			}
		}
		fmt.Printf("%4.0fs: sm sockets %d; delivered %d redelivered %d acked %d given up %d; runtime acks %d (late %d); rtm sockets %d\n",
			time.Since(start).Seconds(), conns, st.Delivered, st.Redelivered, st.Acked, st.Unacked, s.acks.Load(), s.lateAcks.Load(),
			len(all)-conns)
	})
}
