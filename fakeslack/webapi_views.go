package fakeslack

import (
	"cmp"
	"encoding/json"
	"sync"
	"time"
)

// This file holds views.open, views.push, views.update and views.publish, and the trigger_ids
// they take. Every slash command and interaction injected carries a trigger_id that opens one
// modal within Options.TriggerLifetime (3 s, as Slack's): after it, expired_trigger_id; used
// twice, exchanged_trigger_id; unknown or from another workspace, invalid_trigger_id. A view's JSON
// over 250 KB is view_too_large; a modal stack holds 3 views (push_limit_reached); views.update
// takes view_id or external_id (not_found) and refuses a stale hash (hash_conflict).

// maxViewBytes is the largest view Slack displays ("views over 250kb").
const maxViewBytes = 250 << 10

// maxViewStack is how many views a modal stack holds.
const maxViewStack = 3

// View is a view opened or published by an app (see Server.View).
type View struct {
	ID         string `json:"id"`
	Team       string `json:"team_id"`
	App        string `json:"app_id"`
	User       string `json:"user"`
	Type       string `json:"type"` // "modal" or "home"
	CallbackID string `json:"callback_id"`
	ExternalID string `json:"external_id"`
	RootID     string `json:"root_view_id"`
	PreviousID string `json:"previous_view_id,omitempty"`
	Hash       string `json:"hash"`
	// JSON is the view object as the views.* methods answered it.
	JSON json.RawMessage `json:"view"`
}

type trigger struct {
	team, app, user string
	issued          time.Time
	used            bool
}

// viewStore holds triggers and views; guarded by mu.
type viewStore struct {
	mu       sync.Mutex
	ttl      time.Duration
	triggers map[string]*trigger
	views    map[string]*View
	byExt    map[string]string   // team+"\x00"+external_id → view ID
	stacks   map[string][]string // root view ID → the stack, root first
	current  map[string]string   // team+"\x00"+user → root of the open modal stack
	home     map[string]string   // team+"\x00"+user → home view ID
}

func newViewStore(ttl time.Duration) *viewStore {
	return &viewStore{ttl: ttl, triggers: map[string]*trigger{}, views: map[string]*View{}, byExt: map[string]string{},
		stacks: map[string][]string{}, current: map[string]string{}, home: map[string]string{}}
}

// issueTrigger records a new trigger_id.
func (v *viewStore) issueTrigger(id, team, app, user string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := time.Now()
	for k, t := range v.triggers { // forget triggers long dead, so the map stays small
		if now.Sub(t.issued) > v.ttl+time.Minute {
			delete(v.triggers, k)
		}
	}
	v.triggers[id] = &trigger{team: team, app: app, user: user, issued: now}
}

// IssueTrigger returns a new trigger_id of user in team for app, as an interaction would carry.
func (s *Server) IssueTrigger(app, team, user string) string {
	id := s.sm.ids.triggerID()
	s.views.issueTrigger(id, team, app, user)
	return id
}

// View returns a view opened, pushed, updated or published by an app.
func (s *Server) View(id string) (View, bool) {
	s.views.mu.Lock()
	defer s.views.mu.Unlock()
	v, ok := s.views.views[id]
	if !ok {
		return View{}, false
	}
	return *v, true
}

func (s *Server) routeViewMethods() {
	s.handle("views.open", methodSpec{handler: s.viewsOpen(false), kinds: workspaceKinds, json: true})
	s.handle("views.push", methodSpec{handler: s.viewsOpen(true), kinds: workspaceKinds, json: true})
	s.handle("views.update", methodSpec{handler: s.viewsUpdate, kinds: workspaceKinds, json: true})
	s.handle("views.publish", methodSpec{handler: s.viewsPublish, kinds: workspaceKinds, json: true})
}

// viewArg reads and checks the view argument.
func viewArg(req *apiRequest, wantType string) (map[string]any, error) {
	raw := req.RawArg("view")
	if len(raw) == 0 {
		return nil, invalidArguments("missing required field: view")
	}
	if len(raw) > maxViewBytes {
		return nil, apiErr("view_too_large")
	}
	var v map[string]any
	if json.Unmarshal(raw, &v) != nil || v == nil {
		return nil, invalidArguments("failed to match all allowed schemas [json-pointer:/view]")
	}
	if t, _ := v["type"].(string); t != wantType {
		return nil, invalidArguments("must be a valid enum value [json-pointer:/view/type]")
	}
	return v, nil
}

