package fakeslack

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// The admin HTTP API lives under /_admin/. Requests and answers are JSON; an answer is
// {"ok":true,...} or {"ok":false,"error":"..."} with status 400 (bad request) or 404 (unknown
// connection, token, team or app). Routes registered here:
//
//	GET  /_admin/world                          workspaces and apps, with their tokens
//	GET  /_admin/stats                          counters (see Stats)
//	GET  /_admin/transcript?kind=&conn=&team=&app=&since=   transcript entries, since a seq
//	GET  /_admin/history/{channel}              a channel's messages
//	GET  /_admin/connections?subject=           open sockets, optionally of one team or app
//	POST /_admin/connections/{id}/drop          {"clean":bool}: abrupt or clean close
//	POST /_admin/connections/{id}/silence       send nothing more, answer nothing
//	POST /_admin/connections/{id}/stop-pings    answer no pings, send none
//	POST /_admin/tokens/revoke                  {"token":"…"}: token_revoked from now on
//	POST /_admin/tokens/deactivate              {"token":"…"}: account_inactive from now on
//	POST /_admin/tokens/restore                 {"token":"…"}: undo revoke/deactivate
//	POST /_admin/refuse-opens                   {"subject":"T…|A…","count":K,"error":"code","retry_after":secs}
//
// The RTM and Socket Mode files add their own routes (event injection, goodbye, refresh…), and
// webhooks_admin.go the webhook ones:
//
//	POST /_admin/webhooks/fail                  {"url","count","status","body"}: the next posts to url fail so
//	GET  /_admin/webhooks/posts?url=            posts to a webhook or response_url, with their answers
//	POST /_admin/response-urls                  {"kind","team","channel"} → {"response_url"}
//	POST /_admin/channels/archive               {"team","channel","archived"}: archive or unarchive
//	POST /_admin/replay                         {"entries","speed","subject","conn_wait","max_gap"}: play a recording (replay.go)
//
// admin_apps.go adds the routes of HTTP delivery, installations, views and app-layer injections.

// MaxAdminStream is the largest "count" the admin stream routes accept: the RTM stream renders
// every message before writing the first, so an unbounded count would let one request exhaust
// memory. The Go methods (InjectRTMStream, InjectMessages) take any count.
const MaxAdminStream = 1_000_000

// adminError is an admin API failure with its HTTP status.
type adminError struct {
	status int
	msg    string
}

func (e *adminError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &adminError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &adminError{status: http.StatusNotFound, msg: fmt.Sprintf(format, args...)}
}

// adminHandle registers an admin route; h's result is sent as JSON under "ok":true (a map's keys
// are merged in, anything else goes under "result").
func (s *Server) adminHandle(pattern string, h func(r *http.Request) (any, error)) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		res, err := h(r)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if err != nil {
			status := http.StatusInternalServerError
			var ae *adminError
			if errors.As(err, &ae) {
				status = ae.status
			}
			s.log.WithError(err).WithField("path", r.URL.Path).Warn("admin request refused")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": err.Error()})
			return
		}
		body := map[string]any{"ok": true}
		if m, ok := res.(map[string]any); ok {
			for k, v := range m {
				body[k] = v
			}
		} else if res != nil {
			body["result"] = res
		}
		data, err := json.Marshal(body)
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = fmt.Fprintf(w, `{"ok":false,"error":%q}`, err.Error())
			return
		}
		_, _ = w.Write(data)
	})
}

// decodeAdmin reads a JSON request body into v; an empty body leaves v as it is.
func decodeAdmin(r *http.Request, v any) error {
	data, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		return badRequest("read body: %v", err)
	}
	if len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return badRequest("body is not the expected JSON: %v", err)
	}
	return nil
}

