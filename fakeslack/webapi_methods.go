package fakeslack

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// This file holds the Web API methods: auth.test, chat.postMessage, conversations.list, users.info,
// and rtm.connect and rtm.start (registered by newRTMServer, which owns their socket URLs). The core (webapi.go) has already checked the
// token, its kind, its scope and the rate limit when a handler here runs.

// maxPostTextChars is chat.postMessage's limit on text; longer text answers msg_too_long.
const maxPostTextChars = 40000

// routeWebAPIMethods registers the general Web API methods.
func (s *Server) routeWebAPIMethods() {
	s.handle("auth.test", methodSpec{handler: s.authTest, json: true})
	s.handle("chat.postMessage", methodSpec{handler: s.chatPostMessage, scope: "chat:write", json: true})
	s.handle("conversations.list", methodSpec{handler: s.conversationsList, scope: "channels:read"})
	s.handle("users.info", methodSpec{handler: s.usersInfo, scope: "users:read"})
	s.routeChatMethods()
	s.routeConversationMethods()
	s.routeViewMethods()
	s.routeOAuth()
}

// identity is who a token speaks for in its workspace.
type identity struct {
	ws     *Workspace // nil for app-level tokens
	userID string
	name   string
	botID  string // bot tokens only
	appID  string // bot and app-level tokens
}

// identify resolves req's token to its workspace, user and bot. Callers must not hold world.mu.
func (s *Server) identify(tok tokenInfo) identity {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	if tok.kind == tokenApp {
		return identity{appID: tok.app}
	}
	ws := s.world.byTeam[tok.team]
	if ws == nil {
		return identity{}
	}
	id := identity{ws: ws}
	switch tok.kind {
	case tokenClassicBot, tokenBot:
		id.userID, id.name, id.botID = ws.BotUserID, "switchbot", ws.BotID
		id.appID = "A" + strings.TrimPrefix(ws.BotID, "B") // the classic app owning the bot
		if tok.app != "" {                                 // minted by oauth.v2.access for this app
			id.appID = tok.app
		} else if tok.kind == tokenBot {
			for _, a := range s.world.apps { // a granular bot belongs to an installed Socket Mode app
				if slices.Contains(a.Teams, ws.TeamID) {
					id.appID = a.AppID
					break
				}
			}
		}
	case tokenUser:
		if len(ws.Users) > 0 {
			id.userID, id.name = ws.Users[0].ID, ws.Users[0].Name
		}
		for _, u := range ws.Users {
			if tok.user != "" && u.ID == tok.user {
				id.userID, id.name = u.ID, u.Name
			}
		}
		id.appID = tok.app
	}
	return id
}

// authTest answers auth.test for every token kind (§7.2).
func (s *Server) authTest(req *apiRequest) (map[string]any, error) {
	who := s.identify(req.Tok)
	answer := slack.AuthTestResponse{URL: "https://slack.com/"} // an app-level token: no workspace
	sh := authTestShape
	if who.ws != nil {
		answer = slack.AuthTestResponse{
			URL: "https://" + who.ws.Domain + ".slack.com/", Team: who.ws.Name, User: who.name,
			TeamID: who.ws.TeamID, UserID: who.userID, BotID: who.botID,
		}
	}
	if who.botID != "" {
		sh = sh.with(keys("bot_id")) // slack.AuthTestResponse marshals bot_id "" for other tokens
	}
	body, err := project(answer, sh)
	if err != nil {
		return nil, fmt.Errorf("fakeslack: encode auth.test: %w", err)
	}
	body["is_enterprise_install"] = false // not in slack.AuthTestResponse, nor app_id and app_name
	if who.ws == nil {
		s.world.mu.Lock()
		name := ""
		if a := s.world.byApp[who.appID]; a != nil {
			name = a.Name
		}
		s.world.mu.Unlock()
		body["app_id"], body["app_name"] = who.appID, name
	}
	return body, nil
}

// authTestShape is auth.test's answer (SLACK_PROTOCOL.md §7.2), less bot_id.
var authTestShape = keys("url", "team", "user", "team_id", "user_id")

// messageText returns a posted message's text, refused as Slack does: no_text without text,
// blocks or attachments, msg_too_long over maxPostTextChars characters.
func messageText(req *apiRequest) (string, error) {
	text := req.Arg("text")
	if text == "" && !nonEmptyJSON(req.RawArg("blocks")) && !nonEmptyJSON(req.RawArg("attachments")) {
		return "", apiErr("no_text")
	}
	if utf8.RuneCountInString(text) > maxPostTextChars {
		return "", apiErr("msg_too_long")
	}
	return text, nil
}

