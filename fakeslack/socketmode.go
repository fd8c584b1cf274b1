package fakeslack

import (
	"container/heap"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack/socketmode"
)

// SocketModeOptions configures Socket Mode sockets. Zero fields take the defaults named on each field.
type SocketModeOptions struct {
	// Lifetime is how long a socket lives before the server sends refresh_requested (Slack's
	// approximate_connection_time). Default 18060s.
	Lifetime time.Duration
	// DebugLifetime replaces Lifetime for sockets dialled with debug_reconnects=true. Default 360s.
	DebugLifetime time.Duration
	// WarningBefore is how long before the end of a socket's lifetime the server sends the warning
	// disconnect. Default 10s; negative sends no warning. A value not shorter than the lifetime sends
	// none either.
	WarningBefore time.Duration
	// CloseGrace is how long after refresh_requested the server closes the socket (code 1000).
	// Default 5s.
	CloseGrace time.Duration
	// PingInterval is the period of the server's WebSocket pings ("Ping from applink-local").
	// Default 10s; negative sends none.
	PingInterval time.Duration
	// AckTimeout is how long after a delivery the server waits for its ack. Default 3s.
	AckTimeout time.Duration
	// RetryDelays are the waits, counted from a missed ack deadline, before each redelivery of an
	// events_api envelope; its length is the number of retries. Default Slack's: 0, 60s, 300s.
	// NoRetries disables redelivery.
	RetryDelays []time.Duration
	// NoRetries makes a missed events_api ack final, as for slash commands and interactions.
	NoRetries bool
	// NewEnvelopePerRetry gives each redelivery a new envelope_id. Default false: a redelivery
	// keeps the envelope_id of the first delivery (Slack does not document which it does).
	NewEnvelopePerRetry bool
	// MaxConnections is how many sockets an app may have open; one more is told
	// too_many_websockets and closed. Default 10.
	MaxConnections int
	// TooManyCloseCode is the close code sent after too_many_websockets. Default 0: no close frame,
	// the TCP connection is closed, as Slack was seen to do (the client reads 1006,
	// java-slack-sdk#1223; Slack documents neither the frame nor the close). 1008 was fakeslack's
	// earlier choice.
	TooManyCloseCode int
	// DisabledOpenError is the error apps.connections.open answers while the app's Socket Mode is
	// off (DisableSocketMode). Slack's documentation is silent on this call while Socket Mode is
	// off; default "link_disabled", the reason Slack gives on the socket when it is switched off.
	DisabledOpenError string
	// OpenWhileDisabled makes apps.connections.open answer ok while Socket Mode is off; the socket
	// then gets link_disabled in place of hello and is closed (fakeslack's earlier behaviour).
	OpenWhileDisabled bool
	// TicketTTL is how long an apps.connections.open URL stays valid (it is also single-use).
	// Default 30s.
	TicketTTL time.Duration
	// QueueSize bounds the events_api envelopes kept for an app with no open socket, delivered when
	// one opens; beyond it the oldest is dropped and counted unacked. Default 10000.
	QueueSize int
	// AckHistory is how many acks AckPayload remembers, oldest forgotten first. Default 100000.
	AckHistory int
}

func (o SocketModeOptions) withDefaults() SocketModeOptions {
	if o.Lifetime <= 0 {
		o.Lifetime = 18060 * time.Second
	}
	if o.DebugLifetime <= 0 {
		o.DebugLifetime = 360 * time.Second
	}
	if o.WarningBefore == 0 {
		o.WarningBefore = 10 * time.Second
	}
	if o.CloseGrace <= 0 {
		o.CloseGrace = 5 * time.Second
	}
	if o.PingInterval == 0 {
		o.PingInterval = 10 * time.Second
	}
	if o.AckTimeout <= 0 {
		o.AckTimeout = 3 * time.Second
	}
	if o.RetryDelays == nil {
		o.RetryDelays = []time.Duration{0, 60 * time.Second, 300 * time.Second}
	} else {
		o.RetryDelays = append([]time.Duration(nil), o.RetryDelays...)
	}
	if o.NoRetries {
		o.RetryDelays = nil
	}
	if o.MaxConnections <= 0 {
		o.MaxConnections = 10
	}
	if o.DisabledOpenError == "" {
		o.DisabledOpenError = "link_disabled"
	}
	if o.TicketTTL <= 0 {
		o.TicketTTL = 30 * time.Second
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 10000
	}
	if o.AckHistory <= 0 {
		o.AckHistory = 100000
	}
	return o
}