func (s *Server) routeAdmin() {
	s.routeAdminApps()
	s.adminHandle("GET /_admin/world", func(*http.Request) (any, error) {
		return map[string]any{"api_url": s.APIURL(), "workspaces": s.Workspaces(), "apps": s.Apps()}, nil
	})
	s.adminHandle("GET /_admin/stats", func(*http.Request) (any, error) { return s.Stats(), nil })
	s.adminHandle("GET /_admin/transcript", func(r *http.Request) (any, error) {
		q := r.URL.Query()
		var since uint64
		if v := q.Get("since"); v != "" {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return nil, badRequest("since: %v", err)
			}
			since = n
		}
		kind, conn, team, app := Kind(q.Get("kind")), q.Get("conn"), q.Get("team"), q.Get("app")
		return map[string]any{"entries": s.transcript.Entries(func(e Entry) bool {
			return e.Seq > since && (kind == "" || e.Kind == kind) && (conn == "" || e.Conn == conn) &&
				(team == "" || e.Team == team) && (app == "" || e.App == app)
		})}, nil
	})
	s.adminHandle("GET /_admin/history/{channel}", func(r *http.Request) (any, error) {
		msgs := s.History(r.PathValue("channel"))
		if msgs == nil {
			return nil, notFound("%v: %q", ErrNoChannel, r.PathValue("channel"))
		}
		return map[string]any{"messages": msgs}, nil
	})
	s.adminHandle("GET /_admin/connections", func(r *http.Request) (any, error) {
		return map[string]any{"connections": s.Connections(r.URL.Query().Get("subject"))}, nil
	})
	s.adminHandle("POST /_admin/connections/{id}/drop", func(r *http.Request) (any, error) {
		var req struct {
			Clean bool `json:"clean"`
		}
		if err := decodeAdmin(r, &req); err != nil {
			return nil, err
		}
		return nil, connErr(s.DropConnection(r.PathValue("id"), req.Clean))
	})
	s.adminHandle("POST /_admin/connections/{id}/silence", func(r *http.Request) (any, error) {
		return nil, connErr(s.SilenceConnection(r.PathValue("id")))
	})
	s.adminHandle("POST /_admin/connections/{id}/stop-pings", func(r *http.Request) (any, error) {
		return nil, connErr(s.StopAnsweringPings(r.PathValue("id")))
	})
	for action, f := range map[string]func(string) bool{
		"revoke": s.RevokeToken, "deactivate": s.DeactivateToken, "restore": s.RestoreToken,
	} {
		s.adminHandle("POST /_admin/tokens/"+action, func(r *http.Request) (any, error) {
			var req struct {
				Token string `json:"token"`
			}
			if err := decodeAdmin(r, &req); err != nil {
				return nil, err
			}
			if req.Token == "" {
				return nil, badRequest("token is required")
			}
			if !f(req.Token) {
				return nil, notFound("unknown token")
			}
			return nil, nil
		})
	}
	s.adminHandle("POST /_admin/refuse-opens", func(r *http.Request) (any, error) {
		var req struct {
			Subject    string  `json:"subject"`
			Count      int     `json:"count"`
			Error      string  `json:"error"`
			RetryAfter float64 `json:"retry_after"`
		}
		if err := decodeAdmin(r, &req); err != nil {
			return nil, err
		}
		if req.Subject == "" || req.Count <= 0 || req.Error == "" {
			return nil, badRequest("subject, count > 0 and error are required")
		}
		if !s.knownSubject(req.Subject) {
			return nil, notFound("unknown team or app %q", req.Subject)
		}
		s.RefuseOpens(req.Subject, req.Count, req.Error, time.Duration(req.RetryAfter*float64(time.Second)))
		return nil, nil
	})
}

func connErr(err error) error {
	if errors.Is(err, ErrNoConnection) {
		return notFound("%v", err)
	}
	return err
}

// knownSubject reports whether id is a team or app ID of this server.
func (s *Server) knownSubject(id string) bool {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	return s.world.byTeam[id] != nil || s.world.byApp[id] != nil
}
