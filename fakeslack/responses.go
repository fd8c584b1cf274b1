package fakeslack

import (
	"encoding/json"
	"sync"
)

// This file acts on what an app answers a slash command or a view_submission with, in a Socket
// Mode ack's payload or in the body of its HTTP answer, as Slack does:
//
//   - A slash command's response is a message: "response_type":"in_channel" posts it to the
//     command's channel (Via "command_response"); otherwise it is ephemeral, shown to the user
//     who ran the command (Ephemeral, Via "command_response:" and the user).
//   - A view_submission's "response_action": "update" replaces the submitted view with the
//     answer's view, "push" pushes it onto the stack, "clear" closes the stack, "errors" keeps the
//     view open (nothing changes). Only a view the app opened (Interaction.ViewID) changes.

// respTarget is what an injected command or view_submission answers to.
type respTarget struct {
	kind                string // typeSlashCommands or typeInteractive
	team, channel, user string
	app, viewID         string
}

// responses holds the targets of the envelopes and deliveries waiting for an answer, bounded
// like the acks remembered (SocketModeOptions.AckHistory).
type responses struct {
	mu    sync.Mutex
	by    map[string]respTarget
	order []string
	max   int
}

func (r *responses) expect(id string, t respTarget) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.by == nil {
		r.by = map[string]respTarget{}
	}
	if len(r.order) >= max(r.max, 1) {
		delete(r.by, r.order[0])
		r.order = r.order[1:]
	}
	r.by[id] = t
	r.order = append(r.order, id)
}

func (r *responses) take(id string) (respTarget, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.by[id]
	delete(r.by, id)
	return t, ok
}

// answered acts on an app's answer to the envelope or delivery id; payload is nil for none.
func (s *Server) answered(id string, payload json.RawMessage) {
	t, ok := s.responses.take(id)
	if !ok || payload == nil {
		return
	}
	switch t.kind {
	case typeSlashCommands:
		s.commandResponse(t, payload)
	case typeInteractive:
		s.viewResponse(t, payload)
	}
}

func (s *Server) commandResponse(t respTarget, payload json.RawMessage) {
	var msg struct {
		ResponseType string `json:"response_type"`
		Text         string `json:"text"`
	}
	if json.Unmarshal(payload, &msg) != nil {
		return
	}
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	ws := s.world.byTeam[t.team]
	if ws == nil {
		return
	}
	m := Message{Channel: t.channel, User: ws.BotUserID, BotID: ws.BotID, Text: msg.Text, Raw: payload, Via: "command_response"}
	m.TS = s.world.nextTS()
	if msg.ResponseType == "in_channel" {
		s.world.appendHistory(m)
		return
	}
	m.Via += ":" + t.user
	r := s.world.ephemeral[t.channel]
	if r == nil {
		r = &msgRing{size: s.world.historySize}
		s.world.ephemeral[t.channel] = r
	}
	r.add(m)
}

func (s *Server) viewResponse(t respTarget, payload json.RawMessage) {
	var ans struct {
		ResponseAction string         `json:"response_action"`
		View           map[string]any `json:"view"`
	}
	if t.viewID == "" || json.Unmarshal(payload, &ans) != nil {
		return
	}
	who := s.identify(tokenInfo{kind: tokenBot, team: t.team, app: t.app})
	st := s.views
	st.mu.Lock()
	defer st.mu.Unlock()
	v := st.views[t.viewID]
	if v == nil {
		return
	}
	key := v.Team + "\x00" + v.User
	switch ans.ResponseAction {
	case "update":
		if ans.View != nil {
			s.renderView(v, ans.View, who)
		}
	case "push":
		stack := st.stacks[v.RootID]
		if ans.View == nil || len(stack) >= maxViewStack {
			return
		}
		id := s.sm.ids.viewID()
		nv := &View{ID: id, Team: v.Team, App: v.App, User: v.User, Type: "modal", RootID: v.RootID, PreviousID: stack[len(stack)-1]}
		s.renderView(nv, ans.View, who)
		st.views[id] = nv
		st.stacks[v.RootID] = append(stack, id)
	case "clear":
		delete(st.stacks, v.RootID)
		if st.current[key] == v.RootID {
			delete(st.current, key)
		}
	}
}
