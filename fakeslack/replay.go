package fakeslack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/slack-go/slack/socketmode"
)

// ReplayOptions configures Replay. Zero fields take the defaults named on each field.
type ReplayOptions struct {
	// Speed scales the recorded gaps between frames: 1 (the default) keeps them, 2 halves them;
	// negative sends each frame as soon as a socket can take it.
	Speed float64 `json:"speed"`
	// Subject replays only the frames of one team (RTM) or app (Socket Mode); "" replays all.
	Subject string `json:"subject"`
	// ConnWait is how long a frame waits for its team or app to have an open socket before it is
	// skipped. Default 10s.
	ConnWait time.Duration `json:"conn_wait"`
	// MaxGap shortens longer recorded gaps (after Speed) to it: idle time is seldom the bug.
	// Default 10s.
	MaxGap time.Duration `json:"max_gap"`
}

// ReplayResult says what Replay did.
type ReplayResult struct {
	Replayed int `json:"replayed"` // frames sent or envelopes delivered
	Skipped  int `json:"skipped"`  // frames whose team or app had no socket within ConnWait
}

// Replay plays back the server side of a recorded session (ReadRecording) to the sockets open now,
// so a client's bug seen once can be replayed as a test. It sends what the server sent (frame_out
// entries), with the recorded gaps, to the open sockets of the same team or app (IDs are stable
// across runs with the same Options; tokens are not, so a client must use the new world's):
//
//   - RTM: each event frame as recorded, to every socket of the team; goodbye as SendRTMGoodbye.
//     hello, replies (reply_to) and pongs are not replayed: the server answers the live client.
//     A frame recorded on several sockets at once is sent once.
//   - Socket Mode: events_api, slash_commands and interactive envelopes are delivered as recorded
//     (same envelope_id, unless one is pending) and then handled as injected ones: acks matched,
//     events_api redelivered if not acked. Recorded redeliveries (retry_attempt > 0) are not
//     replayed. refresh_requested refreshes a socket (RefreshConnection); other disconnect frames
//     (warning, link_disabled) are sent as recorded; hello and too_many_websockets are not.
//
// Web API answers, socket closes and WebSocket pings are not replayed: the live server makes its
// own, and faults are script steps. Replay returns when the recording is played or ctx ends.
func (s *Server) Replay(ctx context.Context, entries []Entry, o ReplayOptions) (ReplayResult, error) {
	if o.Speed == 0 {
		o.Speed = 1
	}
	if o.ConnWait <= 0 {
		o.ConnWait = 10 * time.Second
	}
	if o.MaxGap <= 0 {
		o.MaxGap = 10 * time.Second
	}
	var res ReplayResult
	var prev time.Time
	seen := map[string]string{} // RTM frame → the recorded conn it was first replayed from
	for _, e := range entries {
		if e.Kind != KindFrameOut || e.Method == "ping" || len(e.Data) == 0 {
			continue
		}
		subject := e.App
		if subject == "" {
			subject = e.Team
		}
		if subject == "" || (o.Subject != "" && o.Subject != subject) {
			continue
		}
		var f struct {
			socketmode.Request                 // a Socket Mode frame
			ReplyTo            json.RawMessage `json:"reply_to"` // an RTM reply
		}
		if json.Unmarshal(e.Data, &f) != nil {
			continue
		}
		var do func() bool
		if e.App != "" {
			do = s.replaySocketMode(e, f.Request)
		} else {
			if f.Type == "hello" || f.ReplyTo != nil || f.Type == "pong" {
				continue
			}
			if c, ok := seen[string(e.Data)]; ok && c != e.Conn {
				continue
			}
			seen[string(e.Data)] = e.Conn
			do = s.replayRTM(e, f.Type)
		}
		if do == nil {
			continue
		}
		if !prev.IsZero() && o.Speed > 0 {
			if gap := min(o.MaxGap, time.Duration(float64(e.Time.Sub(prev))/o.Speed)); gap > 0 && !sleepCtx(ctx, gap) {
				return res, ctx.Err()
			}
		}
		prev = e.Time
		if !s.awaitSocket(ctx, e, o.ConnWait) {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			res.Skipped++
			continue
		}
		if do() {
			res.Replayed++
		} else {
			res.Skipped++
		}
	}
	return res, nil
}

// replayRTM returns how to replay one RTM frame.
func (s *Server) replayRTM(e Entry, typ string) func() bool {
	if typ == "goodbye" {
		return func() bool { n, _ := s.SendRTMGoodbye(e.Team, ""); return n > 0 }
	}
	frame := append([]byte(nil), e.Data...)
	return func() bool { return s.rtm.broadcast(e.Team, frame, nil) > 0 }
}