// smHost is the debug_info.host the stand-in reports, and the source named in its pings.
const smHost = "applink-local"

// smBuildNumber is hello's debug_info.build_number.
const smBuildNumber = 1

// smReadLimit bounds a client frame; Slack ignores acks of 20 KiB and more, and a frame far beyond
// that ends the socket (close 1009).
const smReadLimit = 1 << 20

// smMaxAck is the size from which Slack ignores an ack.
const smMaxAck = 20 * 1024

// The disconnect frames, rendered once.
var (
	smWarning          = smDisconnect("warning")
	smRefreshRequested = smDisconnect("refresh_requested")
	smLinkDisabled     = smDisconnect("link_disabled")
	smTooMany          = smDisconnect("too_many_websockets")
)

// smHelloShape and smDisconnectShape are the keys of socketmode.Request that Slack sends in hello and
// disconnect frames (SLACK_PROTOCOL.md §4.3, §4.4); socketmode.Request marshals the envelope's
// keys in every frame.
var (
	smHelloShape = shape{"type": nil, "num_connections": nil, "connection_info": keys("app_id"),
		"debug_info": keys("host", "build_number", "approximate_connection_time")}
	smDisconnectShape = shape{"type": nil, "reason": nil, "debug_info": keys("host")}
)

// smDisconnect renders a disconnect frame with reason.
func smDisconnect(reason string) []byte {
	v, err := project(socketmode.Request{Type: "disconnect", Reason: reason, DebugInfo: socketmode.DebugInfo{Host: smHost}}, smDisconnectShape)
	if err != nil {
		panic(fmt.Errorf("fakeslack: encode disconnect: %w", err)) // a socketmode.Request always encodes
	}
	b, _ := json.Marshal(v)
	return b
}

// socketModeServer serves apps.connections.open and the Socket Mode sockets at /link/.
//
// Each socket is served by its HTTP handler goroutine (socket.serve). Every timer (ack deadlines,
// redeliveries, pings, lifetimes) is an entry in one min-heap run by a single goroutine (run),
// started by newSocketModeServer and ended when the Server's context is cancelled; Close waits for
// it through s.wg. Envelopes are written by whoever delivers them: the injecting caller, the timer
// goroutine (redeliveries) or a queue-flushing goroutine on s.wg.
type socketModeServer struct {
	s    *Server
	opts SocketModeOptions
	ids  idSource
	// verification is the deprecated verification token put in payloads.
	verification string

	mu       sync.Mutex
	tickets  map[string]smTicket
	apps     map[string]*smApp
	conns    map[string]*smConn   // by socket ID
	pending  map[string]*envelope // awaiting an ack, by envelope_id
	timers   timerHeap            // every scheduled timer
	wake     chan struct{}        // tells run the earliest timer changed
	acks     map[string]ackRecord // acked envelopes, by envelope_id
	ackOrder []string             // ring of acks keys, for forgetting the oldest
	ackHead  int                  // next slot of ackOrder to overwrite once full
	due      []*smTimer           // run's scratch list
	actions  []smAction           // run's scratch list
	stopped  chan struct{}        // closed when run returns
	disabled map[string]bool      // apps whose Socket Mode is off
}

// smTicket is an issued, unused socket URL.
type smTicket struct {
	app     string
	token   string
	expires time.Time
}

// smApp is an app's Socket Mode state; guarded by socketModeServer.mu.
type smApp struct {
	id    string
	conns []*smConn   // accepted sockets in open order
	next  int         // round-robin cursor into conns
	queue []*envelope // events_api envelopes waiting for a socket
}

