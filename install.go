package switchboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/switchboard-go/switchboard/installstore"
)

// InstallationsChanged tells the runtime that team's installation changed in an app's
// InstallationStore (installed, its token refreshed or revoked, uninstalled): every cached Web API
// client of team is dropped, and the next Event.Client asks the store again. team "" drops every
// team's. Call it after the store has the change (oauth.Installer's OnInstalled and
// oauth.Refresher's OnRefreshed are the places); the runtime calls it itself for the uninstalls
// it handles. A lookup already in flight still answers the callers waiting for it.
func (rt *Runtime) InstallationsChanged(team string) {
	rt.mu.Lock()
	forgets := rt.forgets
	rt.mu.Unlock()
	for _, f := range forgets {
		f(team)
	}
}

// uninstallSub names the subscription that handles an app's uninstalls.
func uninstallSub(app string) string { return "switchboard/uninstall/" + app }

// watchUninstalls subscribes, for an app whose InstallationStore is an installstore.Store, a
// handler of app_uninstalled and tokens_revoked that deletes from the store what they name.
func (rt *Runtime) watchUninstalls(app App) error {
	store, ok := app.Installations.(installstore.Store)
	if !ok {
		return nil
	}
	h := func(ctx context.Context, ev *Event) error {
		if ev.Link.App != app.ID {
			return nil // another app's event: its own subscription handles it
		}
		return rt.uninstall(ctx, store, ev)
	}
	err := rt.Handle(Filter{Kinds: []Kind{KindEventsAPI}, Types: []string{"app_uninstalled", "tokens_revoked"}}, h, Named(uninstallSub(app.ID)))
	if errors.Is(err, ErrSubscriptionExists) {
		return nil
	}
	return err
}

// uninstall deletes what an app_uninstalled or tokens_revoked event names: the installation (a
// bot token revoked ends it too), or the revoked users' tokens.
func (rt *Runtime) uninstall(ctx context.Context, store installstore.Store, ev *Event) error {
	var cb struct {
		TeamID         string `json:"team_id"`
		EnterpriseID   string `json:"enterprise_id"`
		Authorizations []struct {
			EnterpriseID        string `json:"enterprise_id"`
			TeamID              string `json:"team_id"`
			IsEnterpriseInstall bool   `json:"is_enterprise_install"`
		} `json:"authorizations"`
		Event struct {
			Type   string `json:"type"`
			Tokens struct {
				OAuth []string `json:"oauth"`
				Bot   []string `json:"bot"`
			} `json:"tokens"`
		} `json:"event"`
	}
	if err := json.Unmarshal(ev.Raw, &cb); err != nil {
		return fmt.Errorf("switchboard: uninstall: %w", err)
	}
	key := installstore.Key{EnterpriseID: cb.EnterpriseID, TeamID: cb.TeamID}
	if len(cb.Authorizations) > 0 && cb.Authorizations[0].IsEnterpriseInstall {
		key = installstore.Key{EnterpriseID: cb.Authorizations[0].EnterpriseID}
	}
	var keys []installstore.Key
	if cb.Event.Type == "app_uninstalled" || len(cb.Event.Tokens.Bot) > 0 {
		keys = append(keys, key)
	} else {
		for _, u := range cb.Event.Tokens.OAuth {
			k := key
			k.UserID = u
			keys = append(keys, k)
		}
	}
	var errs []error
	for _, k := range keys {
		if err := store.Delete(ctx, k); err != nil {
			errs = append(errs, err)
		}
	}
	rt.InstallationsChanged(cb.TeamID)
	rt.log.WithField("team", cb.TeamID).WithField("app", ev.Link.App).WithField("type", cb.Event.Type).Info("uninstall: deleted from the installation store")
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("switchboard: uninstall from the installation store: %w", err)
	}
	return nil
}
