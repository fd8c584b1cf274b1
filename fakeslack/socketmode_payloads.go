package fakeslack

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/slack-go/slack"
)

// This file holds slash command and interaction injection. Their payloads are slack-go values
// (slack.SlashCommand, slack.InteractionCallback with its slack.View, slack.Team, slack.User,
// slack.Channel, slack.Message, slack.BlockAction) rendered to the keys Slack sends
// (slackshape.go), following the examples of SLACK_PROTOCOL.md §4.6.

// SlashCommand is a slash command a user runs (see InjectSlashCommand): what to inject, with names
// resolved and defaults filled in, not the payload, which is a slack.SlashCommand.
type SlashCommand struct {
	// Team is the workspace's team ID; required.
	Team string `json:"team"`
	// Channel is the channel's ID or name. Default: the workspace's first channel.
	Channel string `json:"channel,omitempty"`
	// User is the user's ID. Default: the workspace's first user.
	User string `json:"user,omitempty"`
	// Command is the command with its slash, e.g. "/deploy"; required.
	Command string `json:"command"`
	// Text is what follows the command.
	Text string `json:"text,omitempty"`
}

// Interaction is a user's interaction with an app (see InjectInteraction): what to inject, not the
// payload, which is a slack.InteractionCallback. Fields a type does not use are ignored.
type Interaction struct {
	// Type is block_actions (the default), view_submission, view_closed, shortcut (global),
	// message_action (a message shortcut) or block_suggestion.
	Type string `json:"type,omitempty"`
	// Team is the workspace's team ID; required.
	Team string `json:"team"`
	// Channel is the channel's ID or name (block_actions, message_action). Default: the first one.
	Channel string `json:"channel,omitempty"`
	// User is the user's ID. Default: the workspace's first user.
	User string `json:"user,omitempty"`
	// ActionID, BlockID and Value describe the element acted on (block_actions, block_suggestion);
	// Value is the typed text for block_suggestion. Defaults "action", "block", "value".
	ActionID string `json:"action_id,omitempty"`
	BlockID  string `json:"block_id,omitempty"`
	Value    string `json:"value,omitempty"`
	// CallbackID names the view or shortcut (view_submission, shortcut, message_action,
	// block_suggestion). Default "callback".
	CallbackID string `json:"callback_id,omitempty"`
	// MessageTS is the ts of the message acted on (block_actions, message_action). Default: a new ts.
	MessageTS string `json:"message_ts,omitempty"`
	// Values is view.state.values of a view_submission. Default {}.
	Values json.RawMessage `json:"values,omitempty"`
	// PrivateMetadata is the view's private_metadata (view_submission, view_closed).
	PrivateMetadata string `json:"private_metadata,omitempty"`
	// ViewID names a view an app opened (views.open, views.push, views.update): a
	// view_submission or view_closed then carries that view (its ID, callback_id,
	// private_metadata, blocks, hash) with Values as its state. Default: a generated view.
	ViewID string `json:"view_id,omitempty"`
	// IsCleared is view_closed's is_cleared: the whole stack was closed.
	IsCleared bool `json:"is_cleared,omitempty"`
}

// smPeople is what payloads say about a team, channel and user.
type smPeople struct {
	team, domain, channel, channelName, user, userName, botID, botUser string
}

// people resolves team, channel and user for a payload, with the documented defaults.
func (m *socketModeServer) people(team, channel, user string) (smPeople, error) {
	w := m.s.world
	w.mu.Lock()
	defer w.mu.Unlock()
	ws := w.byTeam[team]
	if ws == nil {
		return smPeople{}, fmt.Errorf("%w: %q", ErrNoWorkspace, team)
	}
	p := smPeople{team: team, domain: ws.Domain, botID: ws.BotID, botUser: ws.BotUserID}
	if channel == "" && len(ws.Channels) > 0 {
		channel = ws.Channels[0].ID
	}
	if ch, ok := w.channel(team, channel); ok {
		p.channel, p.channelName = ch.ID, ch.Name
	} else {
		return smPeople{}, fmt.Errorf("%w: %q", ErrNoChannel, channel)
	}
	if user == "" && len(ws.Users) > 0 {
		user = ws.Users[0].ID
	}
	p.user, p.userName = user, user
	for _, u := range ws.Users {
		if u.ID == user {
			p.userName = u.Name
		}
	}
	return p, nil
}

// hasSocket reports whether app has a socket able to take a delivery.
func (m *socketModeServer) hasSocket(a *smApp) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range a.conns {
		if c.ready && !c.sk.isClosed() {
			return true
		}
	}
	return false
}

