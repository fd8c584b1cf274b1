package fakeslack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// Options configures a Server. Zero fields take the defaults named on each field.
type Options struct {
	// Addr is the listen address. Default "127.0.0.1:0" (a free loopback port).
	Addr string
	// Workspaces is how many workspaces to generate. Default 2; negative means none.
	Workspaces int
	// Apps is how many Socket Mode apps to generate, each installed in every workspace. Default 1;
	// negative means none.
	Apps int
	// UsersPerWorkspace and ChannelsPerWorkspace size each workspace. Defaults 3 and 2.
	UsersPerWorkspace    int
	ChannelsPerWorkspace int
	// Logger receives the server's own logs (bad input, faults). Default: discarded.
	Logger *logrus.Logger
	// RateLimits replaces the default per-method Web API limits (see DefaultRateLimits); a method
	// mapped to the zero Limit is unlimited.
	RateLimits map[string]Limit
	// TranscriptSize is how many transcript entries are kept (oldest dropped first). Default 100000;
	// negative disables the transcript.
	TranscriptSize int
	// TranscriptBytes bounds the Data (frames, bodies) the transcript keeps in all, oldest entries
	// dropped first. Default 64 MiB.
	TranscriptBytes int
	// Record, when set, receives every transcript entry as it happens, one JSON object a line
	// (Entry's JSON), whatever TranscriptSize keeps: a recording that ReadRecording reads and
	// Replay plays back. Writes are buffered (flushed every 100 ms and by Close); a write error
	// ends the recording, and Close logs it.
	Record io.Writer
	// HistorySize is how many messages each channel's history keeps (History, thread parents,
	// response_url edits), oldest dropped first. Default 10000; negative keeps none.
	HistorySize int
	// QueryTokens accepts a token in the query string of a GET request, as Slack does for apps
	// created before 2021-02-24. Default false: refused (not_authed), as for newer apps.
	QueryTokens bool
	// BarePaths serves the Web API at /<method> as well as /api/<method>. Slack serves only
	// /api/<method>; the SDKs' own mock servers use bare paths. Default false.
	BarePaths bool

	// RTM holds the RTM socket settings.
	RTM RTMOptions
	// SocketMode holds the Socket Mode settings.
	SocketMode SocketModeOptions
	// Webhooks holds the incoming webhook and response_url settings.
	Webhooks WebhookOptions
	// HTTP holds the settings of delivery to apps' request URLs (App.RequestURL).
	HTTP HTTPOptions
	// OAuth holds the OAuth flow's settings (token rotation's lifetime).
	OAuth OAuthOptions
	// TriggerLifetime is how long a trigger_id opens a view (views.open, views.push). Default 3s,
	// as Slack's.
	TriggerLifetime time.Duration
}

func (o Options) withDefaults() Options {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Workspaces == 0 {
		o.Workspaces = 2
	} else if o.Workspaces < 0 {
		o.Workspaces = 0
	}
	if o.Apps == 0 {
		o.Apps = 1
	} else if o.Apps < 0 {
		o.Apps = 0
	}
	if o.UsersPerWorkspace <= 0 {
		o.UsersPerWorkspace = 3
	}
	if o.ChannelsPerWorkspace <= 0 {
		o.ChannelsPerWorkspace = 2
	}
	if o.Logger == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		o.Logger = l
	}
	if o.RateLimits == nil {
		o.RateLimits = DefaultRateLimits()
	}
	if o.TranscriptSize == 0 {
		o.TranscriptSize = 100000
	}
	if o.TranscriptBytes <= 0 {
		o.TranscriptBytes = 64 << 20
	}
	if o.HistorySize == 0 {
		o.HistorySize = 10000
	}
	o.RTM = o.RTM.withDefaults()
	o.SocketMode = o.SocketMode.withDefaults()
	o.Webhooks = o.Webhooks.withDefaults()
	o.HTTP = o.HTTP.withDefaults()
	o.OAuth = o.OAuth.withDefaults()
	if o.TriggerLifetime <= 0 {
		o.TriggerLifetime = 3 * time.Second
	}
	return o
}

// Server is a running Slack stand-in. Its methods are safe for concurrent use.
type Server struct {
	opts       Options
	log        *logrus.Entry
	ln         net.Listener
	http       *http.Server
	mux        *http.ServeMux
	base       string // "http://127.0.0.1:port"
	world      *world
	methods    map[string]methodSpec
	customMu   sync.RWMutex
	custom     map[string]methodSpec // HandleMethod's, guarded by customMu
	limiter    *rateLimiter
	refusals   *refusals
	sockets    *socketRegistry
	transcript *Transcript
	counters   counters

	rtm       *rtmServer
	sm        *socketModeServer
	hooks     *hookServer
	httpOut   *httpDeliverer
	views     *viewStore
	responses responses // commands and view_submissions waiting for the app's answer

	ctx       context.Context // cancelled by Close
	cancel    context.CancelFunc
	wg        sync.WaitGroup // every goroutine the server starts
	closeOnce sync.Once
}

