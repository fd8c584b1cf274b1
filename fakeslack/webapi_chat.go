package fakeslack

import (
	"slices"
)

// This file holds the message methods an app-layer bot calls besides chat.postMessage:
// chat.update, chat.delete, chat.postEphemeral and reactions.add, with the errors of their
// documentation pages (channel_not_found, not_in_channel, message_not_found, cant_update_message,
// cant_delete_message, user_not_in_channel, already_reacted, invalid_name, no_text, msg_too_long).

func (s *Server) routeChatMethods() {
	s.handle("chat.update", methodSpec{handler: s.chatUpdate, kinds: workspaceKinds, scope: "chat:write", json: true})
	s.handle("chat.delete", methodSpec{handler: s.chatDelete, kinds: workspaceKinds, scope: "chat:write", json: true})
	s.handle("chat.postEphemeral", methodSpec{handler: s.chatPostEphemeral, kinds: workspaceKinds, scope: "chat:write", json: true})
	s.handle("reactions.add", methodSpec{handler: s.reactionsAdd, kinds: workspaceKinds, scope: "reactions:write", json: true})
}

// workspaceKinds are the tokens of a workspace: an app-level token gets not_allowed_token_type.
var workspaceKinds = []tokenKind{tokenBot, tokenClassicBot, tokenUser}

// memberChannel resolves req's channel argument to a channel ID of the token's workspace:
// invalid_arguments without one, channel_not_found if unknown, not_in_channel when the token is a
// bot's and the bot is not a member (SetBotInChannel). Callers must not hold world.mu.
func (s *Server) memberChannel(req *apiRequest) (string, error) {
	arg := req.Arg("channel")
	if arg == "" {
		return "", invalidArguments("missing required field: channel")
	}
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	ch, ok := s.world.channel(req.Tok.team, arg)
	if !ok {
		return "", apiErr("channel_not_found")
	}
	if s.world.outside[ch.ID] && (req.Tok.kind == tokenBot || req.Tok.kind == tokenClassicBot) {
		return "", apiErr("not_in_channel")
	}
	return ch.ID, nil
}

// SetBotInChannel makes the workspace's bot a member of the channel, or not: while it is not,
// the bot's chat.*, reactions.add and conversations.history/replies calls there answer
// not_in_channel and conversations.members leaves it out. Bots are members of every channel at
// first. It reports whether the channel exists.
func (s *Server) SetBotInChannel(channelID string, member bool) bool {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	for _, ws := range s.world.workspaces {
		for _, c := range ws.Channels {
			if c.ID == channelID {
				if member {
					delete(s.world.outside, channelID)
				} else {
					s.world.outside[channelID] = true
				}
				return true
			}
		}
	}
	return false
}

// chatUpdate answers chat.update: the bot's own message gets the new text, and the workspace's RTM
// sockets a message_changed event.
func (s *Server) chatUpdate(req *apiRequest) (map[string]any, error) {
	chID, err := s.memberChannel(req)
	if err != nil {
		return nil, err
	}
	ts := req.Arg("ts")
	if ts == "" {
		return nil, invalidArguments("missing required field: ts")
	}
	text, err := messageText(req)
	if err != nil {
		return nil, err
	}
	who := s.identify(req.Tok)
	s.world.mu.Lock()
	m := s.world.history[chID].find(ts)
	switch {
	case m == nil:
		s.world.mu.Unlock()
		return nil, apiErr("message_not_found")
	case m.User != who.userID || (who.botID != "" && m.BotID != who.botID):
		s.world.mu.Unlock()
		return nil, apiErr("cant_update_message")
	}
	prev := messageObject(*m)
	m.Text, m.Raw, m.Edited = text, requestArgs(req), s.world.nextTS()
	msg := messageObject(*m)
	eventTS := m.Edited
	s.world.mu.Unlock()
	s.rtm.broadcastValue(req.Tok.team, map[string]any{"type": "message", "subtype": "message_changed", "hidden": true,
		"channel": chID, "message": msg, "previous_message": prev, "ts": eventTS, "event_ts": eventTS}, nil)
	return map[string]any{"channel": chID, "ts": ts, "text": text, "message": msg}, nil
}

