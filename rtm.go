package switchboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"

	"github.com/switchboard-go/switchboard/internal/engine"
	"github.com/switchboard-go/switchboard/messages"
)

// Errors of RTM sends; see messages for each.
var (
	ErrNotConnected     = messages.ErrNotConnected
	ErrUnknownWorkspace = messages.ErrUnknownWorkspace
	ErrSendQueueFull    = messages.ErrSendQueueFull
	ErrTextTooLong      = messages.ErrTextTooLong
	ErrFrameTooLarge    = messages.ErrFrameTooLarge
	ErrSessionEnded     = messages.ErrSessionEnded
	ErrSlowDown         = messages.ErrSlowDown
)

// RTM connect methods.
const (
	RTMConnect = "rtm.connect" // the default: a socket URL and who the bot is
	RTMStart   = "rtm.start"   // also the workspace's users, channels and bots (legacy)
)

// Workspace is one RTM workspace to keep connected: one token, one socket. Zero fields take the
// defaults named on each.
type Workspace struct {
	// Team is the workspace's team ID ("T024BE7LH"); it names the link.
	Team string
	// Token is a classic app's bot token (xoxb-) or a user token (xoxp-). Slack refuses RTM to
	// granular bot tokens with not_allowed_token_type, which stops the link with a Fatal event.
	Token string
	// ConnectMethod is RTMConnect (default) or RTMStart. Either way the Web API answer reaches
	// subscribers as the session's first event: Kind KindRTM, Type "open", Raw the answer.
	ConnectMethod string
	// PingInterval is how long the socket may be idle before a JSON ping. Default: half the
	// runtime's stale-after window (17.5s): an idle workspace costs one ping per interval.
	PingInterval time.Duration
	// PongTimeout is how long a ping's pong may take before the session ends as stale. Default: the
	// runtime's stale-after minus PingInterval (17.5s), so a dead link is noticed within the
	// stale-after window (35s) of its last frame.
	PongTimeout time.Duration
	// APIURL is the Web API base for rtm.connect and Event.Client. Default: the runtime's.
	APIURL string
	// HTTPClient makes the Web API calls; when its Transport is an *http.Transport (nil meaning
	// http.DefaultTransport), its proxy, TLS config and dialer are used for the socket too. It is
	// used as it is: WithProxy does not change it. Default: the runtime's client.
	HTTPClient *http.Client
	// Dialer dials the socket; its Proxy is honoured (an http(s) proxy through a CONNECT tunnel,
	// with the credentials in the proxy URL). Default: built from HTTPClient, else a shared dialer
	// with the runtime's proxy (WithProxy, WithHTTPClient's transport, or the environment), small
	// buffers (1 KB read, pooled write buffer).
	Dialer *websocket.Dialer
	// Headers are added to the rtm.connect call and the socket handshake.
	Headers http.Header
	// AutoReconnect, when false, stops the link on the first failure instead of reconnecting.
	// Default (nil) true.
	AutoReconnect *bool
	// WriteBurst and WriteRefill are the send rate limit: WriteBurst frames at once, then one per
	// WriteRefill. Defaults 3 and 1s (Slack asks for one message per second).
	WriteBurst  int
	WriteRefill time.Duration
	// SendQueue bounds the sends waiting for the rate; beyond it Send fails with ErrSendQueueFull.
	// Default 64.
	SendQueue int
}

// rtmFleet is the runtime's RTM workspaces; guarded by Runtime.mu.
type rtmFleet struct {
	routes map[string]*engine.RTMRoute // by team ID
	dialer *websocket.Dialer           // shared default dialer, made on first use
}

// AddWorkspace connects an RTM workspace; it returns once the link is supervised, before the
// socket is up (await Connected with OnLifecycle).
func (rt *Runtime) AddWorkspace(ctx context.Context, ws Workspace) error {
	if rt.clu != nil {
		return rt.clusterAddWorkspace(ctx, ws)
	}
	return rt.addWorkspace(ctx, ws)
}

func (rt *Runtime) addWorkspace(ctx context.Context, ws Workspace) error {
	spec, err := rt.rtmSpec(ws)
	if err != nil {
		return err
	}
	state := engine.NewLinkState(spec.Link)
	rt.mu.Lock()
	if _, ok := rt.links[ws.Team]; ok || rt.rtm.routes[ws.Team] != nil {
		rt.mu.Unlock()
		return fmt.Errorf("%w: workspace %s (RemoveWorkspace it first to add it again)", ErrAlreadyAdded, ws.Team)
	}
	if rt.rtm.routes == nil {
		rt.rtm.routes = map[string]*engine.RTMRoute{}
	}
	rt.rtm.routes[ws.Team] = spec.Route
	rt.mu.Unlock()
	reply := engine.NewReply()
	if err := rt.ask(ctx, rt.supervisor, engine.AddLink{Spec: spec, State: state, Reply: reply}, reply, nil); err != nil {
		rt.mu.Lock()
		delete(rt.rtm.routes, ws.Team)
		rt.mu.Unlock()
		return err
	}
	rt.mu.Lock()
	rt.links[spec.Link.Name] = state
	rt.mu.Unlock()
	return nil
}

