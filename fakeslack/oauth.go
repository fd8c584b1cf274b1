package fakeslack

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// This file plays Slack's side of OAuth v2 ("Installing with OAuth", "Using token rotation",
// the oauth.v2.access page):
//
//   - GET /oauth/v2/authorize?client_id&scope&user_scope&redirect_uri&state approves at once and
//     redirects (302) to redirect_uri (or the app's RedirectURL) with code and state. The user
//     picks the workspace with team: a team ID installs there (an unknown T… creates it), "new"
//     creates a workspace, none means the first one. user picks the installing user (default the
//     workspace's first); deny=1 redirects with error=access_denied instead. A code is good once,
//     for OAuthOptions.CodeLifetime (10 min).
//   - oauth.v2.access exchanges a code (grant_type authorization_code, the default) or a refresh
//     token (grant_type refresh_token). The client authenticates with client_id and client_secret
//     in the form or by HTTP Basic: invalid_client_id, bad_client_secret. Codes: invalid_code
//     (unknown, used, expired, another app's), bad_redirect_uri (not the one authorize got).
//     Refresh tokens are single-use (rotation): invalid_refresh_token.
//   - With App.TokenRotation the minted tokens are xoxe.xoxb-/xoxe.xoxp- tokens expiring after
//     OAuthOptions.TokenLifetime (12 h), answered with expires_in and an xoxe-1- refresh token;
//     an expired token answers token_expired.

// OAuthOptions configures the OAuth flow. Zero fields take the defaults named on each field.
type OAuthOptions struct {
	// TokenLifetime is how long a rotating token lives. Default 12h, as Slack's.
	TokenLifetime time.Duration
	// CodeLifetime is how long an authorization code can be exchanged. Default 10 min.
	CodeLifetime time.Duration
}

func (o OAuthOptions) withDefaults() OAuthOptions {
	if o.TokenLifetime <= 0 {
		o.TokenLifetime = 12 * time.Hour
	}
	if o.CodeLifetime <= 0 {
		o.CodeLifetime = 10 * time.Minute
	}
	return o
}

// ErrNoClient means no app has the given client ID.
var ErrNoClient = errors.New("fakeslack: no app has this client_id")

// oauthState is the OAuth grants in flight; guarded by world.mu.
type oauthState struct {
	codes   map[string]*oauthCode
	refresh map[string]*oauthRefresh
	n       int // minted tokens, for their IDs
}

type oauthCode struct {
	app, team, user    string
	redirect           string
	explicitRedirect   bool
	scopes, userScopes []string
	expires            time.Time
}

type oauthRefresh struct {
	app, team, user string
	kind            tokenKind
	scopes          []string
}

func newOAuthState() oauthState {
	return oauthState{codes: map[string]*oauthCode{}, refresh: map[string]*oauthRefresh{}}
}

// Install is what an installation minted: the bot token and, with user scopes, a user token.
type Install struct {
	App       string `json:"app_id"`
	Team      string `json:"team_id"`
	BotToken  string `json:"bot_token"`
	BotUserID string `json:"bot_user_id"`
	// RefreshToken and Expires are set with token rotation.
	RefreshToken string    `json:"refresh_token,omitempty"`
	Expires      time.Time `json:"expires,omitzero"`
	UserID       string    `json:"user_id,omitempty"`
	UserToken    string    `json:"user_token,omitempty"`
}

func (s *Server) routeOAuth() {
	s.handle("oauth.v2.access", methodSpec{handler: s.oauthAccess, noToken: true})
	s.mux.HandleFunc("GET /oauth/v2/authorize", s.serveAuthorize)
}

// serveAuthorize approves an installation at once and redirects with a code.
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	fail := func(code string) {
		s.transcript.add(Entry{Kind: KindAPI, Method: "oauth/v2/authorize", Status: code})
		http.Error(w, code, http.StatusBadRequest)
	}
	w.Header().Set("Cache-Control", "no-store")
	s.world.mu.Lock()
	a := s.world.appByClient(q.Get("client_id"))
	if a == nil {
		s.world.mu.Unlock()
		fail("invalid_client_id")
		return
	}
	app := a.AppID
	redirect := cmp.Or(q.Get("redirect_uri"), a.RedirectURL)
	if a.RedirectURL != "" && !strings.HasPrefix(redirect, a.RedirectURL) {
		redirect = ""
	}
	target, err := url.Parse(redirect)
	if redirect == "" || err != nil || target.Host == "" {
		s.world.mu.Unlock()
		fail("bad_redirect_uri")
		return
	}
	ws := s.world.pickWorkspaceLocked(q.Get("team"))
	user := cmp.Or(q.Get("user"), ws.Users[0].ID)
	if !slices.ContainsFunc(ws.Users, func(u User) bool { return u.ID == user }) {
		s.world.mu.Unlock()
		fail("user_not_found")
		return
	}
	back := target.Query()
	if st := q.Get("state"); st != "" {
		back.Set("state", st)
	}
	if q.Get("deny") != "" {
		s.world.mu.Unlock()
		back.Set("error", "access_denied")
	} else {
		code := fmt.Sprintf("%s.%s", strings.TrimPrefix(ws.TeamID, "T"), randomHex(20))
		s.world.oauth.codes[code] = &oauthCode{app: app, team: ws.TeamID, user: user, redirect: redirect,
			explicitRedirect: q.Get("redirect_uri") != "", scopes: splitScopes(q.Get("scope")), userScopes: splitScopes(q.Get("user_scope")),
			expires: time.Now().Add(s.opts.OAuth.CodeLifetime)}
		if !slices.Contains(a.Teams, ws.TeamID) {
			a.Teams = append(a.Teams, ws.TeamID)
		}
		s.world.mu.Unlock()
		back.Set("code", code)
	}
	target.RawQuery = back.Encode()
	s.transcript.add(Entry{Kind: KindAPI, Method: "oauth/v2/authorize", Team: ws.TeamID, App: app, Status: "ok"})
	http.Redirect(w, r, target.String(), http.StatusFound)
}

