package switchboard

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-go/switchboard/internal/engine"
	"github.com/switchboard-go/switchboard/internal/redact"
	"github.com/switchboard-go/switchboard/messages"
)

// InstallationStore gives the bot token of each workspace an app is installed in. BotToken is
// called on a handler's goroutine the first time an event of that team needs a Web API client.
type InstallationStore interface {
	BotToken(ctx context.Context, team string) (string, error)
}

// Installations is an in-memory InstallationStore: team ID → bot token.
type Installations map[string]string

// BotToken returns the team's token, or an error naming the team.
func (i Installations) BotToken(_ context.Context, team string) (string, error) {
	if tok, ok := i[team]; ok {
		return tok, nil
	}
	return "", fmt.Errorf("switchboard: no bot token for team %s", team)
}

// App is an app to run: over Socket Mode (the default) or over HTTP (Transport HTTP).
type App struct {
	// ID names the app in logs, metrics and link names ("A0APP" → links "A0APP/1", "A0APP/2", …).
	// It is a label of yours; Slack never sees it. Default: the app ID inside the token
	// (xapp-1-<app ID>-…). An HTTP app needs it: Slack's app ID, which HTTPHandler routes on
	// (the requests' api_app_id, or the last element of the request URL's path).
	ID string
	// Transport is how the app receives its events: SocketMode (the default, with Token) or HTTP
	// (Slack posts to your request URL, served by HTTPHandler, with SigningSecret; no Token).
	Transport Transport
	// Token is the app-level token (xapp-) with connections:write; Socket Mode only.
	Token string
	// SigningSecret verifies the requests of an HTTP app (the app's Basic Information page).
	SigningSecret string
	// Connections is how many sockets to keep open, 1 to 10. Default 1. Socket Mode only.
	Connections int
	// Installations gives per-team bot tokens for Event.Client; nil means no Web API clients.
	// A team's client is cached until InstallationsChanged names the team. When it is an
	// installstore.Store, the runtime also deletes what app_uninstalled and tokens_revoked events
	// name (a subscription "switchboard/uninstall/<app ID>").
	Installations InstallationStore
}

// Configuration errors, for errors.Is.
var (
	// ErrAlreadyAdded: AddApp or AddWorkspace of an app or workspace the runtime has already.
	ErrAlreadyAdded = errors.New("switchboard: already added")
	// ErrUnknownApp: RemoveApp of an app the runtime does not have.
	ErrUnknownApp = errors.New("switchboard: unknown app")
	// ErrEmptyToken: an app or workspace without a token (an unset environment variable, often).
	ErrEmptyToken = errors.New("switchboard: empty token")
	// ErrTokenKind: a token of the wrong kind for the link (Socket Mode takes xapp-, RTM xoxb- or
	// xoxp-).
	ErrTokenKind = errors.New("switchboard: wrong kind of token")
)