// RemoveWorkspace disconnects an RTM workspace and forgets it. Sends still waiting fail with a
// SessionEndedError.
func (rt *Runtime) RemoveWorkspace(ctx context.Context, team string) error {
	if rt.clu != nil {
		return rt.clusterRemoveWorkspace(ctx, team)
	}
	return rt.removeWorkspace(ctx, team)
}

func (rt *Runtime) removeWorkspace(ctx context.Context, team string) error {
	rt.mu.Lock()
	_, ok := rt.rtm.routes[team]
	delete(rt.rtm.routes, team)
	rt.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownWorkspace, team)
	}
	return rt.removeLinks(ctx, []string{team})
}

func (rt *Runtime) rtmSpec(ws Workspace) (engine.RTMSpec, error) {
	if ws.Team == "" {
		return engine.RTMSpec{}, errors.New("switchboard: workspace needs a team ID")
	}
	if ws.Token == "" {
		return engine.RTMSpec{}, fmt.Errorf("%w: workspace %s has none", ErrEmptyToken, ws.Team)
	}
	if !strings.HasPrefix(ws.Token, "xoxb-") && !strings.HasPrefix(ws.Token, "xoxp-") {
		return engine.RTMSpec{}, fmt.Errorf("%w: workspace %s: RTM needs a bot (xoxb-) or user (xoxp-) token", ErrTokenKind, ws.Team)
	}
	switch ws.ConnectMethod {
	case "":
		ws.ConnectMethod = RTMConnect
	case RTMConnect, RTMStart:
	default:
		return engine.RTMSpec{}, fmt.Errorf("switchboard: workspace %s: connect method %q is not %s or %s", ws.Team, ws.ConnectMethod, RTMConnect, RTMStart)
	}
	if ws.PingInterval < 0 || ws.PongTimeout < 0 || ws.WriteBurst < 0 || ws.WriteRefill < 0 || ws.SendQueue < 0 {
		return engine.RTMSpec{}, fmt.Errorf("switchboard: workspace %s: negative setting", ws.Team)
	}
	if ws.PingInterval == 0 {
		ws.PingInterval = rt.cfg.staleAfter / 2
	}
	if ws.PongTimeout == 0 {
		ws.PongTimeout = max(rt.cfg.staleAfter-ws.PingInterval, time.Second)
	}
	if ws.APIURL == "" {
		ws.APIURL = rt.cfg.apiURL
	} else if !strings.HasSuffix(ws.APIURL, "/") {
		ws.APIURL += "/"
	}
	if ws.Dialer == nil {
		ws.Dialer = rt.rtmDialer(ws.HTTPClient)
	}
	if ws.HTTPClient == nil {
		ws.HTTPClient = rt.cfg.http
	}
	link := messages.Link{Transport: messages.RTM, Team: ws.Team, Name: ws.Team}
	return engine.RTMSpec{
		Link: link, Token: ws.Token, ConnectMethod: ws.ConnectMethod,
		APIURL: ws.APIURL, HTTP: ws.HTTPClient, Dialer: ws.Dialer, Headers: ws.Headers.Clone(),
		Client:       workspaceClient(ws),
		PingInterval: ws.PingInterval, PongTimeout: ws.PongTimeout, HelloTimeout: rt.cfg.helloTimeout,
		Writer:      engine.RTMWriterConfig{Burst: ws.WriteBurst, Refill: ws.WriteRefill, Queue: ws.SendQueue},
		NoReconnect: ws.AutoReconnect != nil && !*ws.AutoReconnect,
		Route:       &engine.RTMRoute{},
	}, nil
}

