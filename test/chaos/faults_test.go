package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/messages"
)

// fault is one kind of fault and its weight in the draw.
type fault struct {
	kind   string
	weight int
	apply  func(s *soak, r *rand.Rand) bool // false when it found nothing to break
}

var faultKinds = []fault{
	{"rtm drop abrupt", 6, func(s *soak, r *rand.Rand) bool {
		return s.onRTM(r, func(c fakeslack.ConnInfo) error { return s.srv.DropConnection(c.ID, false) })
	}},
	{"rtm drop clean", 3, func(s *soak, r *rand.Rand) bool {
		return s.onRTM(r, func(c fakeslack.ConnInfo) error { return s.srv.DropConnection(c.ID, true) })
	}},
	{"rtm silence", 2, func(s *soak, r *rand.Rand) bool {
		return s.onRTM(r, func(c fakeslack.ConnInfo) error { return s.srv.SilenceConnection(c.ID) })
	}},
	{"rtm stop pings", 2, func(s *soak, r *rand.Rand) bool {
		return s.onRTM(r, func(c fakeslack.ConnInfo) error { return s.srv.StopAnsweringPings(c.ID) })
	}},
	{"rtm goodbye", 2, func(s *soak, r *rand.Rand) bool {
		return s.onRTM(r, func(c fakeslack.ConnInfo) error { _, err := s.srv.SendRTMGoodbye(c.Team, c.ID); return err })
	}},
	{"rtm 429 on reconnect", 2, func(s *soak, r *rand.Rand) bool {
		return s.onRTM(r, func(c fakeslack.ConnInfo) error {
			s.srv.RefuseOpens(c.Team, 1, "ratelimited", time.Second)
			return s.srv.DropConnection(c.ID, false)
		})
	}},
	{"sm drop abrupt", 3, func(s *soak, r *rand.Rand) bool {
		return s.onSM(r, func(c fakeslack.ConnInfo) error { return s.srv.DropConnection(c.ID, false) })
	}},
	{"sm drop clean", 2, func(s *soak, r *rand.Rand) bool {
		return s.onSM(r, func(c fakeslack.ConnInfo) error { return s.srv.DropConnection(c.ID, true) })
	}},
	{"sm silence", 1, func(s *soak, r *rand.Rand) bool {
		return s.onSM(r, func(c fakeslack.ConnInfo) error { return s.srv.SilenceConnection(c.ID) })
	}},
	{"sm stop pings", 1, func(s *soak, r *rand.Rand) bool {
		return s.onSM(r, func(c fakeslack.ConnInfo) error { return s.srv.StopAnsweringPings(c.ID) })
	}},
	{"sm refresh", 2, func(s *soak, r *rand.Rand) bool {
		return s.onSM(r, func(c fakeslack.ConnInfo) error { return s.srv.RefreshConnection(c.ID, r.IntN(2) == 0) })
	}},
	// Two refreshes at once: two replacements on top of 4 sockets exceed MaxConnections (5), so
	// fakeslack answers one of them too_many_websockets.
	{"sm double refresh", 1, func(s *soak, r *rand.Rand) bool {
		conns := s.srv.Connections(s.app.AppID)
		if len(conns) < 2 {
			return false
		}
		i := r.IntN(len(conns))
		j := (i + 1 + r.IntN(len(conns)-1)) % len(conns)
		return s.srv.RefreshConnection(conns[i].ID, false) == nil && s.srv.RefreshConnection(conns[j].ID, false) == nil
	}},
	{"sm 429 on reconnect", 1, func(s *soak, r *rand.Rand) bool {
		return s.onSM(r, func(c fakeslack.ConnInfo) error {
			s.srv.RefuseOpens(s.app.AppID, 1, "ratelimited", time.Second)
			return s.srv.DropConnection(c.ID, false)
		})
	}},
}

// onRTM applies f to the socket of a random workspace (never the one whose token is revoked and
// restored), holding that workspace's lock so that no injection overlaps the fault.
func (s *soak) onRTM(r *rand.Rand, f func(fakeslack.ConnInfo) error) bool {
	i := r.IntN(len(s.teams))
	if i == s.revoke {
		i = (i + 1) % len(s.teams)
	}
	s.locks[i].Lock()
	defer s.locks[i].Unlock()
	conns := s.srv.Connections(s.teams[i].Team)
	if len(conns) == 0 {
		return false
	}
	return f(conns[r.IntN(len(conns))]) == nil
}

