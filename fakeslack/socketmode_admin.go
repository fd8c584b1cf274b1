package fakeslack

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

// Socket Mode admin routes, under /_admin/apps/{app}/ ({app} is an app ID). Bodies and answers are
// JSON; errors answer 400 (bad body or arguments), 404 (unknown app, team, channel, connection or
// envelope) or 409 (no open socket for a slash command or interaction).
//
//	POST /_admin/apps/{app}/events        {"team":"T…","event":{…}}                → {"envelope_id","event_id"}
//	POST /_admin/apps/{app}/events/stream {"team","channel","text":"prefix","count":N,"user"?} → {"injected":N}
//	POST /_admin/apps/{app}/commands      {"team","channel"?,"user"?,"command":"/x","text"?} → {"envelope_id","response_url","trigger_id"}
//	POST /_admin/apps/{app}/interactions  {"type":"block_actions|view_submission|shortcut|message_action|block_suggestion",
//	                                       "team","channel"?,"user"?,"action_id"?,"block_id"?,"value"?,"callback_id"?,
//	                                       "message_ts"?,"values"?,"private_metadata"?}   → {"envelope_id","response_url"?,"trigger_id"}
//	POST /_admin/apps/{app}/refresh       {"connection":"id"?,"warning":bool}       refresh one socket, or all of the app's
//	POST /_admin/apps/{app}/disable       link_disabled to every socket, new sockets refused the same way
//	POST /_admin/apps/{app}/enable        undo disable
//	GET  /_admin/apps/{app}/acks/{envelope}                                         → {"payload":…|null} (404 until acked)

// RefreshConnection makes a Socket Mode socket refresh now: an optional warning disconnect, then
// refresh_requested, then a clean close (1000) after SocketModeOptions.CloseGrace, as at the end of
// its lifetime. It returns ErrNoConnection if no open Socket Mode socket has that ID.
func (s *Server) RefreshConnection(id string, warn bool) error {
	m := s.sm
	m.mu.Lock()
	c := m.conns[id]
	m.mu.Unlock()
	if c == nil {
		return ErrNoConnection
	}
	if warn {
		_ = c.sk.send(smWarning)
	}
	m.mu.Lock()
	if !c.gone && c.stage != stageClose {
		c.stage = stageRefresh
		m.schedule(&c.life, time.Now())
	}
	m.mu.Unlock()
	return nil
}

// DisableSocketMode turns an app's Socket Mode off, as the app settings toggle does: every open
// socket of the app gets {"type":"disconnect","reason":"link_disabled"} and a clean close (1000).
// While disabled, apps.connections.open answers SocketModeOptions.DisabledOpenError (default
// link_disabled; Slack documents nothing for it), or with OpenWhileDisabled answers ok and each new
// socket gets link_disabled instead of hello and is closed. Events are queued meanwhile.
func (s *Server) DisableSocketMode(app string) error {
	m := s.sm
	if _, err := m.installed(app, ""); err != nil {
		return err
	}
	m.mu.Lock()
	m.disabled[app] = true
	conns := append([]*smConn(nil), m.app(app).conns...)
	for _, c := range conns {
		c.ready = false
	}
	m.mu.Unlock()
	for _, c := range conns {
		_ = c.sk.send(smLinkDisabled)
		c.sk.closeClean(websocket.CloseNormalClosure, "")
	}
	s.log.WithField("app", app).Info("socket mode disabled")
	return nil
}

// EnableSocketMode undoes DisableSocketMode.
func (s *Server) EnableSocketMode(app string) error {
	m := s.sm
	if _, err := m.installed(app, ""); err != nil {
		return err
	}
	m.mu.Lock()
	delete(m.disabled, app)
	m.mu.Unlock()
	return nil
}

// AckPayload returns the payload of the ack matched to envelopeID (nil when the ack carried none,
// an empty object or null) and whether such an ack arrived in time. It remembers the last
// SocketModeOptions.AckHistory acks.
func (s *Server) AckPayload(envelopeID string) (json.RawMessage, bool) {
	s.sm.mu.Lock()
	defer s.sm.mu.Unlock()
	r, ok := s.sm.acks[envelopeID]
	return r.payload, ok
}

// smAdminErr maps injection errors to admin HTTP statuses.
func smAdminErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNoApp), errors.Is(err, ErrNoWorkspace), errors.Is(err, ErrNoChannel),
		errors.Is(err, ErrNoConnection):
		return notFound("%v", err)
	case errors.Is(err, ErrNotObject), errors.Is(err, ErrInvalidInjection), errors.Is(err, ErrBadConfig):
		return badRequest("%v", err)
	case errors.Is(err, ErrNoSocket):
		return &adminError{status: http.StatusConflict, msg: err.Error()}
	}
	return err
}