// rtmDialer returns a dialer using h's transport settings, or the runtime's shared RTM dialer,
// which has those of the runtime's client. Small read buffers and a pooled write buffer keep an
// idle socket cheap.
func (rt *Runtime) rtmDialer(h *http.Client) *websocket.Dialer {
	small := func(d *websocket.Dialer) *websocket.Dialer {
		d.ReadBufferSize, d.WriteBufferPool = 1024, &sync.Pool{}
		return d
	}
	if h != nil {
		if tr := transportOf(h); tr != nil {
			return small(socketDialer(tr))
		}
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.rtm.dialer == nil {
		rt.rtm.dialer = small(socketDialer(transportOf(rt.cfg.http)))
	}
	return rt.rtm.dialer
}

// workspaceClient returns the Web API client of ws's own token, made on first use.
func workspaceClient(ws Workspace) engine.ClientSource {
	var once sync.Once
	var c *slack.Client
	return func(_ context.Context, team string) (*slack.Client, error) {
		if team != ws.Team {
			return nil, fmt.Errorf("%w for team %s: workspace %s has only its own", messages.ErrNoClient, team, ws.Team)
		}
		once.Do(func() { c = slack.New(ws.Token, slack.OptionAPIURL(ws.APIURL), slack.OptionHTTPClient(ws.HTTPClient)) })
		return c, nil
	}
}

// RTMMessage is a message to post over a workspace's RTM socket: plain mrkdwn text, at most 4,000
// characters.
type RTMMessage struct {
	Channel  string // channel ID
	Text     string
	ThreadTS string // reply in this thread; "" for none
}

// Reply is Slack's acknowledgement of an RTM message.
type Reply struct {
	ID   int64  // the frame's id on its socket
	TS   string // the posted message's ts
	Text string // the text as Slack posted it
}

// Send posts m in team's workspace over its RTM socket and waits for Slack's reply. It fails fast
// with ErrNotConnected while the workspace has no session up (no queueing across reconnects: the
// caller decides whether to retry), ErrTextTooLong, ErrFrameTooLarge or ErrSendQueueFull before
// anything is written; with an *messages.RTMReplyError when Slack refuses the message
// (errors.Is(err, ErrSlowDown) for the rate limit); with a *messages.SessionEndedError
// (errors.Is(err, ErrSessionEnded)) when the session ends first, saying whether the message may
// have been sent; with ErrStopped once the runtime stops; with ctx.Err() when ctx ends first, in
// which case a message already queued may still be sent.
func (rt *Runtime) Send(ctx context.Context, team string, m RTMMessage) (Reply, error) {
	r, err := rt.rtmSend(ctx, team, engine.RTMSend{Type: "message", Channel: m.Channel, Text: m.Text, ThreadTS: m.ThreadTS})
	if err != nil {
		return Reply{}, redactError(err)
	}
	return Reply{ID: r.ID, TS: r.TS, Text: r.Text}, nil
}

// Typing tells channel's members that the bot is typing. It returns once the frame is written
// (Slack answers typing only when it refuses it); it fails as Send does.
func (rt *Runtime) Typing(ctx context.Context, team, channel string) error {
	_, err := rt.rtmSend(ctx, team, engine.RTMSend{Type: "typing", Channel: channel})
	return redactError(err)
}

// sendAnswerGrace is how long a send waits for the writer's own answer once its session ended.
const sendAnswerGrace = 2 * time.Second

func (rt *Runtime) rtmSend(ctx context.Context, team string, msg engine.RTMSend) (engine.RTMReply, error) {
	if rt.isStopped() {
		return engine.RTMReply{}, ErrStopped
	}
	if err := ctx.Err(); err != nil {
		return engine.RTMReply{}, err
	}
	if rt.clu != nil && rt.rtmRoute(team) == nil {
		return rt.forwardRTM(ctx, team, msg) // rtmforward.go: the member that runs it sends
	}
	return rt.rtmSendLocal(ctx, team, msg)
}

// rtmRoute is the route to this runtime's own socket of team, nil if it has none.
func (rt *Runtime) rtmRoute(team string) *engine.RTMRoute {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.rtm.routes[team]
}

// rtmSendLocal sends msg on this runtime's own socket of team.
func (rt *Runtime) rtmSendLocal(ctx context.Context, team string, msg engine.RTMSend) (engine.RTMReply, error) {
	route := rt.rtmRoute(team)
	if route == nil {
		return engine.RTMReply{}, fmt.Errorf("%w: %s", ErrUnknownWorkspace, team)
	}
	pid, done := route.Writer()
	if pid == nil {
		return engine.RTMReply{}, fmt.Errorf("%w: %s", ErrNotConnected, team)
	}
	select {
	case <-done: // the session just ended: nothing was written
		return engine.RTMReply{}, &messages.SessionEndedError{}
	default:
	}
	reply := make(chan engine.RTMReply, 1)
	msg.Reply = reply
	rt.system.Root.Send(pid, msg)
	var r engine.RTMReply
	select {
	case r = <-reply:
	case <-ctx.Done():
		return engine.RTMReply{}, ctx.Err()
	case <-done: // the writer answers all it took as it stops; give it a moment
		select {
		case r = <-reply:
		case <-time.After(sendAnswerGrace):
			// The send reached the mailbox of a writer that stopped first: it cannot tell.
			r.Err = &messages.SessionEndedError{MaybeSent: true}
		case <-ctx.Done():
			return engine.RTMReply{}, ctx.Err()
		}
	}
	if r.Err != nil && errors.Is(r.Err, ErrSessionEnded) && rt.isStopped() {
		r.Err = fmt.Errorf("%w: %w", ErrStopped, r.Err)
	}
	return r, r.Err
}
