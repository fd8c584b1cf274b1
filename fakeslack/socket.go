package fakeslack

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// ConnKind names a socket's protocol.
type ConnKind string

// Socket protocols.
const (
	ConnRTM        ConnKind = "rtm"
	ConnSocketMode ConnKind = "socketmode"
)

// ConnInfo describes an open socket.
type ConnInfo struct {
	ID     string    `json:"id"`
	Kind   ConnKind  `json:"kind"`
	Team   string    `json:"team,omitempty"`
	App    string    `json:"app,omitempty"`
	Opened time.Time `json:"opened"`
	Silent bool      `json:"silent"` // sends nothing, answers nothing
	Deaf   bool      `json:"deaf"`   // answers no pings
}

// socket is one open WebSocket, RTM or Socket Mode. Any goroutine may call send, drop, closeClean
// and the fault setters; the protocol's read loop runs in the HTTP handler goroutine (serve).
type socket struct {
	srv    *Server
	info   ConnInfo
	token  string
	ws     *websocket.Conn
	wmu    sync.Mutex // serializes data frames (gorilla allows one writer)
	silent atomic.Bool
	deaf   atomic.Bool
	closed chan struct{} // closed by shutdown
	once   sync.Once
	done   chan struct{} // closed when serve returns
	// state is the protocol's per-socket data (*rtmConn or *smConn).
	state any
}

var errSocketClosed = errors.New("fakeslack: socket closed")

var upgrader = websocket.Upgrader{
	ReadBufferSize:  4096,
	WriteBufferSize: 32 * 1024,
	CheckOrigin:     func(*http.Request) bool { return true },
}

// acceptSocket upgrades r and registers the socket. The caller then runs serve in the same
// (HTTP handler) goroutine.
func (s *Server) acceptSocket(w http.ResponseWriter, r *http.Request, kind ConnKind, team, app, token string) (*socket, error) {
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return nil, fmt.Errorf("upgrade: %w", err) // Upgrade already answered the client
	}
	n := s.counters.socketsOpened.Add(1)
	subject := team
	if kind == ConnSocketMode {
		subject = app
	}
	sk := &socket{
		srv:    s,
		info:   ConnInfo{ID: fmt.Sprintf("%s-%s-%d", kind, subject, n), Kind: kind, Team: team, App: app, Opened: time.Now()},
		token:  token,
		ws:     ws,
		closed: make(chan struct{}),
		done:   make(chan struct{}),
	}
	ws.SetPingHandler(func(data string) error {
		s.transcript.add(Entry{Kind: KindFrameIn, Conn: sk.info.ID, Team: team, App: app, Method: "ping", Data: []byte(data)})
		if sk.silent.Load() || sk.deaf.Load() {
			return nil
		}
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(5*time.Second))
		if err != nil && !errors.Is(err, websocket.ErrCloseSent) {
			return err
		}
		return nil
	})
	s.sockets.add(sk)
	s.transcript.add(Entry{Kind: KindConn, Conn: sk.info.ID, Team: team, App: app, Status: "opened"})
	return sk, nil
}

// serve reads frames until the socket ends, handing each text frame to onFrame, then unregisters
// the socket and closes it. readLimit > 0 makes a larger frame end the socket with close code 1009.
func (sk *socket) serve(readLimit int64, onFrame func([]byte)) {
	defer close(sk.done)
	defer sk.srv.sockets.remove(sk)
	defer sk.shutdown()
	if readLimit > 0 {
		sk.ws.SetReadLimit(readLimit)
	}
	for {
		mt, data, err := sk.ws.ReadMessage()
		if err != nil {
			status := "closed"
			var ce *websocket.CloseError
			switch {
			case errors.As(err, &ce):
				status = fmt.Sprintf("closed by client: %d %s", ce.Code, ce.Text)
			case errors.Is(err, websocket.ErrReadLimit):
				status = "closed: frame over read limit"
				sk.srv.log.WithField("conn", sk.info.ID).Warn("client frame over the size limit, disconnecting")
			}
			sk.srv.transcript.add(Entry{Kind: KindConn, Conn: sk.info.ID, Team: sk.info.Team, App: sk.info.App, Status: status})
			return
		}
		sk.srv.counters.framesIn.Add(1)
		sk.srv.transcript.add(Entry{Kind: KindFrameIn, Conn: sk.info.ID, Team: sk.info.Team, App: sk.info.App, Data: data})
		if mt != websocket.TextMessage {
			sk.srv.log.WithField("conn", sk.info.ID).Warn("binary frame ignored")
			continue
		}
		if sk.silent.Load() {
			continue
		}
		onFrame(data)
	}
}