// appByClient finds the app with a client ID; callers hold w.mu.
func (w *world) appByClient(clientID string) *App {
	for _, a := range w.apps {
		if clientID != "" && a.ClientID == clientID {
			return a
		}
	}
	return nil
}

// pickWorkspaceLocked returns the workspace an authorize call chose: a team ID (created if
// unknown), "new" for a new one, "" for the first (created when there is none); callers hold w.mu.
func (w *world) pickWorkspaceLocked(team string) *Workspace {
	switch {
	case team == "new" || (team == "" && len(w.workspaces) == 0):
		n := len(w.workspaces) + 1
		for w.byTeam[id("T", 1000+n)] != nil {
			n++
		}
		return w.addWorkspaceLocked(id("T", 1000+n))
	case team == "":
		return w.workspaces[0]
	case w.byTeam[team] != nil:
		return w.byTeam[team]
	}
	return w.addWorkspaceLocked(team)
}

func splitScopes(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		out = append(out, f)
	}
	return out
}

// oauthAccess answers oauth.v2.access.
func (s *Server) oauthAccess(req *apiRequest) (map[string]any, error) {
	clientID, secret, basic := req.HTTP.BasicAuth()
	if !basic {
		clientID, secret = req.Arg("client_id"), req.Arg("client_secret")
	}
	if clientID == "" {
		return nil, apiErr("invalid_client_id")
	}
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	a := s.world.appByClient(clientID)
	switch {
	case a == nil:
		return nil, apiErr("invalid_client_id")
	case secret != a.ClientSecret:
		return nil, apiErr("bad_client_secret")
	}
	req.Tok.app = a.AppID
	switch gt := req.Arg("grant_type"); gt {
	case "", "authorization_code":
		return s.exchangeCodeLocked(req, a)
	case "refresh_token":
		return s.refreshLocked(req, a)
	}
	return nil, apiErr("invalid_grant_type")
}

// exchangeCodeLocked answers a code exchange; callers hold world.mu.
func (s *Server) exchangeCodeLocked(req *apiRequest, a *App) (map[string]any, error) {
	code := req.Arg("code")
	c := s.world.oauth.codes[code]
	if c == nil || c.app != a.AppID || time.Now().After(c.expires) {
		return nil, apiErr("invalid_code")
	}
	ru := req.Arg("redirect_uri")
	if (ru != "" && ru != c.redirect) || (ru == "" && c.explicitRedirect) {
		return nil, apiErr("bad_redirect_uri")
	}
	delete(s.world.oauth.codes, code)
	ws := s.world.byTeam[c.team]
	req.Tok.team = c.team
	in := s.mintLocked(a, ws, tokenBot, "", c.scopes)
	s.counters.oauthGrants.Add(1)
	body := map[string]any{
		"access_token": in.BotToken, "token_type": "bot", "scope": strings.Join(s.world.tokens[in.BotToken].scopes, ","),
		"bot_user_id": ws.BotUserID, "app_id": a.AppID, "team": map[string]any{"id": ws.TeamID, "name": ws.Name},
		"enterprise": nil, "is_enterprise_install": false,
		"authed_user": map[string]any{"id": c.user},
	}
	if in.RefreshToken != "" {
		body["refresh_token"], body["expires_in"] = in.RefreshToken, s.expiresIn()
	}
	if slices.Contains(c.scopes, "incoming-webhook") && len(ws.Webhooks) > 0 { // the first channel's
		h := ws.Webhooks[0]
		name := ""
		for _, ch := range ws.Channels {
			if ch.ID == h.Channel {
				name = "#" + ch.Name
			}
		}
		body["incoming_webhook"] = map[string]any{"channel": name, "channel_id": h.Channel, "url": h.URL,
			"configuration_url": "https://" + ws.Domain + ".slack.com/services/" + strings.Split(strings.TrimPrefix(h.URL, s.base+"/services/"), "/")[1]}
	}
	if len(c.userScopes) > 0 {
		u := s.mintLocked(a, ws, tokenUser, c.user, c.userScopes)
		au := map[string]any{"id": c.user, "scope": strings.Join(c.userScopes, ","), "access_token": u.BotToken, "token_type": "user"}
		if u.RefreshToken != "" {
			au["refresh_token"], au["expires_in"] = u.RefreshToken, s.expiresIn()
		}
		body["authed_user"] = au
	}
	return body, nil
}