// onSM applies f to a random socket of the app.
func (s *soak) onSM(r *rand.Rand, f func(fakeslack.ConnInfo) error) bool {
	conns := s.srv.Connections(s.app.AppID)
	if len(conns) == 0 {
		return false
	}
	return f(conns[r.IntN(len(conns))]) == nil
}

// injectFaults draws one fault whose kind starts with prefix ("rtm", "sm") every d.
func (s *soak) injectFaults(ctx context.Context, r *rand.Rand, prefix string, d time.Duration) {
	var kinds []fault
	total := 0
	for _, f := range faultKinds {
		if strings.HasPrefix(f.kind, prefix+" ") {
			kinds = append(kinds, f)
			total += f.weight
		}
	}
	every(ctx, d, func() {
		n := r.IntN(total)
		for _, f := range kinds {
			if n -= f.weight; n < 0 {
				if f.apply(s, r) {
					s.count(&s.faults, f.kind)
				}
				return
			}
		}
	})
}

// revokeCycles revokes one workspace's token (its link must go Fatal), restores it, and adds the
// workspace again (it must connect), every revokeAt.
func (s *soak) revokeCycles(ctx context.Context, _ *rand.Rand) {
	ws := s.teams[s.revoke]
	every(ctx, s.sc.revokeAt, func() {
		s.locks[s.revoke].Lock()
		s.srv.RevokeToken(ws.Token)
		s.locks[s.revoke].Unlock()
		s.revokes.Add(1)
		s.count(&s.faults, "rtm token revoked")
		// A cycle runs to its end even when the soak's time is up, to leave the workspace connected.
		if !waitUntil(context.Background(), 10*time.Second, func() bool {
			st, ok := s.status(ws.Team)
			return ok && st.State == switchboard.StateFatal && messages.CodeOf(s.led.fatalOf(ws.Team)) == messages.ErrTokenRevoked
		}) {
			st, _ := s.status(ws.Team)
			s.t.Errorf("revoked workspace %s: state %s (%s), Fatal %v: want Fatal token_revoked", ws.Team, st.State, st.LastError, s.led.fatalOf(ws.Team))
			s.srv.RestoreToken(ws.Token)
			return
		}
		s.fatalSeen.Add(1)
		s.srv.RestoreToken(ws.Token)
		// A link stopped for good stays listed until removed; AddWorkspace alone says "already added".
		if err := s.rt.RemoveWorkspace(context.Background(), ws.Team); err != nil {
			s.t.Errorf("RemoveWorkspace %s: %v", ws.Team, err)
		}
		if err := s.rt.AddWorkspace(context.Background(), ws); err != nil {
			s.t.Errorf("AddWorkspace %s after restore: %v", ws.Team, err)
			return
		}
		if !waitUntil(context.Background(), 10*time.Second, func() bool {
			st, ok := s.status(ws.Team)
			return ok && st.State == switchboard.StateConnected
		}) {
			st, _ := s.status(ws.Team)
			s.t.Errorf("restored workspace %s: %s (%s) 10s after AddWorkspace, want connected", ws.Team, st.State, st.LastError)
			return
		}
		s.readded.Add(1)
	})
}

func (s *soak) status(link string) (switchboard.Status, bool) {
	for _, st := range s.rt.Status() {
		if st.Link.Name == link {
			return st, true
		}
	}
	return switchboard.Status{}, false
}

// waitUntil polls cond every 10ms until it holds (true), timeout passes or ctx ends (false).
func waitUntil(ctx context.Context, timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// settle waits for the sends to return, every link to be connected again, and every event in
// flight to be delivered or given up.
func (s *soak) settle(sendWG *sync.WaitGroup) {
	t := s.t
	done := make(chan struct{})
	go func() { sendWG.Wait(); close(done) }() // owner: settle. Ends when every send returned (10s each at most).
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Errorf("%d of %d sends still waiting 30s after the soak", s.sends.Load()-s.sendsDone.Load(), s.sends.Load())
		<-done
	}
	s.awaitAllConnected(30 * time.Second)
	// Socket Mode: every envelope ends acked or given up by the server; then the subscriber drains.
	injected := int64(0)
	for _, b := range s.led.sm {
		injected += int64(b.count)
	}
	if !waitUntil(context.Background(), 30*time.Second, func() bool {
		st := s.srv.Stats()
		return st.Acked+st.Unacked >= injected && s.led.smMissing() == 0
	}) {
		st := s.srv.Stats()
		t.Logf("after 30s: %d of %d envelopes acked, %d given up, %d events missing", st.Acked, injected, st.Unacked, s.led.smMissing())
	}
	// The counting subscriber has caught up once its count is stable.
	last := -1
	waitUntil(context.Background(), 10*time.Second, func() bool {
		n := s.led.seenCount()
		ok := n == last
		last = n
		time.Sleep(200 * time.Millisecond)
		return ok
	})
}

