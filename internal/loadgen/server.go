package loadgen

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Mode is the transport a Run floods.
type Mode string

const (
	SocketMode Mode = "socketmode" // events_api envelopes, acked
	RTM        Mode = "rtm"        // RTM message frames, never acked
)

// Spec is one measurement.
type Spec struct {
	Mode Mode `json:"mode"`
	// Tokens is how many apps (Socket Mode, one xapp- token each) or workspaces (RTM, one xoxb-
	// token and one socket each). Default 1.
	Tokens int `json:"tokens"`
	// Conns is how many sockets each Socket Mode app opens, 1 to 10. Default 1; RTM ignores it.
	Conns int `json:"conns"`
	// PerConn is how many events each socket carries. Required.
	PerConn int `json:"per_conn"`
	// Window is the most unacked envelopes on a Socket Mode socket; 0 means unbounded (written as
	// fast as the socket takes them).
	Window int `json:"window"`
}

func (s Spec) withDefaults() Spec {
	if s.Tokens <= 0 {
		s.Tokens = 1
	}
	if s.Conns <= 0 || s.Mode == RTM {
		s.Conns = 1
	}
	return s
}

// World is what a client of a Run needs.
type World struct {
	Mode   Mode     `json:"mode"`
	API    string   `json:"api"`    // Web API base, with its trailing slash
	Tokens []string `json:"tokens"` // one per app (xapp-) or workspace (xoxb-)
	Teams  []string `json:"teams"`  // RTM: each token's team ID
	Conns  int      `json:"conns"`  // sockets per token
	Total  int      `json:"total"`  // events the client should receive
}

// Server is the Slack side: the two socket-opening Web API methods and their sockets, on
// 127.0.0.1. It runs one Run at a time; Close stops it.
type Server struct {
	ln   net.Listener
	hs   *http.Server
	base string // http://127.0.0.1:port
	up   websocket.Upgrader

	mu   sync.Mutex
	run  *run
	done chan struct{} // closed when the HTTP server returned
}

// NewServer listens on 127.0.0.1 on a free port and serves until Close.
func NewServer() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{ln: ln, base: "http://" + ln.Addr().String(), done: make(chan struct{}),
		up: websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096}}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/apps.connections.open", s.open)
	mux.HandleFunc("/api/rtm.connect", s.open)
	mux.HandleFunc("/api/auth.test", s.authTest)
	mux.HandleFunc("/link/", s.socket)
	mux.HandleFunc("/websocket/", s.socket)
	s.hs = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { // owner: Server. Ends when Close shuts the listener; Close waits on done.
		defer close(s.done)
		_ = s.hs.Serve(ln)
	}()
	return s, nil
}

