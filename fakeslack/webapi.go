package fakeslack

import (
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-go/switchboard/internal/redact"
)

// Limit is a Web API allowance: PerMinute calls sustained, with bursts of up to Burst calls.
type Limit struct {
	PerMinute float64 `json:"per_minute"`
	Burst     int     `json:"burst"`
}

// DefaultRateLimits returns the per-method limits a new Server applies, keyed by method name. They
// follow Slack's tiers (Tier 1 for the socket-opening methods, special limits for auth.test and
// chat.postMessage) with bursts wide enough that a client reconnecting a few times in a test is not
// refused. Real Slack allows Tier 1 methods about one call a minute.
func DefaultRateLimits() map[string]Limit {
	return map[string]Limit{
		"rtm.connect":           {PerMinute: 20, Burst: 20},
		"rtm.start":             {PerMinute: 20, Burst: 20},
		"apps.connections.open": {PerMinute: 60, Burst: 30},
		"auth.test":             {PerMinute: 600, Burst: 100},
		"chat.postMessage":      {PerMinute: 600, Burst: 600},
		"conversations.list":    {PerMinute: 20, Burst: 20},
		"users.info":            {PerMinute: 100, Burst: 100},
	}
}

// apiError is a Web API refusal: {"ok":false,"error":Code} with extra fields, or a 429.
type apiError struct {
	Code       string
	Status     int // 0 means 200
	RetryAfter time.Duration
	Extra      map[string]any
}

func (e *apiError) Error() string { return "slack: " + e.Code }

func apiErr(code string) *apiError { return &apiError{Code: code} }

// invalidArguments is Slack's invalid_arguments with its [ERROR] message.
func invalidArguments(msg string) *apiError {
	return &apiError{Code: "invalid_arguments", Extra: map[string]any{
		"response_metadata": map[string]any{"messages": []string{"[ERROR] " + msg}},
	}}
}

// apiRequest is one parsed Web API call.
type apiRequest struct {
	Method string
	Token  string
	Tok    tokenInfo
	HTTP   *http.Request
	form   url.Values
	json   map[string]json.RawMessage
	// warnings are the transport's warnings (missing_charset, superfluous_charset).
	warnings []string
}

