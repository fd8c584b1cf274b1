package switchboard

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

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

// App is a Socket Mode app to connect.
type App struct {
	// ID names the app in logs and link names ("A0APP" → links "A0APP/1", "A0APP/2", …).
	ID string
	// Token is the app-level token (xapp-) with connections:write.
	Token string
	// Connections is how many sockets to keep open, 1 to 10. Default 1.
	Connections int
	// Installations gives per-team bot tokens for Event.Client; nil means no Web API clients.
	Installations InstallationStore
}

// AddApp connects an app: one link per connection, each supervised on its own.
func (rt *Runtime) AddApp(ctx context.Context, app App) error {
	if app.ID == "" {
		return errors.New("switchboard: app needs an ID")
	}
	if !strings.HasPrefix(app.Token, "xapp-") {
		return fmt.Errorf("switchboard: app %s: token must be an app-level token (xapp-…)", app.ID)
	}
	if app.Connections == 0 {
		app.Connections = 1
	}
	if app.Connections < 1 || app.Connections > engine.MaxAppConnections {
		return fmt.Errorf("switchboard: app %s: %d connections, Slack allows 1 to %d", app.ID, app.Connections, engine.MaxAppConnections)
	}
	rt.mu.Lock()
	if _, ok := rt.apps[app.ID]; ok {
		rt.mu.Unlock()
		return fmt.Errorf("switchboard: app %s already added", app.ID)
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
		if err := rt.ask(ctx, rt.supervisor, engine.AddLink{Spec: spec, State: state}); err != nil {
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
	return nil
}

// RemoveApp disconnects an app's links and forgets them.
func (rt *Runtime) RemoveApp(ctx context.Context, id string) error {
	rt.mu.Lock()
	names, ok := rt.apps[id]
	delete(rt.apps, id)
	rt.mu.Unlock()
	if !ok {
		return fmt.Errorf("switchboard: no app %s", id)
	}
	err := rt.removeLinks(ctx, names)
	rt.system.Root.Send(rt.dispatcher, engine.ForgetApp{App: id}) // its dedupe memory goes with it
	return err
}

func (rt *Runtime) removeLinks(ctx context.Context, names []string) error {
	var errs []error
	for _, name := range names {
		if err := rt.ask(ctx, rt.supervisor, engine.RemoveLink{Name: name}); err != nil {
			errs = append(errs, err)
		}
		rt.mu.Lock()
		delete(rt.links, name)
		rt.mu.Unlock()
	}
	return errors.Join(errs...)
}

// clientSource returns a cached Web API client per team from store. Each team is looked up on its
// own: a slow BotToken for one team delays only that team's callers, and concurrent callers for
// one team share one lookup (single flight). A failed lookup is not cached: the next call tries
// again. A panic in BotToken is recovered, logged and counted (Stats.CallbackPanics); that call
// and the callers waiting on it get no client.
func (rt *Runtime) clientSource(store InstallationStore) func(team string) *slack.Client {
	if store == nil {
		return nil
	}
	var mu sync.Mutex // guards teams only; never held during a lookup
	teams := map[string]*teamClient{}
	return func(team string) *slack.Client {
		mu.Lock()
		tc, ok := teams[team]
		if !ok {
			tc = &teamClient{done: make(chan struct{})}
			teams[team] = tc
		}
		mu.Unlock()
		if ok {
			select {
			case <-tc.done:
			case <-rt.env.Ctx.Done():
				return nil
			}
			return tc.client
		}
		tc.client = rt.lookupClient(store, team)
		if tc.client == nil {
			mu.Lock()
			delete(teams, team) // the waiters get nil; the next call looks up again
			mu.Unlock()
		}
		close(tc.done)
		return tc.client
	}
}

// teamClient is one team's client, or the lookup in flight for it (done not yet closed).
type teamClient struct {
	done   chan struct{}
	client *slack.Client // set before done is closed; nil if the lookup failed
}

// lookupClient asks store for team's token and builds its client; nil if that failed or panicked.
func (rt *Runtime) lookupClient(store InstallationStore, team string) (c *slack.Client) {
	log := rt.log.WithField("team", team)
	defer func() {
		if r := recover(); r != nil {
			rt.storePanics.n.Add(1)
			log.WithField("panic", redact.Value(r)).Error("installation store panicked, no web api client for team")
			c = nil
		}
	}()
	tok, err := store.BotToken(rt.env.Ctx, team)
	if err != nil {
		log.WithError(redact.Error(err)).Warn("no web api client for team")
		return nil
	}
	return slack.New(tok, slack.OptionAPIURL(rt.cfg.apiURL), slack.OptionHTTPClient(rt.cfg.http))
}