// smConn is one Socket Mode socket; its fields other than sk and app are guarded by
// socketModeServer.mu.
type smConn struct {
	sk    *socket
	app   *smApp
	ready bool // accepted and no refresh_requested yet: deliveries may pick it
	// helloSent is closed once hello is written; deliveries wait for it so hello comes first.
	helloSent chan struct{}
	gone      bool // the socket ended
	opened    time.Time
	lifetime  time.Duration
	stage     lifeStage
	ping      smTimer
	life      smTimer
}

// lifeStage is the next step of a socket's lifetime.
type lifeStage uint8

const (
	stageWarning lifeStage = iota + 1
	stageRefresh
	stageClose
)

// ackRecord is a matched ack: its payload (nil when it had none).
type ackRecord struct{ payload json.RawMessage }

func newSocketModeServer(s *Server) *socketModeServer {
	m := &socketModeServer{
		s:            s,
		opts:         s.opts.SocketMode,
		verification: randomHex(12),
		tickets:      map[string]smTicket{},
		apps:         map[string]*smApp{},
		conns:        map[string]*smConn{},
		pending:      map[string]*envelope{},
		wake:         make(chan struct{}, 1),
		acks:         map[string]ackRecord{},
		stopped:      make(chan struct{}),
		disabled:     map[string]bool{},
	}
	m.ids.init()
	s.handle("apps.connections.open", methodSpec{
		handler: m.open, kinds: []tokenKind{tokenApp}, scope: "connections:write", json: true, bearerOnly: true, postOnly: true, opens: true,
	})
	s.mux.HandleFunc("GET /link/", m.serveSocket)
	s.mux.HandleFunc("GET /link", m.serveSocket) // a client that trims the trailing slash
	m.routeAdmin()
	s.wg.Add(1)
	go m.run() // owner: socketModeServer. Ends when Server.Close cancels s.ctx; Close waits on s.wg.
	return m
}

// close waits for the timer goroutine; Server.Close has already cancelled its context and closed
// every socket.
func (m *socketModeServer) close() { <-m.stopped }

// open answers apps.connections.open with a single-use socket URL for the token's app.
func (m *socketModeServer) open(req *apiRequest) (map[string]any, error) {
	ticket := randomHex(16)
	now := time.Now()
	m.mu.Lock()
	if m.disabled[req.Tok.app] && !m.opts.OpenWhileDisabled {
		m.mu.Unlock()
		return nil, apiErr(m.opts.DisabledOpenError)
	}
	for t, tk := range m.tickets {
		if now.After(tk.expires) {
			delete(m.tickets, t)
		}
	}
	m.tickets[ticket] = smTicket{app: req.Tok.app, token: req.Token, expires: now.Add(m.opts.TicketTTL)}
	m.mu.Unlock()
	u := "ws" + strings.TrimPrefix(m.s.base, "http") + "/link/?ticket=" + ticket + "&app_id=" + req.Tok.app
	return map[string]any{
		"url": u,
		"response_metadata": map[string]any{
			"scopes": []string{"connections:write"}, "acceptedScopes": []string{"connections:write"},
		},
	}, nil
}