// chatPostMessage answers chat.postMessage (§7.1): it appends the message to the channel's history
// and sends it as a message event to the workspace's RTM sockets.
func (s *Server) chatPostMessage(req *apiRequest) (map[string]any, error) {
	chArg := req.Arg("channel")
	if chArg == "" {
		return nil, invalidArguments("missing required field: channel")
	}
	text, err := messageText(req)
	if err != nil {
		return nil, err
	}
	who := s.identify(req.Tok)
	s.world.mu.Lock()
	ch, ok := s.world.channel(req.Tok.team, chArg)
	var chID string
	var archived bool
	if ok {
		chID, archived = ch.ID, ch.Archived
	}
	threadTS := req.Arg("thread_ts")
	parentUser := ""
	if ok && threadTS != "" {
		if m := s.world.history[chID].find(threadTS); m != nil {
			parentUser = m.User
		}
	}
	s.world.mu.Unlock()
	switch {
	case !ok:
		return nil, apiErr("channel_not_found")
	case archived:
		return nil, apiErr("is_archived")
	}
	m := s.world.post(Message{
		Channel: chID, ThreadTS: threadTS, User: who.userID, BotID: who.botID, Text: text,
		Raw: requestArgs(req), Via: "chat.postMessage",
	})
	sm := slack.Msg{Type: slack.TYPE_MESSAGE, User: who.userID, Timestamp: m.TS, Team: req.Tok.team, ThreadTimestamp: threadTS}
	if who.botID != "" {
		sm.BotID = who.botID
		sm.BotProfile = &slack.BotProfile{ID: who.botID, AppID: who.appID, Name: who.name, TeamID: req.Tok.team}
	}
	if threadTS != "" {
		sm.ParentUserId = parentUser
	}
	msg, err := project(sm, postedMessageShape)
	if err != nil {
		return nil, fmt.Errorf("fakeslack: encode message: %w", err)
	}
	// What slack.Msg cannot say: an empty text (omitted), the app_id it has no field for, a bot
	// profile's deleted false (omitted), and blocks and attachments as posted (slack.Blocks and
	// slack.Attachment would drop what they do not model).
	msg["text"] = text
	if who.botID != "" {
		msg["app_id"] = who.appID
		msg["bot_profile"].(map[string]any)["deleted"] = false
	}
	if blocks := req.RawArg("blocks"); nonEmptyJSON(blocks) {
		msg["blocks"] = blocks
	}
	if atts := req.RawArg("attachments"); nonEmptyJSON(atts) {
		msg["attachments"] = atts
	}
	event := make(map[string]any, len(msg)+2)
	for k, v := range msg {
		event[k] = v
	}
	event["channel"], event["event_ts"] = chID, m.TS
	s.rtm.broadcastValue(req.Tok.team, event, nil)
	return map[string]any{"channel": chID, "ts": m.TS, "message": msg}, nil
}

// postedMessageShape is the message chat.postMessage answers and sends as an event: the keys of
// slack.Msg in Slack's example answer (SLACK_PROTOCOL.md §7.1).
var postedMessageShape = keys("type", "user", "ts", "team", "bot_id", "thread_ts", "parent_user_id").
	with(shape{"bot_profile": keys("id", "app_id", "name", "team_id")})

// nonEmptyJSON reports whether raw holds something other than nothing, null, "", [] or {}.
func nonEmptyJSON(raw []byte) bool {
	switch strings.TrimSpace(string(raw)) {
	case "", "null", `""`, "[]", "{}":
		return false
	}
	return true
}