// Close ends the current run, closes every socket and stops serving. Safe to call twice.
func (s *Server) Close() error {
	s.mu.Lock()
	r := s.run
	s.run = nil
	s.mu.Unlock()
	if r != nil {
		r.close()
	}
	err := s.hs.Close()
	<-s.done
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Start ends the previous run (closing its sockets) and prepares one for spec: the World says
// which tokens open its sockets. Wait then runs it.
func (s *Server) Start(spec Spec) (World, error) {
	spec = spec.withDefaults()
	if spec.PerConn <= 0 {
		return World{}, errors.New("loadgen: per_conn must be positive")
	}
	if spec.Mode != SocketMode && spec.Mode != RTM {
		return World{}, fmt.Errorf("loadgen: unknown mode %q", spec.Mode)
	}
	s.mu.Lock()
	prev := s.run
	s.run = nil
	s.mu.Unlock()
	if prev != nil {
		prev.close()
	}
	r := newRun(spec)
	w := World{Mode: spec.Mode, API: s.base + "/api/", Conns: spec.Conns, Total: spec.Tokens * spec.Conns * spec.PerConn}
	for i := range spec.Tokens {
		w.Tokens = append(w.Tokens, r.tokens[i])
		if spec.Mode == RTM {
			w.Teams = append(w.Teams, r.slots[i].ids.team)
		}
	}
	s.mu.Lock()
	s.run = r
	s.mu.Unlock()
	return w, nil
}

// Wait waits (up to connectWithin) until every socket of the run is open, then floods them all
// at once and returns once every envelope was acked (Socket Mode) or every frame written (RTM),
// or fails after runWithin or when a socket fails first.
func (s *Server) Wait(connectWithin, runWithin time.Duration) (Result, error) {
	s.mu.Lock()
	r := s.run
	s.mu.Unlock()
	if r == nil {
		return Result{}, errors.New("loadgen: no run started")
	}
	return r.wait(connectWithin, runWithin)
}

// open serves apps.connections.open and rtm.connect: the token names an app or workspace, and the
// answer's URL one of its connection slots not yet handed out.
func (s *Server) open(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	token := strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer ")
	if token == "" {
		token = req.FormValue("token")
	}
	s.mu.Lock()
	r := s.run
	s.mu.Unlock()
	if r == nil {
		_, _ = w.Write([]byte(`{"ok":false,"error":"invalid_auth"}`))
		return
	}
	sl, err := r.assign(token, strings.HasSuffix(req.URL.Path, "rtm.connect"))
	if err != "" {
		_, _ = w.Write([]byte(`{"ok":false,"error":"` + err + `"}`))
		return
	}
	ws := "ws" + strings.TrimPrefix(s.base, "http")
	if r.spec.Mode == RTM {
		body, _ := json.Marshal(map[string]any{"ok": true, "url": ws + "/websocket/" + strconv.Itoa(sl.index),
			"self": map[string]string{"id": sl.ids.bot, "name": "loadbot"},
			"team": map[string]string{"id": sl.ids.team, "name": "Load " + sl.ids.team, "domain": strings.ToLower(sl.ids.team)}})
		_, _ = w.Write(body)
		return
	}
	_, _ = fmt.Fprintf(w, `{"ok":true,"url":"%s/link/?ticket=%d&app_id=%s","response_metadata":{"scopes":["connections:write"],"acceptedScopes":["connections:write"]}}`,
		ws, sl.index, sl.ids.app)
}

// authTest serves auth.test for the run's RTM tokens (who the bot is, as Slack answers it), so a
// client may ask it once per workspace; the run counts the calls.
func (s *Server) authTest(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	token := strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer ")
	if token == "" {
		token = req.FormValue("token")
	}
	s.mu.Lock()
	r := s.run
	s.mu.Unlock()
	t, ok := 0, false
	if r != nil {
		r.authTests.Add(1)
		t, ok = r.byTok[token]
	}
	if !ok || r.spec.Mode != RTM {
		_, _ = w.Write([]byte(`{"ok":false,"error":"invalid_auth"}`))
		return
	}
	id := r.slots[t].ids
	body, _ := json.Marshal(map[string]any{"ok": true, "url": "https://" + strings.ToLower(id.team) + ".slack.com/",
		"team": "Load " + id.team, "user": "loadbot", "team_id": id.team, "user_id": id.bot,
		"bot_id": "B" + strings.TrimPrefix(id.bot, "U"), "is_enterprise_install": false})
	_, _ = w.Write(body)
}

// socket upgrades a slot's socket, sends hello and starts its reader.
func (s *Server) socket(w http.ResponseWriter, req *http.Request) {
	ticket := req.URL.Query().Get("ticket")
	if strings.HasPrefix(req.URL.Path, "/websocket/") {
		ticket = strings.TrimPrefix(req.URL.Path, "/websocket/")
	}
	i, err := strconv.Atoi(ticket)
	s.mu.Lock()
	r := s.run
	s.mu.Unlock()
	if r == nil || err != nil || i < 0 || i >= len(r.slots) || !r.slots[i].claim() {
		http.Error(w, "unknown or used ticket", http.StatusForbidden)
		return
	}
	ws, err := s.up.Upgrade(w, req, nil)
	if err != nil {
		return
	}
	r.connect(r.slots[i], ws)
}

// newIDs names the objects of slot i, of app or workspace tok.
func newIDs(mode Mode, slot, tok int) ids {
	id := ids{slot: slot, team: fmt.Sprintf("T0LOAD%04d", tok), channel: "C0LOADCHAN1", user: "U0LOADUSER1", bot: fmt.Sprintf("U0LOADBOT%02d", tok%100)}
	if mode == SocketMode {
		id.team = "T0LOADTEAM1"
		id.app = fmt.Sprintf("A0LOAD%04d", tok)
	}
	ctx, _ := json.Marshal(map[string]string{"et": "message", "tid": id.team, "aid": id.app, "cid": id.channel})
	id.context = "4-" + base64.RawURLEncoding.EncodeToString(ctx)
	return id
}

// tokenOf is the token of app or workspace i of a run.
func tokenOf(mode Mode, i int) string {
	if mode == RTM {
		return fmt.Sprintf("xoxb-4000000%04d-5000000%04d-loadgenworkspace%08d", i, i, i)
	}
	return fmt.Sprintf("xapp-1-A0LOAD%04d-6000000%04d-%064x", i, i, i+1)
}