// serveSocket upgrades a /link/?ticket=… request and serves the socket until it ends.
func (m *socketModeServer) serveSocket(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ticket := q.Get("ticket")
	m.mu.Lock()
	tk, ok := m.tickets[ticket]
	delete(m.tickets, ticket)
	m.mu.Unlock()
	if !ok || time.Now().After(tk.expires) {
		m.s.log.WithField("path", r.URL.Path).Warn("socket mode dial with an unknown, used or expired ticket")
		http.Error(w, "invalid or expired ticket", http.StatusUnauthorized)
		return
	}
	sk, err := m.s.acceptSocket(w, r, ConnSocketMode, "", tk.app, tk.token)
	if err != nil {
		m.s.log.WithError(err).WithField("app", tk.app).Warn("socket mode upgrade failed")
		return
	}
	now := time.Now()
	c := &smConn{sk: sk, opened: now, lifetime: m.opts.Lifetime, helloSent: make(chan struct{})}
	c.ping = smTimer{kind: timerPing, conn: c, idx: -1}
	c.life = smTimer{kind: timerLife, conn: c, idx: -1}
	if q.Get("debug_reconnects") == "true" {
		c.lifetime = m.opts.DebugLifetime
	}
	log := m.s.log.WithFields(map[string]any{"app": tk.app, "conn": sk.info.ID})

	var refuse []byte
	var closeCode int
	var queued []*envelope
	m.mu.Lock()
	a := m.app(tk.app)
	c.app = a
	switch {
	case m.disabled[tk.app]:
		refuse, closeCode = smLinkDisabled, websocket.CloseNormalClosure
	case len(a.conns) >= m.opts.MaxConnections:
		refuse, closeCode = smTooMany, m.opts.TooManyCloseCode
	default:
		a.conns = append(a.conns, c)
		m.conns[sk.info.ID] = c
		c.ready = true // deliveries may pick it now; they wait for helloSent before writing
		queued, a.queue = a.queue, nil
		if m.opts.PingInterval > 0 {
			m.schedule(&c.ping, now.Add(m.opts.PingInterval))
		}
		if m.opts.WarningBefore > 0 && m.opts.WarningBefore < c.lifetime {
			c.stage = stageWarning
			m.schedule(&c.life, now.Add(c.lifetime-m.opts.WarningBefore))
		} else {
			c.stage = stageRefresh
			m.schedule(&c.life, now.Add(c.lifetime))
		}
	}
	n := len(a.conns)
	m.mu.Unlock()

	if refuse != nil {
		log.WithField("frame", string(refuse)).Info("socket mode socket refused")
		_ = sk.send(refuse)
		if closeCode > 0 {
			sk.closeClean(closeCode, "")
		} else {
			sk.srv.goAfter(50*time.Millisecond, sk.drop) // let the frame reach the client before the TCP close
		}
		sk.serve(smReadLimit, func([]byte) {})
		return
	}
	if err := sk.send(m.hello(tk.app, n, c.lifetime)); err != nil {
		log.WithError(err).Warn("socket mode hello not sent")
	}
	close(c.helloSent)
	if len(queued) > 0 && m.s.ctx.Err() == nil {
		m.s.wg.Add(1)
		go func() { // owner: socketModeServer. Ends once the queue is handed out; Close waits on s.wg.
			defer m.s.wg.Done()
			for _, env := range queued {
				m.deliver(env)
			}
		}()
	}
	sk.serve(smReadLimit, func(data []byte) { m.onFrame(c, data) })
	m.connGone(c)
}

// hello renders the first frame of a socket.
func (m *socketModeServer) hello(app string, n int, lifetime time.Duration) []byte {
	v, err := project(socketmode.Request{
		Type: "hello", NumConnections: n, ConnectionInfo: socketmode.ConnectionInfo{AppID: app},
		DebugInfo: socketmode.DebugInfo{Host: smHost, BuildNumber: smBuildNumber, ApproximateConnectionTime: int(lifetime / time.Second)},
	}, smHelloShape)
	if err != nil {
		panic(fmt.Errorf("fakeslack: encode hello: %w", err)) // a socketmode.Request always encodes
	}
	b, _ := json.Marshal(v)
	return b
}

// app returns the state of app, creating it; callers hold m.mu.
func (m *socketModeServer) app(id string) *smApp {
	a := m.apps[id]
	if a == nil {
		a = &smApp{id: id}
		m.apps[id] = a
	}
	return a
}

// connGone forgets an ended socket. Envelopes it had not acked stay pending: their deadlines
// pass and events_api envelopes are redelivered on another socket.
func (m *socketModeServer) connGone(c *smConn) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c.gone, c.ready = true, false
	m.unschedule(&c.ping)
	m.unschedule(&c.life)
	delete(m.conns, c.sk.info.ID)
	a := c.app
	for i, x := range a.conns {
		if x == c {
			a.conns = append(a.conns[:i], a.conns[i+1:]...)
			break
		}
	}
}