// report logs the soak's figures (and prints them in long mode).
func (s *soak) report(seed int64, v verdict) {
	l := s.led
	l.mu.Lock()
	reconnects, limited := durations(l.reconnects), durations(l.limitedRec)
	reasons, tooMany, disc, longest := counts(l.reasons), l.tooMany, l.disconnect, l.longest
	l.mu.Unlock()
	st := s.srv.Stats()
	rs := s.rt.Stats()
	subs, _ := s.rt.SubscriberStats(context.Background())
	var b strings.Builder
	fmt.Fprintf(&b, "chaos report (seed %d, %v, %d RTM workspaces, 1 Socket Mode app × %d connections, GOMAXPROCS %d)\n",
		seed, s.sc.duration, s.sc.workspaces, s.sc.smConns, runtime.GOMAXPROCS(0))
	fmt.Fprintf(&b, "  socket mode: %d events injected, %d delivered once, %d lost, %d duplicates; server: %d deliveries, %d redeliveries, %d acked, %d given up; runtime dropped %d redeliveries as duplicates\n",
		v.smInjected, v.smDelivered-v.smDup, v.smLost, v.smDup, st.Delivered, st.Redelivered, st.Acked, st.Unacked, rs.Duplicates)
	fmt.Fprintf(&b, "  acks written: %d, %d later than the server's %v deadline, slowest %v\n", s.acks.Load(), s.lateAcks.Load(), s.sc.ackTimeout, time.Duration(s.maxAck.Load()).Round(time.Millisecond))
	fmt.Fprintf(&b, "  rtm: %d events injected: %d written to a live socket (must deliver) → %d delivered, %d lost, %d duplicates; %d of them at risk (session ended within -%v/+%v), %d of those lost; %d while disconnected, %d swallowed by a silenced socket, %d of these delivered anyway\n",
		v.rtmInjected, v.rtmMust, v.rtmDelivered, v.rtmLost, v.rtmDup, v.rtmAtRisk, riskBefore, riskAfter, v.rtmAtRiskLost, v.rtmNotConnected, v.rtmSilenced, v.rtmExtra)
	fmt.Fprintf(&b, "  sends: %d issued, %d returned (%d ok), %d hung; errors: %s\n",
		s.sends.Load(), s.sendsDone.Load(), s.sendsOK.Load(), s.sendsHung.Load(), counts(snapshot(&s.sendErrs)))
	fmt.Fprintf(&b, "  faults: %s\n", counts(snapshot(&s.faults)))
	smSockets, rtmSockets := 0, 0
	for _, c := range s.srv.Connections("") {
		if c.Kind == fakeslack.ConnSocketMode {
			smSockets++
		} else {
			rtmSockets++
		}
	}
	fmt.Fprintf(&b, "  open sockets at the end (server side): socket mode %d (runtime has %d connections), rtm %d (%d workspaces)\n", smSockets, s.sc.smConns, rtmSockets, len(s.teams))
	fmt.Fprintf(&b, "  sessions ended: %d (%s); too_many_websockets: %d\n", disc, reasons, tooMany)
	fmt.Fprintf(&b, "  reconnect (Disconnected → Connected): %s; outages that met a 429 (Retry-After honoured: 1s injected, or fakeslack's own rtm.connect / apps.connections.open limits): %s\n", reconnects, limited)
	fmt.Fprintf(&b, "  longest outage without a 429: %s\n", longest)
	fmt.Fprintf(&b, "  revoke cycles: %d revoked, %d reported Fatal token_revoked, %d re-added and connected\n", s.revokes.Load(), s.fatalSeen.Load(), s.readded.Load())
	fmt.Fprintf(&b, "  subscribers: panics %d (handler panics counted %d), slow handled %d; queues %+v\n", s.panicked.Load(), rs.HandlerPanics, s.slowHandled.Load(), subs)
	if len(v.lostSamples) > 0 {
		fmt.Fprintf(&b, "  lost (sample): %v\n", v.lostSamples)
	}
	if len(v.dupSamples) > 0 {
		fmt.Fprintf(&b, "  duplicates (sample): %v\n", v.dupSamples)
	}
	s.t.Log(b.String())
	if s.sc.long {
		fmt.Fprint(os.Stdout, b.String())
	}
}