// slashCommandShape is a slash_commands payload: every key slack.SlashCommand marshals but the
// enterprise ones it leaves out when empty.
var slashCommandShape = keys("token", "team_id", "team_domain", "channel_id", "channel_name", "user_id", "user_name",
	"command", "text", "api_app_id", "is_enterprise_install", "response_url", "trigger_id")

// InjectSlashCommand delivers a slash_commands envelope to app. Its payload carries a response_url
// served by this server (kind "commands"); the ack's payload, if any, is the command's response
// (see AckPayload). It fails with ErrNoSocket when a Socket Mode app has no open socket: Slack
// shows the user an error rather than queueing a command. An app with a RequestURL gets it by HTTP
// instead, as form fields. A missed ack is never redelivered.
func (s *Server) InjectSlashCommand(app string, cmd SlashCommand) (Injected, error) {
	m := s.sm
	if cmd.Team == "" || !strings.HasPrefix(cmd.Command, "/") {
		return Injected{}, fmt.Errorf("%w: team and a command starting with / are required", ErrInvalidInjection)
	}
	a, err := m.installed(app, cmd.Team)
	if err != nil {
		return Injected{}, err
	}
	p, err := m.people(cmd.Team, cmd.Channel, cmd.User)
	if err != nil {
		return Injected{}, err
	}
	reqURL, secret := s.requestURL(app)
	if reqURL == "" && !m.hasSocket(a) {
		return Injected{}, ErrNoSocket
	}
	inj := Injected{ResponseURL: s.hooks.newResponseURL("commands", p.team, p.channel), TriggerID: s.IssueTrigger(app, p.team, p.user)}
	v, err := project(slack.SlashCommand{
		Token: m.verification, TeamID: p.team, TeamDomain: p.domain, ChannelID: p.channel, ChannelName: p.channelName,
		UserID: p.user, UserName: p.userName, Command: cmd.Command, Text: cmd.Text, APIAppID: app,
		ResponseURL: inj.ResponseURL, TriggerID: inj.TriggerID,
	}, slashCommandShape)
	if err != nil {
		return Injected{}, fmt.Errorf("fakeslack: encode slash command: %w", err)
	}
	// Slack sends the form's string here, "false", where slack.SlashCommand marshals a bool
	// (captured in slack-go#1265; slack-go reads both).
	v["is_enterprise_install"] = "false"
	answer := respTarget{kind: typeSlashCommands, team: p.team, channel: p.channel, user: p.user, app: app}
	if reqURL != "" {
		form := url.Values{}
		for k, x := range v {
			form.Set(k, fmt.Sprint(x))
		}
		inj.EnvelopeID = s.deliverHTTP(typeSlashCommands, app, cmd.Team, reqURL, secret, "application/x-www-form-urlencoded", []byte(form.Encode()), &answer)
		return inj, nil
	}
	payload, err := json.Marshal(v)
	if err != nil {
		return Injected{}, fmt.Errorf("fakeslack: encode slash command: %w", err)
	}
	env := m.newEnvelope(typeSlashCommands, a, cmd.Team, payload, true)
	inj.EnvelopeID = env.id
	s.responses.expect(env.id, answer)
	m.deliver(env)
	return inj, nil
}

// The shapes of the interaction payloads, from the examples of SLACK_PROTOCOL.md §4.6 (those of
// an Enterprise Grid install less its enterprise keys).
var (
	interactionTeam = keys("id", "domain")
	interactionBase = shape{"type": nil, "token": nil, "team": interactionTeam, "is_enterprise_install": nil, "enterprise": nil}

	interactionShapes = map[slack.InteractionType]shape{
		slack.InteractionTypeBlockActions: interactionBase.with(shape{
			"user":       keys("id", "username", "name", "team_id"),
			"container":  keys("type", "message_ts", "channel_id", "is_ephemeral"),
			"channel":    keys("id", "name"),
			"message":    keys("bot_id", "type", "text", "user", "ts", "team", "blocks"),
			"actions":    keys("action_id", "block_id", "value", "type", "action_ts", "text"),
			"api_app_id": nil, "trigger_id": nil, "state": nil, "response_url": nil,
		}),
		slack.InteractionTypeViewSubmission: interactionBase.with(shape{
			"user": keys("id", "username", "name", "team_id"),
			"view": keys("id", "team_id", "type", "blocks", "private_metadata", "callback_id", "state", "hash", "title",
				"clear_on_close", "notify_on_close", "close", "submit", "previous_view_id", "root_view_id", "app_id",
				"external_id", "app_installed_team_id", "bot_id"),
			"api_app_id": nil, "trigger_id": nil,
		}),
		slack.InteractionTypeViewClosed: interactionBase.with(shape{
			"user": keys("id", "username", "name", "team_id"),
			"view": keys("id", "team_id", "type", "blocks", "private_metadata", "callback_id", "state", "hash", "title",
				"clear_on_close", "notify_on_close", "close", "submit", "previous_view_id", "root_view_id", "app_id",
				"external_id", "app_installed_team_id", "bot_id"),
			"api_app_id": nil,
		}),
		slack.InteractionTypeShortcut: interactionBase.with(shape{
			"user":      keys("id", "username", "team_id"),
			"action_ts": nil, "callback_id": nil, "trigger_id": nil,
		}),
		slack.InteractionTypeMessageAction: interactionBase.with(shape{
			"user":      keys("id", "name"),
			"channel":   keys("id", "name"),
			"message":   keys("type", "text", "user", "ts", "team"),
			"action_ts": nil, "callback_id": nil, "trigger_id": nil, "message_ts": nil, "response_url": nil,
		}),
		slack.InteractionTypeBlockSuggestion: {
			"type": nil, "token": nil, "team": interactionTeam, "user": keys("id", "name"), "api_app_id": nil,
			"block_id": nil, "action_id": nil, "value": nil, "view": keys("id", "type", "callback_id"),
		},
	}
)

