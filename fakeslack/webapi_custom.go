package fakeslack

import (
	"encoding/json"
	"errors"
	"strings"
)

// MethodFunc answers a Web API method registered with HandleMethod. Its map is the answer's
// body, to which "ok":true is added (nil means {}); an error answers {"ok":false,"error":…}:
// a *MethodError's Code, or fatal_error for any other error.
type MethodFunc func(call Call) (map[string]any, error)

// MethodError is a Slack refusal a MethodFunc returns: {"ok":false,"error":Code}.
type MethodError struct {
	Code string
}

func (e *MethodError) Error() string { return "slack: " + e.Code }

// Call is one Web API call to a method registered with HandleMethod. The token has passed the
// common checks (known, not revoked, inactive or expired; the rate limit, if one is set in
// Options.RateLimits).
type Call struct {
	// Method is the method's name, e.g. "pins.add".
	Method string
	// Team is the token's workspace ("" for an app-level token), App the app it speaks for
	// ("" when none is known), User the token's user (the bot user for a bot token).
	Team, App, User string
	// Kind is the token's kind: "bot", "classic-bot", "user" or "app".
	Kind string
	req  *apiRequest
}

// Arg returns an argument as a string: a form or query value as sent, a JSON string unquoted,
// another JSON value as its JSON text.
func (c Call) Arg(name string) string { return c.req.Arg(name) }

// RawArg returns an argument as JSON: a JSON value as sent, a form value holding JSON (blocks,
// attachments), else the value as a JSON string; nil when absent.
func (c Call) RawArg(name string) json.RawMessage { return c.req.RawArg(name) }

// HandleMethod registers (or replaces) a Web API method, served at /api/<name> like the built-in
// ones, after the same transport and token checks. JSON bodies are read. A name already served by
// the server is replaced for later calls. It is safe to call while the server serves.
func (s *Server) HandleMethod(name string, f MethodFunc) {
	spec := methodSpec{json: true, handler: func(req *apiRequest) (map[string]any, error) {
		who := s.identify(req.Tok)
		body, err := f(Call{Method: req.Method, Team: req.Tok.team, App: who.appID, User: who.userID, Kind: req.Tok.kind.String(), req: req})
		var me *MethodError
		if errors.As(err, &me) {
			return nil, apiErr(me.Code)
		}
		return body, err
	}}
	s.customMu.Lock()
	defer s.customMu.Unlock()
	s.custom[strings.TrimSpace(name)] = spec
}

// method finds a method: one registered with HandleMethod first, then the built-in ones.
func (s *Server) method(name string) (methodSpec, bool) {
	s.customMu.RLock()
	spec, ok := s.custom[name]
	s.customMu.RUnlock()
	if ok {
		return spec, true
	}
	spec, ok = s.methods[name]
	return spec, ok
}
