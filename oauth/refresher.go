package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/slack-go/slack"

	"github.com/switchboard-go/switchboard/installstore"
)

// Refresher keeps rotating tokens fresh: every Every it lists the store's tokens that expire
// within Ahead (installstore's Expiring) and refreshes each with oauth.v2.access,
// grant_type=refresh_token, saving the new token and refresh token (each refresh token works
// once). ClientID, ClientSecret and Store are required.
type Refresher struct {
	ClientID, ClientSecret string
	Store                  installstore.Store
	// Ahead is how long before its expiry a token is refreshed. Default 1 hour (Slack's tokens
	// live 12 hours).
	Ahead time.Duration
	// Every is how often the store is checked. Default 1 minute.
	Every time.Duration
	// APIURL is the Web API base (DefaultAPIURL).
	APIURL     string
	HTTPClient *http.Client
	// OnRefreshed is called once a refreshed token is saved: wire it to the runtime's
	// InstallationsChanged(inst.TeamID).
	OnRefreshed func(ctx context.Context, inst installstore.Installation)
	// Log logs refreshes and failures (never tokens). Default: none.
	Log *logrus.Logger
}

// Run refreshes until ctx ends, then returns nil; a round that fails is logged and the next one tries again. It runs on the caller's goroutine and starts none that outlive it.
func (r *Refresher) Run(ctx context.Context) error {
	if r.ClientID == "" || r.ClientSecret == "" || r.Store == nil {
		return errors.New("oauth: refresher needs ClientID, ClientSecret and Store")
	}
	every := r.Every
	if every <= 0 {
		every = time.Minute
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if _, err := r.RefreshDue(ctx); err != nil && ctx.Err() == nil {
			loggerOr(r.Log).WithError(err).Warn("oauth: token refresh failed, retrying at the next round")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// RefreshDue refreshes, once, every token that expires within Ahead, and returns how many it
// refreshed; the error joins those of the tokens it could not refresh.
func (r *Refresher) RefreshDue(ctx context.Context) (int, error) {
	ahead := r.Ahead
	if ahead <= 0 {
		ahead = time.Hour
	}
	due, err := r.Store.Expiring(ctx, time.Now().Add(ahead))
	if err != nil {
		return 0, fmt.Errorf("oauth: list expiring tokens: %w", err)
	}
	n := 0
	var errs []error
	for _, inst := range due {
		if ctx.Err() != nil {
			break
		}
		if err := r.Refresh(ctx, inst); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// Refresh refreshes the one token of inst (as Expiring lists it: a bot token, or a user token
// without the bot's) and saves the new pair.
func (r *Refresher) Refresh(ctx context.Context, inst installstore.Installation) error {
	user := inst.BotToken == "" && inst.UserToken != ""
	refresh := inst.BotRefreshToken
	if user {
		refresh = inst.UserRefreshToken
	}
	log := loggerOr(r.Log).WithFields(logrus.Fields{"team": inst.TeamID, "enterprise": inst.EnterpriseID, "user_token": user})
	if refresh == "" {
		return fmt.Errorf("oauth: team %s: no refresh token", inst.TeamID)
	}
	resp, err := slack.RefreshOAuthV2TokenContext(ctx, httpClient(r.HTTPClient), r.ClientID, r.ClientSecret, refresh, slack.OAuthOptionAPIURL(orDefault(r.APIURL, DefaultAPIURL)))
	if err != nil {
		return fmt.Errorf("oauth: refresh a token of team %s: %w", inst.TeamID, err)
	}
	now := time.Now()
	var expires time.Time
	if resp.ExpiresIn > 0 {
		expires = now.Add(time.Duration(resp.ExpiresIn) * time.Second)
	}
	if user {
		inst.UserToken, inst.UserRefreshToken, inst.UserTokenExpiresAt = resp.AccessToken, resp.RefreshToken, expires
	} else {
		inst.BotToken, inst.BotRefreshToken, inst.BotTokenExpiresAt = resp.AccessToken, resp.RefreshToken, expires
	}
	if err := r.Store.Save(ctx, inst); err != nil {
		// The old refresh token is spent: the new one is lost unless the store takes it.
		return fmt.Errorf("oauth: save the refreshed token of team %s (its refresh token is lost; reinstall if it expires): %w", inst.TeamID, err)
	}
	log.WithField("expires", expires.Format(time.RFC3339)).Info("oauth: token refreshed")
	if r.OnRefreshed != nil {
		r.OnRefreshed(ctx, inst)
	}
	return nil
}