// Arg returns an argument as a string: form and query values as sent, JSON strings unquoted, other
// JSON values as their JSON text.
func (r *apiRequest) Arg(name string) string {
	if r.json != nil {
		raw, ok := r.json[name]
		if !ok {
			return ""
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		return string(raw)
	}
	return r.form.Get(name)
}

// RawArg returns an argument as JSON: a JSON value as sent, or a form value that holds JSON (as
// Slack's form encoding of blocks and attachments does), else the value as a JSON string.
func (r *apiRequest) RawArg(name string) json.RawMessage {
	if r.json != nil {
		return r.json[name]
	}
	v := r.form.Get(name)
	if v == "" {
		return nil
	}
	if json.Valid([]byte(v)) && (strings.HasPrefix(v, "[") || strings.HasPrefix(v, "{")) {
		return json.RawMessage(v)
	}
	b, _ := json.Marshal(v)
	return b
}

// Bool reads a boolean argument ("true", "1", true).
func (r *apiRequest) Bool(name string) bool {
	v := r.Arg(name)
	return v == "true" || v == "1"
}

// methodSpec declares one Web API method and the checks made before its handler runs.
type methodSpec struct {
	handler    func(*apiRequest) (map[string]any, error)
	kinds      []tokenKind // token kinds accepted; others get not_allowed_token_type; empty: all
	scope      string      // scope needed, "" for none
	json       bool        // reads application/json bodies (documented per method); others ignore them
	bearerOnly bool        // token only from the Authorization header (apps.connections.open)
	postOnly   bool        // refuses other verbs with insecure_request (apps.connections.open)
	opens      bool        // subject to RefuseOpens (the socket-URL methods)
	noToken    bool        // takes no token (oauth.v2.access authenticates the client itself)
}

// handle registers a Web API method. Protocol files call it from their constructors.
func (s *Server) handle(name string, spec methodSpec) { s.methods[name] = spec }

func (s *Server) routeWebAPI() {
	s.mux.HandleFunc("/api/{method}", s.serveAPI)
	if s.opts.BarePaths {
		s.mux.HandleFunc("/{method}", s.serveAPI)
	}
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("method")
	if name == "" || name == "favicon.ico" {
		http.NotFound(w, r)
		return
	}
	s.counters.apiCalls.Add(1)
	req, spec, aerr := s.parseAPI(name, r)
	var body map[string]any
	if aerr == nil {
		var err error
		body, err = spec.handler(req)
		if err != nil {
			var ok bool
			if aerr, ok = err.(*apiError); !ok {
				s.log.WithError(err).WithField("method", name).Error("web api handler failed")
				aerr = apiErr("fatal_error")
			}
		}
	}
	entry := Entry{Kind: KindAPI, Method: name}
	if req != nil {
		entry.Team, entry.App = req.Tok.team, req.Tok.app
		entry.Data = requestArgs(req)
	}
	if aerr != nil {
		entry.Status = aerr.Code
		s.writeAPIError(w, req, aerr)
	} else {
		entry.Status = "ok"
		if body == nil {
			body = map[string]any{}
		}
		body["ok"] = true
		withWarnings(body, req.warnings)
		s.writeJSON(w, req, http.StatusOK, body)
	}
	s.transcript.add(entry)
}

// parseAPI finds the method, reads the arguments and token, and makes every common check.
func (s *Server) parseAPI(name string, r *http.Request) (*apiRequest, methodSpec, *apiError) {
	spec, ok := s.method(name)
	if !ok {
		return nil, spec, apiErr("unknown_method")
	}
	req := &apiRequest{Method: name, HTTP: r}
	var aerr *apiError
	req.warnings, aerr = s.readArgs(req, spec, r)
	if aerr != nil || spec.noToken {
		return req, spec, aerr
	}
	tok, ok := s.lookupToken(req.Token)
	switch {
	case !ok:
		return req, spec, apiErr("invalid_auth")
	case tok.revoked:
		return req, spec, apiErr("token_revoked")
	case tok.inactive:
		return req, spec, apiErr("account_inactive")
	case !tok.expires.IsZero() && !time.Now().Before(tok.expires):
		return req, spec, apiErr("token_expired")
	}
	req.Tok = tok
	if len(spec.kinds) > 0 && !slices.Contains(spec.kinds, tok.kind) {
		return req, spec, apiErr("not_allowed_token_type")
	}
	if spec.scope != "" && !slices.Contains(tok.scopes, spec.scope) {
		return req, spec, &apiError{Code: "missing_scope", Extra: map[string]any{
			"needed": spec.scope, "provided": strings.Join(tok.scopes, ","),
		}}
	}
	if lim, ok := s.opts.RateLimits[name]; ok && lim.PerMinute > 0 {
		if wait := s.limiter.take(name+"\x00"+req.Token, lim, time.Now()); wait > 0 {
			return req, spec, &apiError{Code: "ratelimited", Status: http.StatusTooManyRequests, RetryAfter: wait}
		}
	}
	if spec.opens {
		subject := tok.team
		if tok.kind == tokenApp {
			subject = tok.app
		}
		if e := s.refusals.next(subject); e != nil {
			return req, spec, e
		}
	}
	return req, spec, nil
}

func (s *Server) writeAPIError(w http.ResponseWriter, req *apiRequest, e *apiError) {
	body := map[string]any{"ok": false, "error": e.Code}
	for k, v := range e.Extra {
		body[k] = v
	}
	status := http.StatusOK
	if e.Status != 0 {
		status = e.Status
	}
	if e.RetryAfter > 0 {
		secs := int(math.Ceil(e.RetryAfter.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	s.writeJSON(w, req, status, body)
}

func (s *Server) writeJSON(w http.ResponseWriter, req *apiRequest, status int, body any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Slack-Req-Id", randomHex(16))
	h.Set("Access-Control-Expose-Headers", "x-slack-req-id, retry-after")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cache-Control", "private, no-cache, no-store, must-revalidate")
	if req != nil {
		if len(req.Tok.scopes) > 0 {
			h.Set("X-OAuth-Scopes", strings.Join(req.Tok.scopes, ","))
		}
		if spec, ok := s.method(req.Method); ok && spec.scope != "" {
			h.Set("X-Accepted-OAuth-Scopes", spec.scope)
		}
	}
	data, err := json.Marshal(body)
	if err != nil {
		s.log.WithError(err).Error("encode web api response")
		data = []byte(`{"ok":false,"error":"fatal_error"}`)
	}
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// requestArgs renders a request's arguments for the transcript, without its token.
func requestArgs(req *apiRequest) []byte {
	if req.json != nil {
		b, _ := json.Marshal(req.json)
		return b
	}
	args := map[string]string{}
	for k, v := range req.form {
		if k != "token" && k != "client_secret" && k != "refresh_token" && k != "code" && len(v) > 0 {
			args[k] = v[0]
		}
	}
	b, _ := json.Marshal(args)
	return b
}

func redactToken(tok string) string { return redact.Token(tok) }

// rateLimiter keeps a token bucket per key.
type rateLimiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter() *rateLimiter { return &rateLimiter{buckets: map[string]*bucket{}} }

// take spends one call from key's bucket and returns 0, or how long until a call is allowed.
func (l *rateLimiter) take(key string, lim Limit, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	burst := float64(max(lim.Burst, 1))
	if !ok {
		b = &bucket{tokens: burst, last: now}
		l.buckets[key] = b
	}
	perSec := lim.PerMinute / 60
	b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*perSec)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) / perSec * float64(time.Second))
}

// refusals holds the injected refusals of socket-URL methods, per team or app ID.
type refusals struct {
	mu      sync.Mutex
	pending map[string][]refusal
}

type refusal struct {
	code       string
	retryAfter time.Duration
	left       int
}

func newRefusals() *refusals { return &refusals{pending: map[string][]refusal{}} }

// next consumes one pending refusal for subject, if any.
func (r *refusals) next(subject string) *apiError {
	r.mu.Lock()
	defer r.mu.Unlock()
	q := r.pending[subject]
	if len(q) == 0 {
		return nil
	}
	f := q[0]
	if q[0].left--; q[0].left <= 0 {
		q = q[1:]
	}
	if len(q) == 0 {
		delete(r.pending, subject)
	} else {
		r.pending[subject] = q
	}
	if f.code == "ratelimited" {
		ra := f.retryAfter
		if ra <= 0 {
			ra = time.Second
		}
		return &apiError{Code: "ratelimited", Status: http.StatusTooManyRequests, RetryAfter: ra}
	}
	return apiErr(f.code)
}

// RefuseOpens makes the next n calls that open a socket for subject (a team ID for rtm.connect and
// rtm.start, an app ID for apps.connections.open) fail with code. The code "ratelimited" answers HTTP
// 429 with a Retry-After of retryAfter (rounded up to whole seconds, at least 1 s).
func (s *Server) RefuseOpens(subject string, n int, code string, retryAfter time.Duration) {
	if n <= 0 || code == "" {
		return
	}
	s.refusals.mu.Lock()
	defer s.refusals.mu.Unlock()
	s.refusals.pending[subject] = append(s.refusals.pending[subject], refusal{code: code, retryAfter: retryAfter, left: n})
}