// onFrame handles a frame a client sent: an ack, or something logged and ignored.
func (m *socketModeServer) onFrame(c *smConn, data []byte) {
	log := m.s.log.WithFields(map[string]any{"app": c.app.id, "conn": c.sk.info.ID})
	if len(data) >= smMaxAck {
		log.WithField("bytes", len(data)).Warn("ack of 20 KiB or more ignored, as Slack does")
		return
	}
	var raw json.RawMessage
	ack := socketmode.Response{Payload: &raw} // the payload is kept as sent, for AckPayload
	if err := json.Unmarshal(data, &ack); err != nil {
		log.WithError(err).Warn("malformed socket mode frame ignored")
		return
	}
	if ack.EnvelopeID == "" {
		log.Warn("socket mode frame without envelope_id ignored")
		return
	}
	payload := ackPayload(raw)
	m.mu.Lock()
	env := m.pending[ack.EnvelopeID]
	if env == nil || env.app != c.app {
		m.mu.Unlock()
		log.WithField("envelope_id", ack.EnvelopeID).Warn("ack of an unknown or late envelope ignored")
		return
	}
	delete(m.pending, env.id)
	m.unschedule(&env.tm)
	env.state = envDone
	m.rememberAck(env.id, payload)
	m.mu.Unlock()
	if env.typ != typeEventsAPI {
		m.s.answered(env.id, payload) // a command's message, a view_submission's response_action
	}
	m.s.counters.acked.Add(1)
	m.s.transcript.add(Entry{Kind: KindAck, Conn: c.sk.info.ID, Team: env.team, App: c.app.id, Method: env.typ, Status: "ok", Data: payload})
}

// ackPayload returns an ack's payload, or nil for none (absent, null or {}).
func ackPayload(raw json.RawMessage) json.RawMessage {
	t := strings.TrimSpace(string(raw))
	if t == "" || t == "null" {
		return nil
	}
	if strings.HasPrefix(t, "{") && strings.TrimSpace(t[1:]) == "}" {
		return nil
	}
	return raw
}

// rememberAck records an ack for AckPayload, forgetting the oldest beyond AckHistory; callers
// hold m.mu.
func (m *socketModeServer) rememberAck(id string, payload json.RawMessage) {
	if _, ok := m.acks[id]; !ok {
		if len(m.ackOrder) < m.opts.AckHistory {
			m.ackOrder = append(m.ackOrder, id)
		} else {
			delete(m.acks, m.ackOrder[m.ackHead])
			m.ackOrder[m.ackHead] = id
			m.ackHead = (m.ackHead + 1) % len(m.ackOrder)
		}
	}
	m.acks[id] = ackRecord{payload: payload}
}

// timerKind says what a timer does when it fires.
type timerKind uint8

const (
	timerAck   timerKind = iota + 1 // an envelope's ack deadline
	timerRetry                      // an envelope's redelivery is due
	timerPing                       // a socket's next ping
	timerLife                       // a socket's next lifetime step
)

// smTimer is one entry of the timer heap, embedded in the envelope or socket it belongs to.
type smTimer struct {
	at   time.Time
	idx  int // index in the heap, -1 when not scheduled
	kind timerKind
	env  *envelope
	conn *smConn
}

// timerHeap is a min-heap of timers by deadline.
type timerHeap []*smTimer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*smTimer)
	t.idx = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.idx = -1
	return t
}

// schedule (re)sets t to fire at at; callers hold m.mu.
func (m *socketModeServer) schedule(t *smTimer, at time.Time) {
	t.at = at
	if t.idx >= 0 {
		heap.Fix(&m.timers, t.idx)
	} else {
		heap.Push(&m.timers, t)
	}
	if t.idx == 0 {
		select {
		case m.wake <- struct{}{}:
		default:
		}
	}
}

// unschedule cancels t if it is scheduled; callers hold m.mu.
func (m *socketModeServer) unschedule(t *smTimer) {
	if t.idx >= 0 {
		heap.Remove(&m.timers, t.idx)
	}
}