// chatDelete answers chat.delete: the bot's own message leaves the history (a user token may
// delete any message, as a workspace admin's does), and the RTM sockets get message_deleted.
func (s *Server) chatDelete(req *apiRequest) (map[string]any, error) {
	chID, err := s.memberChannel(req)
	if err != nil {
		return nil, err
	}
	ts := req.Arg("ts")
	if ts == "" {
		return nil, invalidArguments("missing required field: ts")
	}
	who := s.identify(req.Tok)
	s.world.mu.Lock()
	r := s.world.history[chID]
	m := r.find(ts)
	switch {
	case m == nil:
		s.world.mu.Unlock()
		return nil, apiErr("message_not_found")
	case req.Tok.kind != tokenUser && m.User != who.userID:
		s.world.mu.Unlock()
		return nil, apiErr("cant_delete_message")
	}
	prev := messageObject(*m)
	r.remove(ts)
	eventTS := s.world.nextTS()
	s.world.mu.Unlock()
	s.rtm.broadcastValue(req.Tok.team, map[string]any{"type": "message", "subtype": "message_deleted", "hidden": true,
		"channel": chID, "ts": eventTS, "deleted_ts": ts, "event_ts": eventTS, "previous_message": prev}, nil)
	return map[string]any{"channel": chID, "ts": ts}, nil
}

// chatPostEphemeral answers chat.postEphemeral: the message is kept for Ephemeral, out of the
// channel's history.
func (s *Server) chatPostEphemeral(req *apiRequest) (map[string]any, error) {
	chID, err := s.memberChannel(req)
	if err != nil {
		return nil, err
	}
	user := req.Arg("user")
	if user == "" {
		return nil, invalidArguments("missing required field: user")
	}
	text, err := messageText(req)
	if err != nil {
		return nil, err
	}
	who := s.identify(req.Tok)
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	ws := s.world.byTeam[req.Tok.team]
	if !slices.ContainsFunc(ws.Users, func(u User) bool { return u.ID == user }) {
		return nil, apiErr("user_not_in_channel")
	}
	ts := s.world.nextTS()
	r := s.world.ephemeral[chID]
	if r == nil {
		r = &msgRing{size: s.world.historySize}
		s.world.ephemeral[chID] = r
	}
	r.add(Message{Channel: chID, TS: ts, ThreadTS: req.Arg("thread_ts"), User: who.userID, BotID: who.botID, Text: text,
		Raw: requestArgs(req), Via: "chat.postEphemeral:" + user})
	return map[string]any{"message_ts": ts}, nil
}

// Ephemeral returns the ephemeral messages posted to a channel (chat.postEphemeral), oldest
// first; each one's Via is "chat.postEphemeral:" and the user who sees it.
func (s *Server) Ephemeral(channelID string) []Message {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	out := s.world.ephemeral[channelID].list()
	if out == nil {
		out = []Message{}
	}
	return out
}

// reactionsAdd answers reactions.add on a message of the channel's history.
func (s *Server) reactionsAdd(req *apiRequest) (map[string]any, error) {
	chID, err := s.memberChannel(req)
	if err != nil {
		return nil, err
	}
	name, ts := req.Arg("name"), req.Arg("timestamp")
	if ts == "" {
		return nil, invalidArguments("missing required field: timestamp")
	}
	if name == "" {
		return nil, apiErr("invalid_name")
	}
	who := s.identify(req.Tok)
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	m := s.world.history[chID].find(ts)
	if m == nil {
		return nil, apiErr("message_not_found")
	}
	if !addReaction(m, name, who.userID) {
		return nil, apiErr("already_reacted")
	}
	return nil, nil
}

// addReaction adds user's reaction name to m and reports whether it was new; callers hold
// world.mu.
func addReaction(m *Message, name, user string) bool {
	for i := range m.Reactions {
		r := &m.Reactions[i]
		if r.Name == name {
			if slices.Contains(r.Users, user) {
				return false
			}
			r.Users = append(r.Users, user)
			return true
		}
	}
	m.Reactions = append(m.Reactions, Reaction{Name: name, Users: []string{user}})
	return true
}

// messageObject renders a history message as conversations.history and chat.update send it.
func messageObject(m Message) map[string]any {
	obj := map[string]any{"type": "message", "text": m.Text, "ts": m.TS}
	if m.User != "" {
		obj["user"] = m.User
	}
	if m.BotID != "" {
		obj["bot_id"] = m.BotID
	}
	if m.ThreadTS != "" {
		obj["thread_ts"] = m.ThreadTS
	}
	if m.Edited != "" {
		obj["edited"] = map[string]any{"user": m.User, "ts": m.Edited}
	}
	if len(m.Reactions) > 0 {
		rs := make([]map[string]any, 0, len(m.Reactions))
		for _, r := range m.Reactions {
			rs = append(rs, map[string]any{"name": r.Name, "users": slices.Clone(r.Users), "count": len(r.Users)})
		}
		obj["reactions"] = rs
	}
	return obj
}