// New starts a Server listening on opts.Addr and returns once it accepts connections.
func New(opts Options) (*Server, error) {
	opts = opts.withDefaults()
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("fakeslack: listen %s: %w", opts.Addr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		opts:       opts,
		log:        opts.Logger.WithField("component", "fakeslack"),
		ln:         ln,
		mux:        http.NewServeMux(),
		base:       "http://" + ln.Addr().String(),
		methods:    map[string]methodSpec{},
		custom:     map[string]methodSpec{},
		limiter:    newRateLimiter(),
		refusals:   newRefusals(),
		sockets:    newSocketRegistry(),
		transcript: newTranscript(opts.TranscriptSize, opts.TranscriptBytes, newRecorder(opts.Record)),
		ctx:        ctx,
		cancel:     cancel,
	}
	s.world = newWorld(&s.opts, s.base)
	s.views = newViewStore(opts.TriggerLifetime)
	s.responses.max = opts.SocketMode.AckHistory
	s.routeWebAPI()
	s.routeAdmin()
	s.routeReplay()
	s.rtm = newRTMServer(s)
	s.sm = newSocketModeServer(s)
	s.hooks = newHookServer(s)
	s.httpOut = newHTTPDeliverer(s)
	s.http = &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}
	s.wg.Add(1)
	go func() { // owner: Server. Ends when Close shuts s.http down; Close waits on s.wg.
		defer s.wg.Done()
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.WithError(err).Error("http server stopped")
		}
	}()
	return s, nil
}

// Close stops the server: it closes every socket abruptly, stops every timer and goroutine it
// started, and returns once they have exited. It is safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		_ = s.http.Close()
		s.sockets.closeAll()
		s.rtm.close()
		s.sm.close()
		s.hooks.close()
		s.wg.Wait()
		if err := s.transcript.flush(); err != nil {
			s.log.WithError(err).Error("recording not written")
		}
	})
	return nil
}

// URL is the server's base URL, "http://127.0.0.1:port".
func (s *Server) URL() string { return s.base }

// APIURL is the Web API base URL, ending in "/api/" (for slack.OptionAPIURL).
func (s *Server) APIURL() string { return s.base + "/api/" }

// AdminURL is the base URL of the admin HTTP API, ending in "/_admin/".
func (s *Server) AdminURL() string { return s.base + "/_admin/" }

// Workspaces returns a copy of the generated workspaces.
func (s *Server) Workspaces() []Workspace {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	out := make([]Workspace, len(s.world.workspaces))
	for i, ws := range s.world.workspaces {
		out[i] = copyWorkspace(ws)
	}
	return out
}

// Workspace returns the workspace with the given team ID.
func (s *Server) Workspace(teamID string) (Workspace, bool) {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	ws, ok := s.world.byTeam[teamID]
	if !ok {
		return Workspace{}, false
	}
	return copyWorkspace(ws), true
}

// Apps returns a copy of the generated apps.
func (s *Server) Apps() []App {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	out := make([]App, len(s.world.apps))
	for i, a := range s.world.apps {
		out[i] = *a
		out[i].Teams = append([]string{}, a.Teams...)
	}
	return out
}

// History returns the messages kept of a channel, oldest first: the last Options.HistorySize
// ([] when none, nil for an unknown channel).
func (s *Server) History(channelID string) []Message {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	out := s.world.history[channelID].list()
	if out == nil && s.world.channelExists(channelID) {
		out = []Message{}
	}
	return out
}

// RevokeToken makes every later use of tok fail with token_revoked and closes the sockets opened
// with it abruptly. It reports whether the token is known.
func (s *Server) RevokeToken(tok string) bool {
	if !s.setTokenState(tok, func(t *tokenInfo) { t.revoked = true }) {
		return false
	}
	s.log.WithField("token", redactToken(tok)).Info("token revoked")
	for _, sk := range s.sockets.byToken(tok) {
		sk.drop()
	}
	return true
}

// RestoreToken undoes RevokeToken and DeactivateToken.
func (s *Server) RestoreToken(tok string) bool {
	return s.setTokenState(tok, func(t *tokenInfo) { t.revoked, t.inactive = false, false })
}

// DeactivateToken makes every later use of tok fail with account_inactive (a deleted user or
// workspace) and closes the sockets opened with it abruptly.
func (s *Server) DeactivateToken(tok string) bool {
	if !s.setTokenState(tok, func(t *tokenInfo) { t.inactive = true }) {
		return false
	}
	for _, sk := range s.sockets.byToken(tok) {
		sk.drop()
	}
	return true
}

// SetScopes replaces the OAuth scopes granted to tok; methods needing a missing scope then answer
// missing_scope.
func (s *Server) SetScopes(tok string, scopes []string) bool {
	return s.setTokenState(tok, func(t *tokenInfo) { t.scopes = append([]string(nil), scopes...) })
}

func (s *Server) setTokenState(tok string, f func(*tokenInfo)) bool {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	t, ok := s.world.tokens[tok]
	if ok {
		f(t)
	}
	return ok
}

// lookupToken returns a copy of what the server knows of tok.
func (s *Server) lookupToken(tok string) (tokenInfo, bool) {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	t, ok := s.world.tokens[tok]
	if !ok {
		return tokenInfo{}, false
	}
	return *t, true
}

// goAfter runs f after d on a goroutine owned by the server; it is skipped if the server closes
// first. Close waits for it.
func (s *Server) goAfter(d time.Duration, f func()) {
	s.wg.Add(1)
	go func() { // owner: Server. Ends after f or when Close cancels s.ctx; Close waits on s.wg.
		defer s.wg.Done()
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			f()
		case <-s.ctx.Done():
		}
	}()
}