func (m *socketModeServer) routeAdmin() {
	s := m.s
	s.adminHandle("POST /_admin/apps/{app}/events", func(r *http.Request) (any, error) {
		var req struct {
			Team  string          `json:"team"`
			Event json.RawMessage `json:"event"`
		}
		if err := decodeAdmin(r, &req); err != nil {
			return nil, err
		}
		if req.Team == "" || len(req.Event) == 0 {
			return nil, badRequest("team and event are required")
		}
		inj, err := s.InjectEvent(r.PathValue("app"), req.Team, req.Event)
		if err != nil {
			return nil, smAdminErr(err)
		}
		return inj.fields(), nil
	})
	s.adminHandle("POST /_admin/apps/{app}/events/stream", func(r *http.Request) (any, error) {
		var req MessageStream
		if err := decodeAdmin(r, &req); err != nil {
			return nil, err
		}
		if req.Team == "" || req.Channel == "" || req.Count <= 0 {
			return nil, badRequest("team, channel and count > 0 are required")
		}
		if req.Count > MaxAdminStream {
			return nil, badRequest("count %d is over %d", req.Count, MaxAdminStream)
		}
		n, err := s.InjectMessages(r.Context(), r.PathValue("app"), req)
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, smAdminErr(err)
		}
		return map[string]any{"injected": n}, nil
	})
	s.adminHandle("POST /_admin/apps/{app}/commands", func(r *http.Request) (any, error) {
		var req SlashCommand
		if err := decodeAdmin(r, &req); err != nil {
			return nil, err
		}
		inj, err := s.InjectSlashCommand(r.PathValue("app"), req)
		if err != nil {
			return nil, smAdminErr(err)
		}
		return inj.fields(), nil
	})
	s.adminHandle("POST /_admin/apps/{app}/interactions", func(r *http.Request) (any, error) {
		var req Interaction
		if err := decodeAdmin(r, &req); err != nil {
			return nil, err
		}
		inj, err := s.InjectInteraction(r.PathValue("app"), req)
		if err != nil {
			return nil, smAdminErr(err)
		}
		return inj.fields(), nil
	})
	s.adminHandle("POST /_admin/apps/{app}/refresh", func(r *http.Request) (any, error) {
		var req struct {
			Connection string `json:"connection"`
			Warning    bool   `json:"warning"`
		}
		if err := decodeAdmin(r, &req); err != nil {
			return nil, err
		}
		app := r.PathValue("app")
		if _, err := m.installed(app, ""); err != nil {
			return nil, smAdminErr(err)
		}
		var ids []string
		m.mu.Lock()
		for id, c := range m.conns {
			if c.app.id == app && (req.Connection == "" || req.Connection == id) {
				ids = append(ids, id)
			}
		}
		m.mu.Unlock()
		if req.Connection != "" && len(ids) == 0 {
			return nil, notFound("%v: %q", ErrNoConnection, req.Connection)
		}
		for _, id := range ids {
			_ = s.RefreshConnection(id, req.Warning)
		}
		return map[string]any{"refreshed": len(ids)}, nil
	})
	s.adminHandle("POST /_admin/apps/{app}/disable", func(r *http.Request) (any, error) {
		return nil, smAdminErr(s.DisableSocketMode(r.PathValue("app")))
	})
	s.adminHandle("POST /_admin/apps/{app}/enable", func(r *http.Request) (any, error) {
		return nil, smAdminErr(s.EnableSocketMode(r.PathValue("app")))
	})
	s.adminHandle("GET /_admin/apps/{app}/acks/{envelope}", func(r *http.Request) (any, error) {
		if _, err := m.installed(r.PathValue("app"), ""); err != nil {
			return nil, smAdminErr(err)
		}
		p, ok := s.AckPayload(r.PathValue("envelope"))
		if !ok {
			return nil, notFound("envelope %q not acked", r.PathValue("envelope"))
		}
		return map[string]any{"payload": p}, nil
	})
}

// fields renders an Injected as admin answer fields, leaving out empty ones.
func (inj Injected) fields() map[string]any {
	m := map[string]any{"envelope_id": inj.EnvelopeID}
	for k, v := range map[string]string{"event_id": inj.EventID, "response_url": inj.ResponseURL, "trigger_id": inj.TriggerID} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}
