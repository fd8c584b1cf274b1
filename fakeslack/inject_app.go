package fakeslack

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// This file holds the injections of the events app-layer bots handle besides messages:
// app_home_opened, reaction_added, and the installation events app_uninstalled and
// tokens_revoked. Each goes through InjectEvent, so it reaches the app over Socket Mode or by HTTP,
// whichever the app uses.

// findMessage returns a copy of the message ts of a channel's history.
func (s *Server) findMessage(channel, ts string) (Message, bool) {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	if m := s.world.history[channel].find(ts); m != nil {
		return *m, true
	}
	return Message{}, false
}

// InjectAppHomeOpened delivers an app_home_opened event: user opened the app's Home tab in team
// (user "" means the workspace's first user). The event carries the view published for the user
// (views.publish), if any.
func (s *Server) InjectAppHomeOpened(app, team, user string) (Injected, error) {
	p, err := s.sm.people(team, "", user)
	if err != nil {
		return Injected{}, err
	}
	ev := map[string]any{"type": "app_home_opened", "user": p.user, "channel": "D" + strings.TrimPrefix(p.user, "U"), "tab": "home"}
	if v, ok := s.HomeView(team, p.user); ok {
		ev["view"] = v.JSON
	}
	return s.injectValue(app, team, ev)
}

// ReactionAdded is a user's reaction to a message (see InjectReactionAdded).
type ReactionAdded struct {
	// Team is the workspace's team ID; required.
	Team string `json:"team"`
	// Channel is the channel's ID or name. Default: the workspace's first channel.
	Channel string `json:"channel,omitempty"`
	// User is who reacted. Default: the workspace's first user.
	User string `json:"user,omitempty"`
	// Reaction is the emoji's name without colons; required.
	Reaction string `json:"reaction"`
	// TS is the message's ts; required. A message of the channel's history gets the reaction.
	TS string `json:"ts"`
}

// InjectReactionAdded delivers a reaction_added event; when TS names a message of the channel's
// history, the reaction is added to it too (conversations.history shows it).
func (s *Server) InjectReactionAdded(app string, r ReactionAdded) (Injected, error) {
	if r.Team == "" || r.Reaction == "" || r.TS == "" {
		return Injected{}, fmt.Errorf("%w: team, reaction and ts are required", ErrInvalidInjection)
	}
	p, err := s.sm.people(r.Team, r.Channel, r.User)
	if err != nil {
		return Injected{}, err
	}
	itemUser := ""
	s.world.mu.Lock()
	if m := s.world.history[p.channel].find(r.TS); m != nil {
		itemUser = m.User
		addReaction(m, r.Reaction, p.user)
	}
	s.world.mu.Unlock()
	ev := map[string]any{"type": "reaction_added", "user": p.user, "reaction": r.Reaction,
		"item": map[string]any{"type": "message", "channel": p.channel, "ts": r.TS}}
	if itemUser != "" {
		ev["item_user"] = itemUser
	}
	return s.injectValue(app, r.Team, ev)
}

func (s *Server) injectValue(app, team string, ev map[string]any) (Injected, error) {
	b, err := json.Marshal(ev)
	if err != nil {
		return Injected{}, fmt.Errorf("fakeslack: encode event: %w", err)
	}
	return s.InjectEvent(app, team, b)
}

// Uninstall uninstalls app from team as a workspace admin would: the app's tokens in team are
// revoked (the tokens it minted, and the workspace's bot_token when the app is the one it
// belongs to), the app gets tokens_revoked and then app_uninstalled, and team leaves App.Teams.
// It returns the two events' injections.
func (s *Server) Uninstall(app, team string) ([]Injected, error) {
	revoked, err := s.RevokeAppTokens(app, team)
	if err != nil {
		return nil, err
	}
	second, err := s.injectValue(app, team, map[string]any{"type": "app_uninstalled"})
	if err != nil {
		return nil, err
	}
	s.world.mu.Lock()
	if a := s.world.byApp[app]; a != nil {
		a.Teams = slices.DeleteFunc(a.Teams, func(t string) bool { return t == team })
	}
	s.world.mu.Unlock()
	return []Injected{revoked, second}, nil
}

// RevokeAppTokens revokes app's tokens in team (as Uninstall does, without uninstalling) and
// delivers tokens_revoked, listing the users whose tokens went: {"oauth":[user IDs],"bot":[bot
// user IDs]}. Their open sockets are dropped.
func (s *Server) RevokeAppTokens(app, team string) (Injected, error) {
	if _, err := s.sm.installed(app, team); err != nil {
		return Injected{}, err
	}
	var toks []string
	oauth, bot := []string{}, []string{}
	s.world.mu.Lock()
	ws := s.world.byTeam[team]
	for tok, t := range s.world.tokens {
		if t.team != team || t.revoked || (t.app != app && !(tok == ws.BotToken && s.defaultAppLocked(team) == app)) {
			continue
		}
		if t.kind != tokenBot && t.kind != tokenUser {
			continue
		}
		t.revoked = true
		toks = append(toks, tok)
		if t.kind == tokenBot {
			if !slices.Contains(bot, ws.BotUserID) {
				bot = append(bot, ws.BotUserID)
			}
		} else if u := cmp.Or(t.user, ws.Users[0].ID); !slices.Contains(oauth, u) {
			oauth = append(oauth, u)
		}
	}
	s.world.mu.Unlock()
	for _, tok := range toks {
		for _, sk := range s.sockets.byToken(tok) {
			sk.drop()
		}
	}
	return s.injectValue(app, team, map[string]any{"type": "tokens_revoked", "tokens": map[string]any{"oauth": oauth, "bot": bot}})
}

// defaultAppLocked is the app a workspace's generated bot_token belongs to: the first app
// installed there (as identify decides); callers hold world.mu.
func (s *Server) defaultAppLocked(team string) string {
	for _, a := range s.world.apps {
		if slices.Contains(a.Teams, team) {
			return a.AppID
		}
	}
	return ""
}