// InjectInteraction delivers an interactive envelope to app: block_actions (with a response_url of
// kind "actions"), view_submission, view_closed, shortcut (global), message_action (a message
// shortcut, with a response_url of kind "app"; on a message of the channel's history when
// MessageTS names one) or block_suggestion. accepts_response_payload is true for view_submission
// and block_suggestion. Its trigger_id opens a view (views.open) within Options.TriggerLifetime.
// It fails with ErrNoSocket when a Socket Mode app has no open socket; an app with a RequestURL
// gets it by HTTP instead. A missed ack is never redelivered.
func (s *Server) InjectInteraction(app string, in Interaction) (Injected, error) {
	m := s.sm
	if in.Team == "" {
		return Injected{}, fmt.Errorf("%w: team is required", ErrInvalidInjection)
	}
	typ := slack.InteractionType(cmp.Or(in.Type, string(slack.InteractionTypeBlockActions)))
	sh, ok := interactionShapes[typ]
	if !ok {
		return Injected{}, fmt.Errorf("%w: unknown interaction type %q", ErrInvalidInjection, in.Type)
	}
	a, err := m.installed(app, in.Team)
	if err != nil {
		return Injected{}, err
	}
	p, err := m.people(in.Team, in.Channel, in.User)
	if err != nil {
		return Injected{}, err
	}
	in.ActionID = cmp.Or(in.ActionID, "action")
	in.BlockID = cmp.Or(in.BlockID, "block")
	in.Value = cmp.Or(in.Value, "value")
	in.CallbackID = cmp.Or(in.CallbackID, "callback")
	if len(in.Values) == 0 {
		in.Values = json.RawMessage(`{}`)
	}
	if in.MessageTS == "" {
		in.MessageTS = m.newTS()
	}
	inj := Injected{TriggerID: s.IssueTrigger(app, p.team, p.user)}
	switch typ {
	case slack.InteractionTypeBlockActions:
		inj.ResponseURL = s.hooks.newResponseURL("actions", p.team, p.channel)
	case slack.InteractionTypeMessageAction:
		inj.ResponseURL = s.hooks.newResponseURL("app", p.team, p.channel)
	}
	ic := m.interaction(typ, app, p, in, inj)
	v, err := project(&ic, sh)
	if err != nil {
		return Injected{}, fmt.Errorf("fakeslack: encode interaction: %w", err)
	}
	accepts := false
	switch typ {
	case slack.InteractionTypeBlockSuggestion:
		accepts = true
	case slack.InteractionTypeViewSubmission, slack.InteractionTypeViewClosed:
		accepts = typ == slack.InteractionTypeViewSubmission
		// Slack sends what slack.View cannot say: null for no previous view, the submitted values
		// as given (slack.ViewState would add every zero field of slack.BlockAction to each), and
		// an empty response_urls (omitted by slack-go when empty).
		view := v["view"].(map[string]any)
		view["previous_view_id"] = nil
		if in.ViewID != "" {
			opened, ok := s.View(in.ViewID)
			if !ok {
				return Injected{}, fmt.Errorf("%w: no view %q", ErrInvalidInjection, in.ViewID)
			}
			view = map[string]any{}
			_ = json.Unmarshal(opened.JSON, &view)
			v["view"] = view
		}
		view["state"] = map[string]any{"values": in.Values}
		if accepts {
			v["response_urls"] = []any{}
		} else {
			v["is_cleared"] = in.IsCleared
		}
	}
	if _, ok := sh["enterprise"]; ok {
		v["enterprise"] = nil // not an Enterprise Grid install: null, where slack.Enterprise is a struct
	}
	payload, err := json.Marshal(v)
	if err != nil {
		return Injected{}, fmt.Errorf("fakeslack: encode interaction: %w", err)
	}
	var answer *respTarget
	if typ == slack.InteractionTypeViewSubmission {
		answer = &respTarget{kind: typeInteractive, team: p.team, channel: p.channel, user: p.user, app: app, viewID: in.ViewID}
	}
	if reqURL, secret := s.requestURL(app); reqURL != "" {
		body := "payload=" + url.QueryEscape(string(payload))
		inj.EnvelopeID = s.deliverHTTP(typeInteractive, app, in.Team, reqURL, secret, "application/x-www-form-urlencoded", []byte(body), answer)
		return inj, nil
	}
	if !m.hasSocket(a) {
		return Injected{}, ErrNoSocket
	}
	env := m.newEnvelope(typeInteractive, a, in.Team, payload, accepts)
	inj.EnvelopeID = env.id
	if answer != nil {
		s.responses.expect(env.id, *answer)
	}
	m.deliver(env)
	return inj, nil
}