// AddApp connects an app: one link per connection, each supervised on its own. It returns once the
// links are supervised, before their sockets are up (await Connected with OnLifecycle). An HTTP
// app has no links: its events come in through HTTPHandler from then on. It fails with
// ErrEmptyToken, ErrTokenKind or ErrAlreadyAdded (errors.Is).
func (rt *Runtime) AddApp(ctx context.Context, app App) error {
	switch app.Transport {
	case HTTP:
		if err := rt.addHTTPApp(app); err != nil {
			return err
		}
		return rt.watchUninstalls(app)
	case "", SocketMode:
	default:
		return fmt.Errorf("switchboard: app %q: unknown transport %q (SocketMode or HTTP)", app.ID, app.Transport)
	}
	if rt.clu != nil {
		return rt.clusterAddApp(ctx, app) // clustering.go
	}
	app, err := socketModeApp(app)
	if err != nil {
		return err
	}
	rt.mu.Lock()
	if _, ok := rt.apps[app.ID]; ok {
		rt.mu.Unlock()
		return fmt.Errorf("%w: app %s (RemoveApp it first to add it again)", ErrAlreadyAdded, app.ID)
	}
	rt.apps[app.ID] = nil
	rt.mu.Unlock()

	clients := rt.clientSource(app.Installations)
	var added []string
	for i := 1; i <= app.Connections; i++ {
		link := messages.Link{Transport: messages.SocketMode, App: app.ID, Name: fmt.Sprintf("%s/%d", app.ID, i)}
		state := engine.NewLinkState(link)
		spec := engine.SocketModeSpec{
			Link: link, AppToken: app.Token, Client: clients,
			PingInterval: rt.cfg.pingInterval, StaleAfter: rt.cfg.staleAfter, HelloTimeout: rt.cfg.helloTimeout,
			ResponseDeadline: rt.cfg.responseDeadline, AckAfterHandlers: rt.cfg.ackAfterHandlers,
		}
		reply := engine.NewReply()
		if err := rt.ask(ctx, rt.supervisor, engine.AddLink{Spec: spec, State: state, Reply: reply}, reply, nil); err != nil {
			rt.removeLinks(context.WithoutCancel(ctx), added)
			rt.mu.Lock()
			delete(rt.apps, app.ID)
			rt.mu.Unlock()
			return err
		}
		added = append(added, link.Name)
		rt.mu.Lock()
		rt.links[link.Name] = state
		rt.apps[app.ID] = append(rt.apps[app.ID], link.Name)
		rt.mu.Unlock()
	}
	return rt.watchUninstalls(app)
}

// RemoveApp disconnects an app's links and forgets them.
func (rt *Runtime) RemoveApp(ctx context.Context, id string) error {
	if rt.clu != nil {
		return rt.clusterRemoveApp(ctx, id) // clustering.go
	}
	rt.mu.Lock()
	names, ok := rt.apps[id]
	delete(rt.apps, id)
	delete(rt.httpApps, id)
	_, watched := rt.subNames[uninstallSub(id)]
	rt.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownApp, id)
	}
	err := rt.removeLinks(ctx, names)
	if watched {
		err = errors.Join(err, rt.Unsubscribe(ctx, uninstallSub(id)))
	}
	rt.system.Root.Send(rt.dispatcher, engine.ForgetApp{App: id}) // its dedupe memory goes with it
	return err
}

// socketModeApp checks a Socket Mode app and fills its defaults: the ID from the token, one
// connection.
func socketModeApp(app App) (App, error) {
	if app.Token == "" {
		return app, fmt.Errorf("%w: app %q has none (is SLACK_APP_TOKEN set?)", ErrEmptyToken, app.ID)
	}
	if !strings.HasPrefix(app.Token, "xapp-") {
		return app, fmt.Errorf("%w: app %q needs an app-level token (xapp-…) with connections:write", ErrTokenKind, app.ID)
	}
	if app.ID == "" {
		app.ID = appIDOf(app.Token)
	}
	if app.ID == "" {
		return app, errors.New("switchboard: app needs an ID, and its token does not say it (xapp-1-<app ID>-…)")
	}
	if app.Connections == 0 {
		app.Connections = 1
	}
	if app.Connections < 1 || app.Connections > engine.MaxAppConnections {
		return app, fmt.Errorf("switchboard: app %s: %d connections, Slack allows 1 to %d", app.ID, app.Connections, engine.MaxAppConnections)
	}
	return app, nil
}

// appIDOf reads the app ID from an app-level token: xapp-1-<app ID>-<number>-<secret>.
func appIDOf(token string) string {
	parts := strings.Split(token, "-")
	if len(parts) >= 4 && strings.HasPrefix(parts[2], "A") {
		return parts[2]
	}
	return ""
}

func (rt *Runtime) removeLinks(ctx context.Context, names []string) error {
	var errs []error
	for _, name := range names {
		reply := engine.NewReply()
		if err := rt.ask(ctx, rt.supervisor, engine.RemoveLink{Name: name, Reply: reply}, reply, nil); err != nil {
			errs = append(errs, err)
		}
		rt.mu.Lock()
		delete(rt.links, name)
		rt.mu.Unlock()
	}
	return errors.Join(errs...)
}

