package fakeslack

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// This file holds the reading methods: conversations.history, conversations.replies,
// conversations.info, conversations.members and users.list. Lists are paginated with the opaque
// cursor conversations.list uses and are [] when empty, never null.

func (s *Server) routeConversationMethods() {
	s.handle("conversations.history", methodSpec{handler: s.conversationsHistory, kinds: workspaceKinds, scope: "channels:history"})
	s.handle("conversations.replies", methodSpec{handler: s.conversationsReplies, kinds: workspaceKinds, scope: "channels:history"})
	s.handle("conversations.info", methodSpec{handler: s.conversationsInfo, kinds: workspaceKinds, scope: "channels:read"})
	s.handle("conversations.members", methodSpec{handler: s.conversationsMembers, kinds: workspaceKinds, scope: "channels:read"})
	s.handle("users.list", methodSpec{handler: s.usersList, kinds: workspaceKinds, scope: "users:read"})
}

// page reads limit (default def, at most 1000; invalid_limit otherwise) and cursor
// (invalid_cursor) and returns the offset and limit.
func page(req *apiRequest, def int) (offset, limit int, err error) {
	limit = def
	if v := req.Arg("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, apiErr("invalid_limit")
		}
		if n > 0 {
			limit = min(n, 1000)
		}
	}
	if c := req.Arg("cursor"); c != "" {
		raw, err := base64.StdEncoding.DecodeString(c)
		n, ok := 0, err == nil
		if ok {
			var rest string
			rest, ok = strings.CutPrefix(string(raw), "offset:")
			n, err = strconv.Atoi(rest)
			ok = ok && err == nil && n >= 0
		}
		if !ok {
			return 0, 0, apiErr("invalid_cursor")
		}
		offset = n
	}
	return offset, limit, nil
}

// cursorAt is the cursor of the page starting at offset, "" when nothing is left.
func cursorAt(offset, total int) string {
	if offset >= total {
		return ""
	}
	return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("offset:%d", offset)))
}

// conversationsHistory answers conversations.history: the channel's messages newest first,
// thread replies left out, between oldest and latest (exclusive unless inclusive).
func (s *Server) conversationsHistory(req *apiRequest) (map[string]any, error) {
	chID, err := s.memberChannel(req)
	if err != nil {
		return nil, err
	}
	offset, limit, err := page(req, 100)
	if err != nil {
		return nil, err
	}
	oldest, latest, inclusive := req.Arg("oldest"), req.Arg("latest"), req.Bool("inclusive")
	s.world.mu.Lock()
	all := s.world.history[chID].list()
	var kept []Message
	for i := len(all) - 1; i >= 0; i-- {
		m := all[i]
		if m.ThreadTS != "" && m.ThreadTS != m.TS {
			continue
		}
		if !tsWithin(m.TS, oldest, latest, inclusive) {
			continue
		}
		kept = append(kept, m)
	}
	out := s.renderMessages(all, kept, offset, limit)
	s.world.mu.Unlock()
	end := min(offset+limit, len(kept))
	body := map[string]any{"messages": out, "has_more": end < len(kept), "pin_count": 0,
		"channel_actions_ts": nil, "channel_actions_count": 0,
		"response_metadata": map[string]any{"next_cursor": cursorAt(end, len(kept))}}
	if latest != "" {
		body["latest"] = latest
	}
	return body, nil
}

// conversationsReplies answers conversations.replies: a thread's parent then its replies, oldest
// first.
func (s *Server) conversationsReplies(req *apiRequest) (map[string]any, error) {
	chID, err := s.memberChannel(req)
	if err != nil {
		return nil, err
	}
	ts := req.Arg("ts")
	if ts == "" {
		return nil, invalidArguments("missing required field: ts")
	}
	offset, limit, err := page(req, 1000)
	if err != nil {
		return nil, err
	}
	s.world.mu.Lock()
	all := s.world.history[chID].list()
	var kept []Message
	for _, m := range all {
		if m.TS == ts || m.ThreadTS == ts {
			kept = append(kept, m)
		}
	}
	if len(kept) == 0 {
		s.world.mu.Unlock()
		return nil, apiErr("thread_not_found")
	}
	out := s.renderMessages(all, kept, offset, limit)
	s.world.mu.Unlock()
	end := min(offset+limit, len(kept))
	return map[string]any{"messages": out, "has_more": end < len(kept),
		"response_metadata": map[string]any{"next_cursor": cursorAt(end, len(kept))}}, nil
}