// interaction builds the payload of an interaction of type typ; InjectInteraction cuts it down
// to the keys Slack sends for that type.
func (m *socketModeServer) interaction(typ slack.InteractionType, app string, p smPeople, in Interaction, inj Injected) slack.InteractionCallback {
	actionTS := m.newTS()
	ic := slack.InteractionCallback{
		Type: typ, Token: m.verification, TriggerID: inj.TriggerID, ResponseURL: inj.ResponseURL, APIAppID: app,
		ActionTs: actionTS, CallbackID: in.CallbackID, MessageTs: in.MessageTS,
		Team: slack.Team{ID: p.team, Domain: p.domain},
		User: slack.User{ID: p.user, Name: p.userName, Username: p.userName, TeamID: p.team},
	}
	ic.Channel.ID, ic.Channel.Name = p.channel, p.channelName
	switch typ {
	case slack.InteractionTypeBlockActions:
		text := &slack.TextBlockObject{Type: slack.PlainTextType, Text: "Click Me!", Emoji: new(true)}
		button := slack.NewButtonBlockElement(in.ActionID, in.Value, text)
		ic.Container = slack.Container{Type: "message", MessageTs: in.MessageTS, ChannelID: p.channel}
		ic.BlockActionState = &slack.BlockActionStates{Values: map[string]map[string]slack.BlockAction{}}
		ic.Message = slack.Message{Msg: slack.Msg{
			BotID: p.botID, Type: slack.TYPE_MESSAGE, Text: "This content can't be displayed.", User: p.botUser,
			Timestamp: in.MessageTS, Team: p.team, Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewActionBlock(in.BlockID, button)}},
		}}
		ic.ActionCallback.BlockActions = []*slack.BlockAction{{
			ActionID: in.ActionID, BlockID: in.BlockID, Value: in.Value, Type: slack.ActionType(button.Type),
			ActionTs: actionTS, Text: *text,
		}}
	case slack.InteractionTypeViewSubmission, slack.InteractionTypeViewClosed:
		viewID := m.ids.viewID()
		ic.View = slack.View{
			ID: viewID, TeamID: p.team, Type: slack.VTModal, Blocks: slack.Blocks{BlockSet: []slack.Block{}},
			PrivateMetadata: in.PrivateMetadata, CallbackID: in.CallbackID, Hash: actionTS + ".fakeslack",
			Title:      &slack.TextBlockObject{Type: slack.PlainTextType, Text: "Fake Slack"},
			Close:      &slack.TextBlockObject{Type: slack.PlainTextType, Text: "Cancel"},
			Submit:     &slack.TextBlockObject{Type: slack.PlainTextType, Text: "Submit"},
			RootViewID: viewID, AppID: app, AppInstalledTeamID: p.team, BotID: p.botID,
		}
	case slack.InteractionTypeMessageAction:
		text, author := in.Value, p.user
		if msg, ok := m.s.findMessage(p.channel, in.MessageTS); ok { // a shortcut on a message of the history
			text, author = msg.Text, cmp.Or(msg.User, author)
		}
		ic.Message = slack.Message{Msg: slack.Msg{Type: slack.TYPE_MESSAGE, Text: text, User: author, Timestamp: in.MessageTS, Team: p.team}}
	case slack.InteractionTypeBlockSuggestion:
		ic.BlockID, ic.ActionID, ic.Value = in.BlockID, in.ActionID, in.Value
		ic.View = slack.View{ID: m.ids.viewID(), Type: slack.VTModal, CallbackID: in.CallbackID}
	}
	return ic
}