// send writes one text frame, recorded in the transcript. A silent socket swallows it (reporting
// success, as a silent server gives no sign). It fails once the socket is closed.
func (sk *socket) send(data []byte) error {
	select {
	case <-sk.closed:
		return errSocketClosed
	default:
	}
	if sk.silent.Load() {
		return nil
	}
	sk.wmu.Lock()
	_ = sk.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	err := sk.ws.WriteMessage(websocket.TextMessage, data)
	sk.wmu.Unlock()
	if err != nil {
		sk.drop()
		return fmt.Errorf("fakeslack: write %s: %w", sk.info.ID, err)
	}
	sk.srv.counters.framesOut.Add(1)
	sk.srv.transcript.add(Entry{Kind: KindFrameOut, Conn: sk.info.ID, Team: sk.info.Team, App: sk.info.App, Data: data})
	return nil
}

// ping sends a WebSocket ping control frame unless the socket is silent or deaf.
func (sk *socket) ping(payload string) {
	if sk.silent.Load() || sk.deaf.Load() {
		return
	}
	if err := sk.ws.WriteControl(websocket.PingMessage, []byte(payload), time.Now().Add(5*time.Second)); err == nil {
		sk.srv.transcript.add(Entry{Kind: KindFrameOut, Conn: sk.info.ID, Team: sk.info.Team, App: sk.info.App, Method: "ping", Data: []byte(payload)})
	}
}

// drop closes the TCP connection without a close frame (an abrupt disconnect).
func (sk *socket) drop() { sk.shutdown() }

// closeClean sends a close frame with code and reason, then closes the connection once the client
// answers or after a second.
func (sk *socket) closeClean(code int, reason string) {
	select {
	case <-sk.closed:
		return
	default:
	}
	_ = sk.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	sk.srv.goAfter(time.Second, sk.shutdown)
}

func (sk *socket) shutdown() {
	sk.once.Do(func() {
		close(sk.closed)
		_ = sk.ws.Close()
	})
}

// isClosed reports whether the socket has been shut down.
func (sk *socket) isClosed() bool {
	select {
	case <-sk.closed:
		return true
	default:
		return false
	}
}

func (sk *socket) snapshot() ConnInfo {
	i := sk.info
	i.Silent, i.Deaf = sk.silent.Load(), sk.deaf.Load()
	return i
}

// socketRegistry tracks open sockets.
type socketRegistry struct {
	mu   sync.Mutex
	byID map[string]*socket
}

func newSocketRegistry() *socketRegistry { return &socketRegistry{byID: map[string]*socket{}} }

func (r *socketRegistry) add(sk *socket) {
	r.mu.Lock()
	r.byID[sk.info.ID] = sk
	r.mu.Unlock()
}

func (r *socketRegistry) remove(sk *socket) {
	r.mu.Lock()
	delete(r.byID, sk.info.ID)
	r.mu.Unlock()
}

func (r *socketRegistry) get(id string) *socket {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byID[id]
}

// match returns the open sockets for which keep is true.
func (r *socketRegistry) match(keep func(*socket) bool) []*socket {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*socket
	for _, sk := range r.byID {
		if keep(sk) {
			out = append(out, sk)
		}
	}
	return out
}

func (r *socketRegistry) byToken(tok string) []*socket {
	return r.match(func(sk *socket) bool { return sk.token == tok })
}

// closeAll drops every socket and waits for their read loops to end.
func (r *socketRegistry) closeAll() {
	all := r.match(func(*socket) bool { return true })
	for _, sk := range all {
		sk.drop()
	}
	for _, sk := range all {
		<-sk.done
	}
}

// Connections lists the open sockets, optionally only those of one team or app ID (subject "" for all).
func (s *Server) Connections(subject string) []ConnInfo {
	out := []ConnInfo{}
	for _, sk := range s.sockets.match(func(sk *socket) bool {
		return subject == "" || sk.info.Team == subject || sk.info.App == subject
	}) {
		out = append(out, sk.snapshot())
	}
	return out
}

// ErrNoConnection is returned by the connection faults when no open socket has the given ID.
var ErrNoConnection = errors.New("fakeslack: no such connection")

// DropConnection closes a socket: abruptly (TCP closed, no close frame) or, with clean, by the
// WebSocket close handshake with code 1000.
func (s *Server) DropConnection(id string, clean bool) error {
	sk := s.sockets.get(id)
	if sk == nil {
		return ErrNoConnection
	}
	if clean {
		sk.closeClean(websocket.CloseNormalClosure, "")
	} else {
		sk.drop()
	}
	return nil
}

// SilenceConnection makes a socket go silent: it keeps the TCP connection open but sends nothing
// more (no events, no pings, no pongs, no replies) and ignores what the client sends.
func (s *Server) SilenceConnection(id string) error {
	sk := s.sockets.get(id)
	if sk == nil {
		return ErrNoConnection
	}
	sk.silent.Store(true)
	return nil
}

// StopAnsweringPings makes a socket ignore the client's pings (WebSocket pings and RTM JSON pings)
// and stop sending its own, while events still flow.
func (s *Server) StopAnsweringPings(id string) error {
	sk := s.sockets.get(id)
	if sk == nil {
		return ErrNoConnection
	}
	sk.deaf.Store(true)
	return nil
}
