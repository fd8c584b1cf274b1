package fakeslack

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// Workspace is one generated Slack workspace (team) and its credentials.
type Workspace struct {
	TeamID string `json:"team_id"`
	Name   string `json:"name"`
	Domain string `json:"domain"`
	// BotUserID and BotID identify the workspace's bot user.
	BotUserID string `json:"bot_user_id"`
	BotID     string `json:"bot_id"`
	// ClassicBotToken is a classic app's bot token: RTM accepts it.
	ClassicBotToken string `json:"classic_bot_token"`
	// BotToken is a granular (modern) bot token: the Web API accepts it, RTM answers not_allowed_token_type.
	BotToken string `json:"bot_token"`
	// UserToken is a user token (xoxp-) of the first user.
	UserToken string    `json:"user_token"`
	Users     []User    `json:"users"`
	Channels  []Channel `json:"channels"`
	// Webhooks holds one incoming webhook per channel.
	Webhooks []Webhook `json:"webhooks"`
}

// User is a member of a workspace, as generated: not a Slack payload. users.info and rtm.start
// render it as a slack.User.
type User struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	RealName string `json:"real_name"`
	IsBot    bool   `json:"is_bot"`
}

// Channel is a public channel of a workspace, as generated: not a Slack payload.
// conversations.list and rtm.start render it as a slack.Channel.
type Channel struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Archived bool   `json:"is_archived"`
}

// Webhook is an incoming webhook posting into Channel.
type Webhook struct {
	URL     string `json:"url"`
	Channel string `json:"channel"`
}

// App is an app with its app-level token and its OAuth and signing credentials, installed in
// Teams. Events, commands and interactions reach it over Socket Mode, or by HTTP to RequestURL
// when that is set (see ConfigureApp).
type App struct {
	AppID    string   `json:"app_id"`
	Name     string   `json:"name"`
	AppToken string   `json:"app_token"`
	Teams    []string `json:"teams"`
	// ClientID and ClientSecret authenticate oauth.v2.access calls.
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	// SigningSecret signs the HTTP requests sent to RequestURL (X-Slack-Signature).
	SigningSecret string `json:"signing_secret"`
	// RequestURL, when set, receives the app's events, commands and interactions by HTTP instead
	// of Socket Mode.
	RequestURL string `json:"request_url,omitempty"`
	// RedirectURL is the OAuth redirect URL used when oauth/v2/authorize has no redirect_uri.
	RedirectURL string `json:"redirect_url,omitempty"`
	// TokenRotation makes the bot and user tokens minted by oauth.v2.access expire (after
	// OAuthOptions.TokenLifetime) and come with a refresh token.
	TokenRotation bool `json:"token_rotation"`
}

// Message is a message kept in a channel's history.
type Message struct {
	Channel  string `json:"channel"`
	TS       string `json:"ts"`
	ThreadTS string `json:"thread_ts,omitempty"`
	User     string `json:"user,omitempty"`
	BotID    string `json:"bot_id,omitempty"`
	Text     string `json:"text"`
	// Reactions are the reactions added to the message (reactions.add, InjectReactionAdded).
	Reactions []Reaction `json:"reactions,omitempty"`
	// Edited is the ts of the last chat.update, "" if never edited.
	Edited string `json:"edited,omitempty"`
	// Raw is the body the message was posted with (Web API args, RTM frame or webhook body).
	Raw []byte `json:"-"`
	// Via says how it was posted: "chat.postMessage", "chat.postEphemeral", "rtm", "webhook",
	// "response_url", or "injected" (by Server.InjectRTMMessage and InjectRTMStream).
	Via string `json:"via"`
}

// Reaction is one emoji on a message and who added it.
type Reaction struct {
	Name  string   `json:"name"`
	Users []string `json:"users"`
}

type tokenKind int

const (
	tokenClassicBot tokenKind = iota + 1
	tokenBot
	tokenUser
	tokenApp
)