// smAction is I/O a fired timer asks for, done by run outside m.mu.
type smAction struct {
	kind  timerKind
	env   *envelope
	conn  *smConn
	frame []byte
	close bool
}

// run fires timers until the server closes.
func (m *socketModeServer) run() {
	defer m.s.wg.Done()
	defer close(m.stopped)
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		m.mu.Lock()
		now := time.Now()
		m.due = m.due[:0]
		for len(m.timers) > 0 && !m.timers[0].at.After(now) {
			m.due = append(m.due, heap.Pop(&m.timers).(*smTimer))
		}
		m.actions = m.actions[:0]
		for _, tm := range m.due {
			m.fireLocked(tm, now)
		}
		wait := time.Hour
		if len(m.timers) > 0 {
			wait = m.timers[0].at.Sub(now)
		}
		actions := m.actions
		m.mu.Unlock()

		for _, a := range actions {
			m.act(a)
		}
		if len(m.due) > 0 {
			continue // firing may have scheduled timers already due
		}
		t.Reset(wait)
		select {
		case <-t.C:
		case <-m.wake:
			t.Stop() // Go ≥ 1.23 timers: no stale tick survives Stop, so no drain
		case <-m.s.ctx.Done():
			return
		}
	}
}

// fireLocked updates state for a fired timer and queues the I/O it needs; callers hold m.mu.
func (m *socketModeServer) fireLocked(tm *smTimer, now time.Time) {
	switch tm.kind {
	case timerAck:
		env := tm.env
		if env.state != envInFlight {
			return
		}
		delete(m.pending, env.id)
		if env.typ == typeEventsAPI && env.attempt < len(m.opts.RetryDelays) {
			env.state = envRetryWait
			delay := m.opts.RetryDelays[env.attempt]
			env.attempt++
			if m.opts.NewEnvelopePerRetry {
				env.id = m.ids.envelopeID()
			}
			env.tm.kind = timerRetry
			m.schedule(&env.tm, now.Add(delay))
			return
		}
		env.state = envDone
		m.s.counters.unacked.Add(1)
		m.s.log.WithFields(map[string]any{"app": env.app.id, "envelope_id": env.id, "type": env.typ}).Info("envelope not acked in time, given up")
	case timerRetry:
		if tm.env.state == envRetryWait {
			tm.env.state = envDelivering
			m.actions = append(m.actions, smAction{kind: timerRetry, env: tm.env})
		}
	case timerPing:
		c := tm.conn
		if c.gone {
			return
		}
		m.actions = append(m.actions, smAction{kind: timerPing, conn: c})
		m.schedule(&c.ping, now.Add(m.opts.PingInterval))
	case timerLife:
		m.lifeStepLocked(tm.conn, now)
	}
}

// lifeStepLocked takes a socket's next lifetime step; callers hold m.mu.
func (m *socketModeServer) lifeStepLocked(c *smConn, now time.Time) {
	if c.gone {
		return
	}
	switch c.stage {
	case stageWarning:
		m.actions = append(m.actions, smAction{kind: timerLife, conn: c, frame: smWarning})
		c.stage = stageRefresh
		m.schedule(&c.life, c.opened.Add(c.lifetime))
	case stageRefresh:
		c.ready = false
		m.actions = append(m.actions, smAction{kind: timerLife, conn: c, frame: smRefreshRequested})
		c.stage = stageClose
		m.schedule(&c.life, now.Add(m.opts.CloseGrace))
	case stageClose:
		m.actions = append(m.actions, smAction{kind: timerLife, conn: c, close: true})
	}
}

// act does a fired timer's I/O.
func (m *socketModeServer) act(a smAction) {
	switch a.kind {
	case timerRetry:
		m.deliver(a.env)
	case timerPing:
		a.conn.sk.ping("Ping from " + smHost)
	case timerLife:
		if a.frame != nil {
			_ = a.conn.sk.send(a.frame)
		}
		if a.close {
			a.conn.sk.closeClean(websocket.CloseNormalClosure, "")
		}
	}
}