// conversationsList answers conversations.list with cursor pagination. The cursor is the
// base64 of "offset:N", opaque to clients as Slack's are.
func (s *Server) conversationsList(req *apiRequest) (map[string]any, error) {
	limit := 100
	if v := req.Arg("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, apiErr("invalid_limit")
		}
		if n > 0 {
			limit = min(n, 1000)
		}
	}
	offset := 0
	if c := req.Arg("cursor"); c != "" {
		raw, err := base64.StdEncoding.DecodeString(c)
		rest, ok := strings.CutPrefix(string(raw), "offset:")
		n, aerr := strconv.Atoi(rest)
		if err != nil || !ok || aerr != nil || n < 0 {
			return nil, apiErr("invalid_cursor")
		}
		offset = n
	}
	publicWanted := true
	if types := req.Arg("types"); types != "" {
		publicWanted = slices.Contains(strings.Split(types, ","), "public_channel")
	}
	excludeArchived := req.Bool("exclude_archived")

	s.world.mu.Lock()
	ws := s.world.byTeam[req.Tok.team]
	var all []Channel
	if ws != nil && publicWanted {
		for _, c := range ws.Channels {
			if !excludeArchived || !c.Archived {
				all = append(all, c)
			}
		}
	}
	s.world.mu.Unlock()

	out := []map[string]any{}
	next := ""
	if offset < len(all) {
		end := min(offset+limit, len(all))
		for _, c := range all[offset:end] {
			out = append(out, channelObject(c, ws))
		}
		if end < len(all) {
			next = base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("offset:%d", end)))
		}
	}
	return map[string]any{"channels": out, "response_metadata": map[string]any{"next_cursor": next}}, nil
}

// channelShape is a public channel as conversations.list and rtm.start send it: the keys of
// slack.Channel that captured conversations.list and conversations.info answers carry (not
// is_open, is_read_only, priority, user, members, locale, properties, …, which belong to other
// kinds of conversation or to options).
var channelShape = keys("id", "name", "name_normalized", "is_channel", "is_group", "is_im", "is_mpim", "is_private",
	"is_archived", "is_general", "is_member", "is_shared", "is_ext_shared", "is_org_shared", "is_pending_ext_shared",
	"unlinked", "created", "creator", "context_team_id", "shared_team_ids", "num_members", "topic", "purpose")

// channelObject renders a channel as Slack's conversation object, built as a slack.Channel. ws may
// be nil.
func channelObject(c Channel, ws *Workspace) map[string]any {
	var ch slack.Channel
	ch.ID, ch.Name, ch.NameNormalized, ch.IsArchived = c.ID, c.Name, c.Name, c.Archived
	ch.IsChannel, ch.IsGeneral, ch.IsMember = true, c.Name == "general", true
	ch.Created = slack.JSONTime(fakeEpoch)
	if ws != nil {
		ch.ContextTeamID, ch.SharedTeamIDs, ch.NumMembers = ws.TeamID, []string{ws.TeamID}, len(ws.Users)
		if len(ws.Users) > 0 {
			ch.Creator = ws.Users[0].ID
		}
	}
	obj, err := project(ch, channelShape)
	if err != nil {
		panic(fmt.Errorf("fakeslack: encode channel: %w", err)) // a slack.Channel always encodes
	}
	// Keys slack.Channel does not have (updated, in milliseconds, and parent_conversation) or
	// omits when empty, where Slack sends [].
	obj["updated"] = fakeEpoch * 1000
	obj["parent_conversation"] = nil
	obj["pending_shared"], obj["pending_connected_team_ids"], obj["previous_names"] = []string{}, []string{}, []string{}
	if ws == nil {
		obj["shared_team_ids"] = []string{}
	}
	return obj
}

// fakeEpoch is the creation time of everything generated, in Unix seconds.
const fakeEpoch = 1700000000

// usersInfo answers users.info.
func (s *Server) usersInfo(req *apiRequest) (map[string]any, error) {
	uid := req.Arg("user")
	if uid == "" {
		return nil, invalidArguments("missing required field: user")
	}
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	ws := s.world.byTeam[req.Tok.team]
	if ws != nil {
		for _, u := range ws.Users {
			if u.ID == uid {
				return map[string]any{"user": userObject(u, ws)}, nil
			}
		}
	}
	return nil, apiErr("user_not_found")
}

// userShape is a user as users.info and rtm.start send it: the keys of slack.User in Slack's
// documented users.info example (not presence, locale, enterprise_user, is_stranger, …, which
// need options, scopes or an Enterprise Grid).
var userShape = keys("id", "team_id", "name", "deleted", "color", "real_name", "tz", "tz_label", "tz_offset",
	"is_admin", "is_owner", "is_primary_owner", "is_restricted", "is_ultra_restricted", "is_bot", "is_app_user", "updated").
	with(shape{"profile": keys("avatar_hash", "real_name", "real_name_normalized", "display_name", "display_name_normalized",
		"image_24", "image_32", "image_48", "image_72", "image_192", "image_512", "team", "bot_id")})