func (k tokenKind) String() string {
	switch k {
	case tokenClassicBot:
		return "classic-bot"
	case tokenBot:
		return "bot"
	case tokenUser:
		return "user"
	case tokenApp:
		return "app"
	}
	return "unknown"
}

// tokenInfo is what the server knows of one token; guarded by world.mu.
type tokenInfo struct {
	kind     tokenKind
	team     string // "" for app tokens
	app      string // app tokens, and bot and user tokens minted by oauth.v2.access
	user     string // the user of a minted user token ("" means the workspace's first user)
	scopes   []string
	revoked  bool
	inactive bool
	expires  time.Time // zero: never (token rotation sets it)
}

// world holds workspaces, apps, tokens and history. All fields are guarded by mu.
type world struct {
	mu          sync.Mutex
	workspaces  []*Workspace
	byTeam      map[string]*Workspace
	apps        []*App
	byApp       map[string]*App
	tokens      map[string]*tokenInfo
	history     map[string]*msgRing // by channel ID
	historySize int                 // Options.HistorySize
	lastTS      int64               // microseconds, strictly increasing
	hooks       map[string]Webhook  // by path "/services/T/B/X"
	baseURL     string
	opts        *Options
	ephemeral   map[string]*msgRing // chat.postEphemeral messages, by channel ID
	outside     map[string]bool     // channels the bot is not a member of (SetBotInChannel)
	oauth       oauthState
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Errorf("fakeslack: crypto/rand: %w", err))
	}
	return hex.EncodeToString(b)
}

