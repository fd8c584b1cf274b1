package installstore

import (
	"errors"
	"strings"
	"time"
)

// workspaceRow is the stored form of an installation's workspace (or organization) and bot, as
// every backend keeps it: tokens sealed, times in Unix nanoseconds (0: none).
type workspaceRow struct {
	EnterpriseID, TeamID            string
	AppID, EnterpriseName, TeamName string
	IsEnterpriseInstall             bool
	BotToken, BotRefreshToken       string
	BotTokenExpiresAt               int64
	BotScopes, BotID, BotUserID     string
	InstallerUserID                 string
	InstalledAt                     int64
}

// userRow is the stored form of one installing user's tokens.
type userRow struct {
	EnterpriseID, TeamID, UserID string
	UserToken, UserRefreshToken  string
	UserTokenExpiresAt           int64
	UserScopes                   string
	InstalledAt                  int64
}

func (w *workspaceRow) key() Key { return Key{EnterpriseID: w.EnterpriseID, TeamID: w.TeamID} }
func (u *userRow) key() Key {
	return Key{EnterpriseID: u.EnterpriseID, TeamID: u.TeamID, UserID: u.UserID}
}

// merge applies Save's rule to a stored row: without a new bot token the stored bot stays, and
// without a new installer the stored one stays.
func (w *workspaceRow) merge(old workspaceRow) {
	if w.BotToken == "" {
		w.BotToken, w.BotRefreshToken, w.BotTokenExpiresAt = old.BotToken, old.BotRefreshToken, old.BotTokenExpiresAt
		w.BotScopes, w.BotID, w.BotUserID = old.BotScopes, old.BotID, old.BotUserID
	}
	if w.InstallerUserID == "" {
		w.InstallerUserID = old.InstallerUserID
	}
}

// rows turns an installation into what is stored: its workspace row and, when it carries a user
// token, its user row (nil otherwise).
func (c *config) rows(inst Installation) (workspaceRow, *userRow, error) {
	k := inst.Key()
	if k.TeamID == "" && (k.EnterpriseID == "" || !inst.IsEnterpriseInstall) {
		return workspaceRow{}, nil, errors.New("installstore: an installation needs a TeamID, or an EnterpriseID and IsEnterpriseInstall")
	}
	installed := inst.InstalledAt
	if installed.IsZero() {
		installed = c.now()
	}
	w := workspaceRow{
		EnterpriseID: k.EnterpriseID, TeamID: k.TeamID,
		AppID: inst.AppID, EnterpriseName: inst.EnterpriseName, TeamName: inst.TeamName,
		IsEnterpriseInstall: inst.IsEnterpriseInstall,
		BotTokenExpiresAt:   unixNano(inst.BotTokenExpiresAt),
		BotScopes:           joinScopes(inst.BotScopes), BotID: inst.BotID, BotUserID: inst.BotUserID,
		InstallerUserID: inst.UserID,
		InstalledAt:     unixNano(installed),
	}
	var err error
	if w.BotToken, err = c.seal(inst.BotToken, "bot_token", w.key()); err != nil {
		return w, nil, err
	}
	if w.BotRefreshToken, err = c.seal(inst.BotRefreshToken, "bot_refresh_token", w.key()); err != nil {
		return w, nil, err
	}
	if inst.UserID == "" || inst.UserToken == "" {
		return w, nil, nil
	}
	u := &userRow{
		EnterpriseID: k.EnterpriseID, TeamID: k.TeamID, UserID: k.UserID,
		UserTokenExpiresAt: unixNano(inst.UserTokenExpiresAt),
		UserScopes:         joinScopes(inst.UserScopes),
		InstalledAt:        unixNano(installed),
	}
	if u.UserToken, err = c.seal(inst.UserToken, "user_token", u.key()); err != nil {
		return w, nil, err
	}
	if u.UserRefreshToken, err = c.seal(inst.UserRefreshToken, "user_refresh_token", u.key()); err != nil {
		return w, nil, err
	}
	return w, u, nil
}

// installation reads rows back; withBot false leaves the bot's tokens out (Expiring's user
// entries), u nil leaves the user's tokens out but keeps the installer's ID.
func (c *config) installation(w workspaceRow, u *userRow, withBot bool) (Installation, error) {
	inst := Installation{
		AppID:        w.AppID,
		EnterpriseID: w.EnterpriseID, EnterpriseName: w.EnterpriseName,
		TeamID: w.TeamID, TeamName: w.TeamName,
		IsEnterpriseInstall: w.IsEnterpriseInstall,
		BotScopes:           splitScopes(w.BotScopes), BotID: w.BotID, BotUserID: w.BotUserID,
		UserID:      w.InstallerUserID,
		InstalledAt: fromUnixNano(w.InstalledAt),
	}
	var err error
	if withBot {
		inst.BotTokenExpiresAt = fromUnixNano(w.BotTokenExpiresAt)
		if inst.BotToken, err = c.open(w.BotToken, "bot_token", w.key()); err != nil {
			return Installation{}, err
		}
		if inst.BotRefreshToken, err = c.open(w.BotRefreshToken, "bot_refresh_token", w.key()); err != nil {
			return Installation{}, err
		}
	}
	if u == nil {
		return inst, nil
	}
	inst.UserID = u.UserID
	inst.UserTokenExpiresAt = fromUnixNano(u.UserTokenExpiresAt)
	inst.UserScopes = splitScopes(u.UserScopes)
	inst.InstalledAt = fromUnixNano(u.InstalledAt) // when this user installed
	if inst.UserToken, err = c.open(u.UserToken, "user_token", u.key()); err != nil {
		return Installation{}, err
	}
	if inst.UserRefreshToken, err = c.open(u.UserRefreshToken, "user_refresh_token", u.key()); err != nil {
		return Installation{}, err
	}
	return inst, nil
}

func joinScopes(s []string) string { return strings.Join(s, ",") }

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