// viewsOpen answers views.open, or views.push when push is set.
func (s *Server) viewsOpen(push bool) func(*apiRequest) (map[string]any, error) {
	return func(req *apiRequest) (map[string]any, error) {
		tid := req.Arg("trigger_id")
		if tid == "" {
			return nil, invalidArguments("missing required field: trigger_id")
		}
		body, err := viewArg(req, "modal")
		if err != nil {
			return nil, err
		}
		who := s.identify(req.Tok)
		st := s.views
		st.mu.Lock()
		defer st.mu.Unlock()
		t := st.triggers[tid]
		switch {
		case t == nil || t.team != req.Tok.team:
			return nil, apiErr("invalid_trigger_id")
		case t.used:
			return nil, apiErr("exchanged_trigger_id")
		case time.Since(t.issued) > st.ttl:
			return nil, apiErr("expired_trigger_id")
		}
		ext, _ := body["external_id"].(string)
		if ext != "" && st.byExt[t.team+"\x00"+ext] != "" {
			return nil, apiErr("duplicate_external_id")
		}
		key := t.team + "\x00" + t.user
		root := ""
		if push {
			root = st.current[key]
			if len(st.stacks[root]) >= maxViewStack {
				return nil, apiErr("push_limit_reached")
			}
		}
		t.used = true
		id := s.sm.ids.viewID()
		prev := ""
		if root == "" {
			root = id
		} else {
			stack := st.stacks[root]
			prev = stack[len(stack)-1]
		}
		st.stacks[root] = append(st.stacks[root], id)
		st.current[key] = root
		v := &View{ID: id, Team: t.team, App: cmp.Or(who.appID, t.app), User: t.user, Type: "modal", ExternalID: ext, RootID: root, PreviousID: prev}
		obj := s.renderView(v, body, who)
		st.views[id] = v
		if ext != "" {
			st.byExt[t.team+"\x00"+ext] = id
		}
		return map[string]any{"view": obj}, nil
	}
}

// viewsUpdate answers views.update.
func (s *Server) viewsUpdate(req *apiRequest) (map[string]any, error) {
	id, ext := req.Arg("view_id"), req.Arg("external_id")
	if id == "" && ext == "" {
		return nil, invalidArguments("view_id or external_id is required")
	}
	st := s.views
	st.mu.Lock()
	if id == "" {
		id = st.byExt[req.Tok.team+"\x00"+ext]
	}
	v := st.views[id]
	st.mu.Unlock()
	if v == nil || v.Team != req.Tok.team {
		return nil, apiErr("not_found")
	}
	body, err := viewArg(req, v.Type)
	if err != nil {
		return nil, err
	}
	who := s.identify(req.Tok)
	st.mu.Lock()
	defer st.mu.Unlock()
	if h := req.Arg("hash"); h != "" && h != v.Hash {
		return nil, apiErr("hash_conflict")
	}
	return map[string]any{"view": s.renderView(v, body, who)}, nil
}

// viewsPublish answers views.publish: the user's App Home view, made or replaced.
func (s *Server) viewsPublish(req *apiRequest) (map[string]any, error) {
	user := req.Arg("user_id")
	if user == "" {
		return nil, invalidArguments("missing required field: user_id")
	}
	body, err := viewArg(req, "home")
	if err != nil {
		return nil, err
	}
	who := s.identify(req.Tok)
	s.world.mu.Lock()
	known := false
	if ws := s.world.byTeam[req.Tok.team]; ws != nil {
		for _, u := range ws.Users {
			known = known || u.ID == user
		}
	}
	s.world.mu.Unlock()
	if !known {
		return nil, apiErr("user_not_found")
	}
	st := s.views
	st.mu.Lock()
	defer st.mu.Unlock()
	key := req.Tok.team + "\x00" + user
	v := st.views[st.home[key]]
	if v == nil {
		id := s.sm.ids.viewID()
		v = &View{ID: id, Team: req.Tok.team, App: who.appID, User: user, Type: "home", RootID: id}
		st.views[id], st.home[key] = v, id
	} else if h := req.Arg("hash"); h != "" && h != v.Hash {
		return nil, apiErr("hash_conflict")
	}
	return map[string]any{"view": s.renderView(v, body, who)}, nil
}

// HomeView returns the App Home view published for user in team, if any.
func (s *Server) HomeView(team, user string) (View, bool) {
	s.views.mu.Lock()
	id := s.views.home[team+"\x00"+user]
	s.views.mu.Unlock()
	return s.View(id)
}

// renderView renders a view as the views.* methods answer it (the keys of Slack's documented
// views.open answer) from the submitted body, and stores it in v with a new hash; callers hold
// viewStore.mu.
func (s *Server) renderView(v *View, body map[string]any, who identity) map[string]any {
	v.Hash = s.sm.newTS() + ".fakeslack"
	v.CallbackID, _ = body["callback_id"].(string)
	if ext, ok := body["external_id"].(string); ok {
		v.ExternalID = ext
	}
	obj := map[string]any{
		"id": v.ID, "team_id": v.Team, "type": v.Type, "blocks": []any{}, "private_metadata": "", "callback_id": "",
		"state": map[string]any{"values": map[string]any{}}, "hash": v.Hash, "clear_on_close": false,
		"notify_on_close": false, "close": nil, "submit": nil, "previous_view_id": nil, "root_view_id": v.RootID,
		"app_id": v.App, "external_id": v.ExternalID, "app_installed_team_id": v.Team, "bot_id": who.botID,
	}
	if v.Type == "home" {
		obj["title"] = map[string]any{"type": "plain_text", "text": "View Title", "emoji": true}
	}
	for _, k := range []string{"title", "blocks", "close", "submit", "private_metadata", "callback_id", "clear_on_close",
		"notify_on_close", "submit_disabled"} {
		if x, ok := body[k]; ok {
			obj[k] = x
		}
	}
	if v.PreviousID != "" {
		obj["previous_view_id"] = v.PreviousID
	}
	v.JSON, _ = json.Marshal(obj)
	return obj
}