// clientSource returns a cached Web API client per team from store, kept until
// InstallationsChanged names the team or, with WithClientTTL, until the ttl passes. Each team is looked up on its
// own: a slow BotToken for one team delays only that team's callers, and concurrent callers for
// one team share one lookup (single flight); each waits at most until its ctx ends. A failed
// lookup is not cached: its callers get its error, and the next call tries again. A panic in
// BotToken is recovered, logged and counted (Stats.CallbackPanics), and becomes that lookup's
// error.
func (rt *Runtime) clientSource(store InstallationStore) engine.ClientSource {
	if store == nil {
		return nil
	}
	var mu sync.Mutex // guards teams only; never held during a lookup
	teams := map[string]*teamClient{}
	ttl := rt.cfg.clientTTL
	rt.mu.Lock()
	rt.forgets = append(rt.forgets, func(team string) {
		mu.Lock()
		defer mu.Unlock()
		if team == "" {
			clear(teams)
			return
		}
		delete(teams, team) // a lookup in flight still answers its callers; the next call looks up anew
	})
	rt.mu.Unlock()
	return func(ctx context.Context, team string) (*slack.Client, error) {
		mu.Lock()
		tc, ok := teams[team]
		if ok && ttl > 0 && tc.stale() {
			ok = false // looked up more than ttl ago: ask the store again
		}
		if !ok {
			tc = &teamClient{done: make(chan struct{})}
			teams[team] = tc
		}
		mu.Unlock()
		if ok {
			select {
			case <-tc.done:
				return tc.client, tc.err
			case <-ctx.Done():
				return nil, fmt.Errorf("switchboard: web api client for team %s: %w", team, ctx.Err())
			case <-rt.env.Ctx.Done():
				return nil, fmt.Errorf("switchboard: web api client for team %s: %w", team, ErrStopped)
			}
		}
		// The lookup runs under the runtime's context, not the caller's: callers waiting for it
		// share it, and one caller giving up must not fail the others.
		tc.client, tc.err = rt.lookupClient(store, team)
		tc.expires = time.Now().Add(ttl)
		if tc.err != nil {
			mu.Lock()
			if teams[team] == tc {
				delete(teams, team) // the next call looks up again
			}
			mu.Unlock()
		}
		close(tc.done)
		return tc.client, tc.err
	}
}

// teamClient is one team's client, or the lookup in flight for it (done not yet closed).
type teamClient struct {
	done   chan struct{}
	client *slack.Client // set before done is closed
	err    error         // set before done is closed when the lookup failed
	// expires is when WithClientTTL's ttl passes; set before done is closed.
	expires time.Time
}

// stale reports whether tc's lookup is done and its ttl passed.
func (tc *teamClient) stale() bool {
	select {
	case <-tc.done:
		return time.Now().After(tc.expires)
	default:
		return false
	}
}

// lookupClient asks store for team's token and builds its client.
func (rt *Runtime) lookupClient(store InstallationStore, team string) (c *slack.Client, err error) {
	log := rt.log.WithField("team", team)
	defer func() {
		if r := recover(); r != nil {
			rt.storePanics.n.Add(1)
			log.WithField("panic", redact.Value(r)).Error("installation store panicked, no web api client for team")
			c, err = nil, fmt.Errorf("%w for team %s: the installation store panicked", messages.ErrNoClient, team)
		}
	}()
	tok, err := store.BotToken(rt.env.Ctx, team)
	if err != nil {
		log.WithError(redact.Error(err)).Warn("no web api client for team")
		return nil, fmt.Errorf("%w for team %s: %w", messages.ErrNoClient, team, redact.Error(err))
	}
	if tok == "" {
		return nil, fmt.Errorf("%w for team %s: the installation store has an empty token", messages.ErrNoClient, team)
	}
	return slack.New(tok, slack.OptionAPIURL(rt.cfg.apiURL), slack.OptionHTTPClient(rt.cfg.http)), nil
}