// renderMessages renders kept[offset:offset+limit], thread parents with reply_count and
// reply_users from all; callers hold world.mu.
func (s *Server) renderMessages(all, kept []Message, offset, limit int) []map[string]any {
	out := []map[string]any{}
	if offset >= len(kept) {
		return out
	}
	for _, m := range kept[offset:min(offset+limit, len(kept))] {
		obj := messageObject(m)
		var replies int
		var users []string
		for _, r := range all {
			if r.ThreadTS == m.TS && r.TS != m.TS {
				replies++
				if !slices.Contains(users, r.User) {
					users = append(users, r.User)
				}
			}
		}
		if replies > 0 {
			obj["thread_ts"], obj["reply_count"], obj["reply_users"] = m.TS, replies, users
		}
		out = append(out, obj)
	}
	return out
}

// tsWithin reports whether ts lies between oldest and latest ("" is unbounded).
func tsWithin(ts, oldest, latest string, inclusive bool) bool {
	t, _ := strconv.ParseFloat(ts, 64)
	if oldest != "" {
		o, _ := strconv.ParseFloat(oldest, 64)
		if t < o || (t == o && !inclusive) {
			return false
		}
	}
	if latest != "" {
		l, _ := strconv.ParseFloat(latest, 64)
		if t > l || (t == l && !inclusive) {
			return false
		}
	}
	return true
}

// conversationsInfo answers conversations.info.
func (s *Server) conversationsInfo(req *apiRequest) (map[string]any, error) {
	arg := req.Arg("channel")
	if arg == "" {
		return nil, invalidArguments("missing required field: channel")
	}
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	ch, ok := s.world.channel(req.Tok.team, arg)
	if !ok {
		return nil, apiErr("channel_not_found")
	}
	obj := channelObject(*ch, s.world.byTeam[req.Tok.team])
	obj["is_member"] = !s.world.outside[ch.ID]
	return map[string]any{"channel": obj}, nil
}

// conversationsMembers answers conversations.members: every user of the workspace, the bot only
// while it is a member.
func (s *Server) conversationsMembers(req *apiRequest) (map[string]any, error) {
	arg := req.Arg("channel")
	if arg == "" {
		return nil, invalidArguments("missing required field: channel")
	}
	offset, limit, err := page(req, 100)
	if err != nil {
		return nil, err
	}
	s.world.mu.Lock()
	ch, ok := s.world.channel(req.Tok.team, arg)
	if !ok {
		s.world.mu.Unlock()
		return nil, apiErr("channel_not_found")
	}
	ws := s.world.byTeam[req.Tok.team]
	ids := []string{}
	for _, u := range ws.Users {
		if u.ID != ws.BotUserID || !s.world.outside[ch.ID] {
			ids = append(ids, u.ID)
		}
	}
	s.world.mu.Unlock()
	end := min(offset+limit, len(ids))
	members := []string{}
	if offset < len(ids) {
		members = ids[offset:end]
	}
	return map[string]any{"members": members, "response_metadata": map[string]any{"next_cursor": cursorAt(end, len(ids))}}, nil
}

// usersList answers users.list.
func (s *Server) usersList(req *apiRequest) (map[string]any, error) {
	offset, limit, err := page(req, 100)
	if err != nil {
		return nil, err
	}
	s.world.mu.Lock()
	ws := s.world.byTeam[req.Tok.team]
	members := []map[string]any{}
	total := 0
	if ws != nil {
		total = len(ws.Users)
		if offset < total {
			for _, u := range ws.Users[offset:min(offset+limit, total)] {
				members = append(members, userObject(u, ws))
			}
		}
	}
	s.world.mu.Unlock()
	end := min(offset+limit, total)
	return map[string]any{"members": members, "cache_ts": fakeEpoch,
		"response_metadata": map[string]any{"next_cursor": cursorAt(end, total)}}, nil
}