// refreshLocked answers a refresh: a new access token and a new refresh token, the old refresh
// token spent; callers hold world.mu.
func (s *Server) refreshLocked(req *apiRequest, a *App) (map[string]any, error) {
	rt := req.Arg("refresh_token")
	g := s.world.oauth.refresh[rt]
	if g == nil || g.app != a.AppID {
		return nil, apiErr("invalid_refresh_token")
	}
	ws := s.world.byTeam[g.team]
	if ws == nil {
		return nil, apiErr("invalid_refresh_token")
	}
	delete(s.world.oauth.refresh, rt)
	req.Tok.team = g.team
	in := s.mintRotatingLocked(a, ws, g.kind, g.user, g.scopes)
	s.counters.tokenRefreshes.Add(1)
	body := map[string]any{
		"access_token": in.BotToken, "token_type": "bot", "scope": strings.Join(g.scopes, ","), "app_id": a.AppID,
		"refresh_token": in.RefreshToken, "expires_in": s.expiresIn(),
		"team": map[string]any{"id": ws.TeamID, "name": ws.Name}, "enterprise": nil, "is_enterprise_install": false,
	}
	if g.kind == tokenBot {
		body["bot_user_id"] = ws.BotUserID
	} else {
		body["token_type"], body["user_id"] = "user", g.user
	}
	return body, nil
}

// mintLocked makes a token of kind for app a in ws (with a refresh token under token rotation);
// the token is in Install.BotToken whatever its kind. Callers hold world.mu.
func (s *Server) mintLocked(a *App, ws *Workspace, kind tokenKind, user string, scopes []string) Install {
	if a.TokenRotation {
		return s.mintRotatingLocked(a, ws, kind, user, scopes)
	}
	return s.mintTokenLocked(a, ws, kind, user, scopes, "", time.Time{})
}

func (s *Server) mintRotatingLocked(a *App, ws *Workspace, kind tokenKind, user string, scopes []string) Install {
	in := s.mintTokenLocked(a, ws, kind, user, scopes, "xoxe.", time.Now().Add(s.opts.OAuth.TokenLifetime))
	in.RefreshToken = "xoxe-1-" + randomHex(24)
	s.world.oauth.refresh[in.RefreshToken] = &oauthRefresh{app: a.AppID, team: ws.TeamID, user: user, kind: kind, scopes: slices.Clone(scopes)}
	return in
}

func (s *Server) mintTokenLocked(a *App, ws *Workspace, kind tokenKind, user string, scopes []string, prefix string, expires time.Time) Install {
	w := s.world
	w.oauth.n++
	digits := strings.TrimLeft(strings.TrimPrefix(ws.TeamID, "T"), "0")
	in := Install{App: a.AppID, Team: ws.TeamID, BotUserID: ws.BotUserID, Expires: expires}
	if kind == tokenBot {
		if len(scopes) == 0 {
			scopes = granularScopes
		}
		in.BotToken = fmt.Sprintf("%sxoxb-%s-%d-%s", prefix, digits, 600000+w.oauth.n, randomHex(12))
	} else {
		if len(scopes) == 0 {
			scopes = userScopes
		}
		in.BotToken = fmt.Sprintf("%sxoxp-%s-%d-%s", prefix, digits, 600000+w.oauth.n, randomHex(12))
		in.UserID = user
	}
	w.tokens[in.BotToken] = &tokenInfo{kind: kind, team: ws.TeamID, app: a.AppID, user: user, scopes: slices.Clone(scopes), expires: expires}
	if !slices.Contains(a.Teams, ws.TeamID) {
		a.Teams = append(a.Teams, ws.TeamID)
	}
	return in
}

// expiresIn is a rotating token's expires_in: its lifetime in seconds, rounded up.
func (s *Server) expiresIn() int {
	return int((s.opts.OAuth.TokenLifetime + time.Second - 1) / time.Second)
}

// Install installs app in team as an approved oauth/v2/authorize and oauth.v2.access would, and
// returns the bot token minted (rotating under App.TokenRotation). team "new" creates a
// workspace, an unknown team ID creates it with that ID.
func (s *Server) Install(app, team string) (Install, error) {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	a := s.world.byApp[app]
	if a == nil {
		return Install{}, ErrNoApp
	}
	ws := s.world.pickWorkspaceLocked(team)
	s.counters.oauthGrants.Add(1)
	return s.mintLocked(a, ws, tokenBot, "", nil), nil
}

// ExpireToken makes tok expire now: later calls answer token_expired. It reports whether the
// token is known.
func (s *Server) ExpireToken(tok string) bool {
	return s.setTokenState(tok, func(t *tokenInfo) { t.expires = time.Now() })
}
