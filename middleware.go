package switchboard

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/slack-go/slack"

	"github.com/switchboard-go/switchboard/internal/redact"
)

// Middleware wraps a handler: it may act before and after next, change ctx, or return without
// calling next (the event then goes no further: a short-circuit). An error it returns is the
// handler's, reported to OnError.
type Middleware func(next Handler) Handler

// Use adds global middleware, run for every handler subscription — registered before or after —
// in the order given, before the subscription's own (WithMiddleware), and after the built-in
// that drops the bot's own messages (see IncludeSelf). Each event's chain is built from the
// middleware in place when its handler begins. Middleware does not run for actors (Subscribe)
// or lifecycle funcs.
func (rt *Runtime) Use(mw ...Middleware) error {
	for _, m := range mw {
		if m == nil {
			return errors.New("switchboard: nil middleware")
		}
	}
	rt.app.mu.Lock()
	defer rt.app.mu.Unlock()
	var all []Middleware
	if old := rt.app.mw.Load(); old != nil {
		all = append(all, *old...)
	}
	all = append(all, mw...)
	rt.app.mw.Store(&all)
	return nil
}

// WithMiddleware adds middleware to the subscription alone, run after the global middleware
// (Use), in the order given, then the handler.
func WithMiddleware(mw ...Middleware) SubscribeOption {
	return func(l *listener) error {
		for _, m := range mw {
			if m == nil {
				return errors.New("switchboard: nil middleware")
			}
		}
		l.mw = append(l.mw, mw...)
		return nil
	}
}

// IncludeSelf lets the bot's own messages through to the subscription. By default, as in Bolt,
// every handler subscription drops the message and app_mention events (Events API and RTM) that
// the bot of the event's team posted: an Events API event whose bot_id is the bot's, an RTM
// message whose bot_id or user is, as auth.test answers it for the team's Web API client (asked
// once per client, so a new installation asks again; events without a bot_id ask nothing). An
// event whose team has no client, or whose auth.test failed in the last minute, is let through.
func IncludeSelf() SubscribeOption {
	return func(l *listener) error {
		l.includeSelf = true
		return nil
	}
}

// LogEvents logs every event the chain handles, after it ran: "event handled" at Info with the
// event's fields and the duration, or "event failed" at Warn with the error (which still goes on
// to OnError). l nil means the runtime's logger; another is redacted as the runtime's is.
func LogEvents(l *logrus.Logger) Middleware {
	if l != nil {
		l = redact.Logger(l)
	}
	return func(next Handler) Handler {
		return func(ctx context.Context, ev *Event) error {
			start := time.Now()
			err := next(ctx, ev)
			log := LogFrom(ctx)
			if l != nil {
				log = l.WithFields(eventFields(SubscriptionName(ctx), ev))
			}
			log = log.WithField("duration", time.Since(start).String())
			if err != nil {
				log.WithError(err).Warn("event failed")
			} else {
				log.Info("event handled")
			}
			return err
		}
	}
}

// selfCache keeps the bot's IDs per team, with the client they were asked through.
type selfCache struct {
	mu    sync.Mutex
	teams map[string]selfIDs
}

type selfIDs struct {
	client        *slack.Client
	botID, userID string
	retryAt       time.Time // set when auth.test failed: the IDs are unknown until then
}

// selfRetry is how long the bot's IDs stay unknown after auth.test failed for a team's client
// (its events are let through meanwhile) before it is asked again.
const selfRetry = time.Minute

// ids returns the bot's IDs for the event's team; ok false when they cannot be known.
func (c *selfCache) ids(ctx context.Context, ev *Event) (selfIDs, bool) {
	api, err := ev.Client(ctx)
	if err != nil {
		return selfIDs{}, false
	}
	c.mu.Lock()
	s, ok := c.teams[ev.Team]
	c.mu.Unlock()
	switch {
	case ok && s.client == api && s.retryAt.IsZero():
		return s, true
	case ok && s.client == api && time.Now().Before(s.retryAt):
		return s, false // auth.test failed a moment ago
	}
	known := c.ask(ctx, ev.Team, api, &s)
	return s, known
}

// ask asks auth.test for the bot's IDs through api and keeps the answer, or the failure for
// selfRetry.
func (c *selfCache) ask(ctx context.Context, team string, api *slack.Client, s *selfIDs) bool {
	who, err := api.AuthTestContext(ctx)
	if err != nil {
		*s = selfIDs{client: api, retryAt: time.Now().Add(selfRetry)}
	} else {
		*s = selfIDs{client: api, botID: who.BotID, userID: who.UserID}
	}
	c.mu.Lock()
	if c.teams == nil {
		c.teams = map[string]selfIDs{}
	}
	c.teams[team] = *s
	c.mu.Unlock()
	return err == nil
}

// fromSelf reports whether ev is a message or app_mention event the bot of its team posted.
func (rt *Runtime) fromSelf(ctx context.Context, ev *Event) bool {
	if ev.Kind != KindEventsAPI && ev.Kind != KindRTM || ev.Type != "message" && ev.Type != "app_mention" {
		return false
	}
	hasBot := bytes.Contains(ev.Raw, []byte(`"bot_id"`)) // no decoding for a person's message
	if ev.Kind == KindEventsAPI && !hasBot || ev.Kind == KindRTM && !hasBot && ev.User == "" {
		return false // a person's: an Events API message the bot posted always has a bot_id
	}
	bot, user := "", ev.User
	if hasBot {
		bot = ev.BotID()
	}
	s, ok := rt.app.self.ids(ctx, ev)
	return ok && (bot != "" && bot == s.botID || user != "" && user == s.userID)
}