// replaySocketMode returns how to replay one Socket Mode frame, or nil to skip it.
func (s *Server) replaySocketMode(e Entry, f socketmode.Request) func() bool {
	m := s.sm
	typ, id, payload, accepts := f.Type, f.EnvelopeID, f.Payload, f.AcceptsResponsePayload
	switch typ {
	case typeEventsAPI, typeSlashCommands, typeInteractive:
		if f.RetryAttempt > 0 || len(payload) == 0 {
			return nil
		}
		// The team of an events_api or slash_commands payload (team_id) or of an interaction
		// (team.id): two keys of three slack-go types, read without decoding the whole payload.
		var team struct {
			TeamID string `json:"team_id"`
			Team   struct {
				ID string `json:"id"`
			} `json:"team"`
		}
		_ = json.Unmarshal(payload, &team)
		if team.TeamID == "" {
			team.TeamID = team.Team.ID
		}
		body := append([]byte(nil), payload...)
		return func() bool {
			a, err := m.installed(e.App, "")
			if err != nil {
				return false
			}
			env := m.newEnvelope(typ, a, team.TeamID, body, accepts)
			m.mu.Lock()
			if _, busy := m.pending[id]; id != "" && !busy {
				env.id = id
			}
			m.mu.Unlock()
			m.deliver(env)
			return true
		}
	case "disconnect":
		switch f.Reason {
		case "refresh_requested":
			return func() bool {
				ok := false
				for _, c := range s.Connections(e.App) {
					ok = s.RefreshConnection(c.ID, false) == nil || ok
				}
				return ok
			}
		case "too_many_websockets":
			return nil
		}
		frame := append([]byte(nil), e.Data...)
		return func() bool {
			sent := false
			for _, sk := range s.sockets.match(func(sk *socket) bool { return sk.info.App == e.App }) {
				sent = sk.send(frame) == nil || sent
			}
			return sent
		}
	}
	return nil
}

// awaitSocket waits until e's team (RTM) or app (Socket Mode) has an open socket, up to wait.
func (s *Server) awaitSocket(ctx context.Context, e Entry, wait time.Duration) bool {
	deadline := time.Now().Add(wait)
	for {
		open := false
		if e.App != "" {
			a, err := s.sm.installed(e.App, "")
			open = err == nil && s.sm.hasSocket(a)
		} else {
			open = len(s.rtm.sockets(e.Team)) > 0
		}
		if open {
			return true
		}
		if time.Now().After(deadline) || !sleepCtx(ctx, 10*time.Millisecond) {
			return false
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// routeReplay registers POST /_admin/replay: {"entries":[…] or "<recording text>","speed",
// "subject","conn_wait","max_gap"} → {"replayed","skipped"}, answered once the replay ends.
func (s *Server) routeReplay() {
	s.adminHandle("POST /_admin/replay", func(r *http.Request) (any, error) {
		var body struct {
			Entries json.RawMessage `json:"entries"`
			Speed   float64         `json:"speed"`
			Subject string          `json:"subject"`
			Wait    string          `json:"conn_wait"`
			MaxGap  string          `json:"max_gap"`
		}
		if err := decodeAdmin(r, &body); err != nil {
			return nil, err
		}
		var entries []Entry
		if err := json.Unmarshal(body.Entries, &entries); err != nil {
			// also accept a recording as one string of JSON lines
			var lines string
			if json.Unmarshal(body.Entries, &lines) != nil {
				return nil, badRequest("entries: a list of transcript entries or a recording's text: %v", err)
			}
			if entries, err = ReadRecording(bytes.NewReader([]byte(lines))); err != nil {
				return nil, badRequest("%v", err)
			}
		}
		o := ReplayOptions{Speed: body.Speed, Subject: body.Subject}
		for _, d := range []struct {
			text string
			to   *time.Duration
			name string
		}{{body.Wait, &o.ConnWait, "conn_wait"}, {body.MaxGap, &o.MaxGap, "max_gap"}} {
			if d.text == "" {
				continue
			}
			v, err := time.ParseDuration(d.text)
			if err != nil {
				return nil, badRequest("%s: %v", d.name, err)
			}
			*d.to = v
		}
		res, err := s.Replay(r.Context(), entries, o)
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, fmt.Errorf("replay: %w", err)
		}
		return map[string]any{"replayed": res.Replayed, "skipped": res.Skipped}, nil
	})
}