// userObject renders a user as Slack's user object, built as a slack.User.
func userObject(u User, ws *Workspace) map[string]any {
	avatar := "g" + strings.ToLower(u.ID)
	su := slack.User{
		ID: u.ID, TeamID: ws.TeamID, Name: u.Name, RealName: u.RealName, IsBot: u.IsBot, Color: "9f69e7",
		TZ: "Europe/London", TZLabel: "Greenwich Mean Time", Updated: slack.JSONTime(fakeEpoch),
		Profile: slack.UserProfile{
			AvatarHash: avatar, RealName: u.RealName, RealNameNormalized: u.RealName,
			DisplayName: u.Name, DisplayNameNormalized: u.Name, Team: ws.TeamID,
		},
	}
	if u.IsBot && u.ID == ws.BotUserID {
		su.Profile.BotID = ws.BotID
	}
	img := func(px int) string { return fmt.Sprintf("https://avatars.slack-edge.com/%s_%d.png", avatar, px) }
	p := &su.Profile
	p.Image24, p.Image32, p.Image48, p.Image72, p.Image192, p.Image512 = img(24), img(32), img(48), img(72), img(192), img(512)
	obj, err := project(su, userShape)
	if err != nil {
		panic(fmt.Errorf("fakeslack: encode user: %w", err)) // a slack.User always encodes
	}
	return obj
}

// SetChannelArchived archives (or unarchives) the channel with the given ID in whichever workspace
// has it: chat.postMessage and RTM messages to an archived channel fail with is_archived. It
// reports whether the channel exists.
func (s *Server) SetChannelArchived(channelID string, archived bool) bool {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	for _, ws := range s.world.workspaces {
		for i := range ws.Channels {
			if ws.Channels[i].ID == channelID {
				ws.Channels[i].Archived = archived
				return true
			}
		}
	}
	return false
}

// connect answers rtm.connect (§2.1).
func (r *rtmServer) connect(req *apiRequest) (map[string]any, error) {
	who := r.s.identify(req.Tok)
	if who.ws == nil {
		return nil, apiErr("invalid_auth")
	}
	return project(slack.Info{
		URL:  r.issue(req.Token, req.Tok, req.Bool("batch_presence_aware")),
		Team: &slack.Team{ID: who.ws.TeamID, Name: who.ws.Name, Domain: who.ws.Domain},
		User: &slack.UserDetails{ID: who.userID, Name: who.name},
	}, rtmConnectShape)
}

// rtmConnectShape is rtm.connect's answer (SLACK_PROTOCOL.md §2.1): slack.Info with the self that
// rtm.connect sends, less created, manual_presence and prefs (rtm.start adds them).
var rtmConnectShape = shape{"url": nil, "team": keys("id", "name", "domain"), "self": keys("id", "name")}

// start answers rtm.start (§2.3): rtm.connect's answer, the deprecation warning, and the initial
// state Slack's older answer carried.
func (r *rtmServer) start(req *apiRequest) (map[string]any, error) {
	body, err := r.connect(req)
	if err != nil {
		return nil, err
	}
	who := r.s.identify(req.Tok)
	ws := who.ws
	self := body["self"].(map[string]any)
	self["prefs"], self["created"], self["manual_presence"] = map[string]any{}, 1700000000, "active"
	team := body["team"].(map[string]any)
	team["email_domain"], team["msg_edit_window_mins"], team["prefs"] = "", -1, map[string]any{}

	r.s.world.mu.Lock()
	users := make([]map[string]any, 0, len(ws.Users))
	for _, u := range ws.Users {
		users = append(users, userObject(u, ws))
	}
	channels := make([]map[string]any, 0, len(ws.Channels))
	for _, c := range ws.Channels {
		channels = append(channels, channelObject(c, ws))
	}
	latest := r.s.world.nextTS()
	r.s.world.mu.Unlock()

	body["users"], body["channels"] = users, channels
	body["groups"], body["ims"], body["mpims"] = []any{}, []any{}, []any{}
	bot, err := project(slack.Bot{ID: ws.BotID, Name: "switchbot", AppID: "A" + strings.TrimPrefix(ws.BotID, "B")}, keys("id", "name", "deleted", "app_id"))
	if err != nil {
		return nil, fmt.Errorf("fakeslack: encode bot: %w", err)
	}
	body["bots"] = []map[string]any{bot}
	body["latest_event_ts"] = latest
	body["cache_version"] = "v1-fakeslack"
	body["warning"] = "method_deprecated"
	body["response_metadata"] = map[string]any{"warnings": []string{"method_deprecated"}}
	return body, nil
}
