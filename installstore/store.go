package installstore

import (
	"context"
	"errors"
	"time"
)

// Store keeps installations. Every method may be called from several goroutines at once.
type Store interface {
	// Save adds the installation or replaces the one stored under its Key. Without a BotToken the
	// stored bot (token, refresh token, expiry, scopes, IDs) is kept; the user's tokens are saved
	// only when UserID and UserToken are set. A zero InstalledAt means now.
	Save(ctx context.Context, inst Installation) error
	// Find returns the installation of the key's workspace, or of its organization when that was
	// installed org-wide. Without a UserID it carries the tokens of the user who installed last
	// (when they had any); with one, that user's tokens, and ErrNotFound if they have none.
	Find(ctx context.Context, key Key) (Installation, error)
	// Delete removes the installation stored under exactly the key (no org-wide fallback) and every
	// user's tokens in it, or, with a UserID, that user's tokens alone. Deleting nothing is no error.
	Delete(ctx context.Context, key Key) error
	// Expiring lists the tokens with a refresh token that expire before the given time, soonest
	// first, one Installation per token: a bot token comes with its workspace and no user token, a
	// user token with its workspace and no bot token, so that saving one after refreshing it (with
	// grant_type=refresh_token) changes that token alone.
	Expiring(ctx context.Context, before time.Time) ([]Installation, error)
	// BotToken returns the bot token of the workspace team, for switchboard.App's Installations.
	// An org-wide installation is found by Find with its EnterpriseID, not here.
	BotToken(ctx context.Context, team string) (string, error)
	// Close releases the store; it is safe to call twice.
	Close() error
}

// StateStore keeps the OAuth state parameters of installs under way, each usable once.
type StateStore interface {
	// Issue returns a new random state that Consume accepts once within ttl (zero: 10 minutes).
	Issue(ctx context.Context, ttl time.Duration) (string, error)
	// Consume accepts a state once: it fails with ErrStateUnknown for a state never issued or
	// already consumed, and with ErrStateExpired after its ttl.
	Consume(ctx context.Context, state string) error
}

// DefaultStateTTL is how long an issued state lasts when Issue's ttl is zero.
const DefaultStateTTL = 10 * time.Minute

// Errors, for errors.Is.
var (
	// ErrNotFound: no installation (or no such user's tokens, or no bot token) under the key.
	ErrNotFound = errors.New("installstore: installation not found")
	// ErrStateUnknown: an OAuth state never issued, or consumed already.
	ErrStateUnknown = errors.New("installstore: unknown or used oauth state")
	// ErrStateExpired: an OAuth state consumed after its ttl.
	ErrStateExpired = errors.New("installstore: oauth state expired")
	// ErrDecrypt: a sealed token that the store's key does not open (another key, none, or a
	// damaged value).
	ErrDecrypt = errors.New("installstore: cannot decrypt token")
)