// id makes a Slack-looking ID: prefix then 10 upper-case base-36 digits.
func id(prefix string, n int) string {
	s := fmt.Sprintf("%010s", strconv.FormatInt(int64(n), 36))
	b := []byte(s)
	for i, c := range b {
		if c == ' ' {
			b[i] = '0'
		} else if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return prefix + string(b)
}

var botScopes = []string{"bot", "chat:write", "channels:read", "channels:history", "users:read", "commands", "incoming-webhook", "reactions:write"}
var granularScopes = []string{"chat:write", "channels:read", "channels:history", "users:read", "commands", "incoming-webhook", "app_mentions:read", "reactions:write"}
var userScopes = []string{"client", "chat:write", "channels:read", "users:read"}

func newWorld(o *Options, baseURL string) *world {
	w := &world{
		byTeam:      map[string]*Workspace{},
		byApp:       map[string]*App{},
		tokens:      map[string]*tokenInfo{},
		history:     map[string]*msgRing{},
		historySize: o.HistorySize,
		hooks:       map[string]Webhook{},
		baseURL:     baseURL,
		opts:        o,
		ephemeral:   map[string]*msgRing{},
		outside:     map[string]bool{},
		oauth:       newOAuthState(),
	}
	for i := 1; i <= o.Workspaces; i++ {
		w.addWorkspaceLocked(id("T", 1000+i))
	}
	for a := 1; a <= o.Apps; a++ {
		app := &App{
			AppID:         id("A", 7000+a),
			Name:          fmt.Sprintf("App %d", a),
			AppToken:      fmt.Sprintf("xapp-1-%s-%d-%s", id("A", 7000+a), 7000+a, randomHex(16)),
			ClientID:      fmt.Sprintf("%d.%d", 1000000+a, 7000000+a),
			ClientSecret:  randomHex(16),
			SigningSecret: randomHex(16),
		}
		for _, ws := range w.workspaces {
			app.Teams = append(app.Teams, ws.TeamID)
		}
		w.apps = append(w.apps, app)
		w.byApp[app.AppID] = app
		w.tokens[app.AppToken] = &tokenInfo{kind: tokenApp, app: app.AppID, scopes: []string{"connections:write"}}
	}
	return w
}

// addWorkspaceLocked generates a workspace with team ID team, its users, channels, webhooks and
// tokens, sized by Options; callers hold w.mu (newWorld, or an OAuth install creating one).
func (w *world) addWorkspaceLocked(team string) *Workspace {
	o, i := w.opts, len(w.workspaces)+1
	ws := &Workspace{
		TeamID:          team,
		Name:            fmt.Sprintf("Workspace %d", i),
		Domain:          fmt.Sprintf("workspace-%d", i),
		BotUserID:       id("U", 900000+i),
		BotID:           id("B", 900000+i),
		ClassicBotToken: fmt.Sprintf("xoxb-%d-%d-%s", 1000+i, 900000+i, randomHex(12)),
		BotToken:        fmt.Sprintf("xoxb-%d-%d-%s", 1000+i, 800000+i, randomHex(12)),
		UserToken:       fmt.Sprintf("xoxp-%d-%d-%s", 1000+i, 100000*i+1, randomHex(12)),
	}
	for u := 1; u <= o.UsersPerWorkspace; u++ {
		ws.Users = append(ws.Users, User{ID: id("U", 100000*i+u), Name: fmt.Sprintf("user%d", u), RealName: fmt.Sprintf("User %d of %s", u, ws.Name)})
	}
	ws.Users = append(ws.Users, User{ID: ws.BotUserID, Name: "switchbot", RealName: "Switchboard Bot", IsBot: true})
	for c := 1; c <= o.ChannelsPerWorkspace; c++ {
		name := "general"
		if c > 1 {
			name = fmt.Sprintf("channel-%d", c)
		}
		ch := Channel{ID: id("C", 100000*i+c), Name: name}
		ws.Channels = append(ws.Channels, ch)
		path := fmt.Sprintf("/services/%s/%s/%s", team, id("B", 500000+100*i+c), randomHex(12))
		hook := Webhook{URL: w.baseURL + path, Channel: ch.ID}
		ws.Webhooks = append(ws.Webhooks, hook)
		w.hooks[path] = hook
	}
	w.workspaces = append(w.workspaces, ws)
	w.byTeam[team] = ws
	w.tokens[ws.ClassicBotToken] = &tokenInfo{kind: tokenClassicBot, team: team, scopes: botScopes}
	w.tokens[ws.BotToken] = &tokenInfo{kind: tokenBot, team: team, scopes: granularScopes}
	w.tokens[ws.UserToken] = &tokenInfo{kind: tokenUser, team: team, scopes: userScopes}
	return ws
}

// nextTS returns a new message timestamp, unique and increasing across the server.
// Callers hold w.mu.
func (w *world) nextTS() string {
	now := time.Now().UnixMicro()
	if now <= w.lastTS {
		now = w.lastTS + 1
	}
	w.lastTS = now
	return fmt.Sprintf("%d.%06d", now/1e6, now%1e6)
}

// channel finds a channel of team by ID or name; callers hold w.mu.
func (w *world) channel(team, idOrName string) (*Channel, bool) {
	ws := w.byTeam[team]
	if ws == nil {
		return nil, false
	}
	for i := range ws.Channels {
		c := &ws.Channels[i]
		if c.ID == idOrName || c.Name == idOrName || "#"+c.Name == idOrName {
			return c, true
		}
	}
	return nil, false
}

// channelExists reports whether any workspace has the channel ID; callers hold w.mu.
func (w *world) channelExists(id string) bool {
	for _, ws := range w.workspaces {
		for _, c := range ws.Channels {
			if c.ID == id {
				return true
			}
		}
	}
	return false
}

// post appends m to its channel's history with a new ts and returns it.
func (w *world) post(m Message) Message {
	w.mu.Lock()
	defer w.mu.Unlock()
	m.TS = w.nextTS()
	w.appendHistory(m)
	return m
}

func copyWorkspace(ws *Workspace) Workspace {
	c := *ws
	c.Users = append([]User(nil), ws.Users...)
	c.Channels = append([]Channel(nil), ws.Channels...)
	c.Webhooks = append([]Webhook(nil), ws.Webhooks...)
	return c
}
