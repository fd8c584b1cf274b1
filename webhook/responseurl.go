package webhook

import (
	"context"
	"sync"
	"time"

	"github.com/switchboard-go/switchboard/internal/redact"
)

// Slack's response_url limits.
const (
	ResponseURLUses   = 5                // posts Slack accepts per response_url
	ResponseURLWindow = 30 * time.Minute // how long after the interaction it accepts them
)

// Reply posts msg to an interaction's response_url (from a slash command, a block action, a
// shortcut or a view submission). Slack shows it only to the user unless msg.ResponseType is
// InChannel. The Client counts the posts to each response_url and refuses a sixth, or one made more
// than 30 minutes after the first, with ErrResponseURLUsedUp or ErrResponseURLExpired before any
// network call; once Slack answered expired_url, later calls fail with ErrResponseURLUsedUp
// without a post. It answers like Send.
func (c *Client) Reply(ctx context.Context, responseURL string, msg Message) (*Response, error) {
	body, err := msg.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return c.post(ctx, responseURL, body, msg.Header, true)
}

// Remaining returns how many more posts the Client will make to responseURL (5 for one it has
// not used).
func (c *Client) Remaining(responseURL string) int { return c.uses.remaining(responseURL) }

// Responder answers one interaction through its response_url. The zero value is not usable; get
// one from Client.Responder. It is a small value, safe to copy and to use concurrently.
type Responder struct {
	c   *Client
	url string
}

// Responder returns a Responder for responseURL.
func (c *Client) Responder(responseURL string) Responder { return Responder{c: c, url: responseURL} }

// Reply posts msg as a new response (ephemeral unless msg.ResponseType is InChannel).
func (r Responder) Reply(ctx context.Context, msg Message) (*Response, error) {
	return r.c.Reply(ctx, r.url, msg)
}

// Replace replaces the message the interaction came from with msg.
func (r Responder) Replace(ctx context.Context, msg Message) (*Response, error) {
	msg.ReplaceOriginal = Bool(true)
	return r.c.Reply(ctx, r.url, msg)
}

// Delete deletes the message the interaction came from.
func (r Responder) Delete(ctx context.Context) (*Response, error) {
	return r.c.Reply(ctx, r.url, Message{DeleteOriginal: true})
}

// Remaining returns how many more posts the response_url accepts.
func (r Responder) Remaining() int { return r.c.Remaining(r.url) }

// String returns the response_url's host only, so a Responder can be logged.
func (r Responder) String() string { return "responder " + redact.URL(r.url) }

// useTracker counts posts per response_url.
type useTracker struct {
	mu        sync.Mutex
	now       func() time.Time
	uses      map[string]*urlUses
	lastPrune time.Time
}

type urlUses struct {
	first time.Time // when the first post was reserved
	n     int       // posts reserved and not released
}

func newUseTracker(now func() time.Time) *useTracker {
	return &useTracker{now: now, uses: map[string]*urlUses{}}
}

// reserve counts one post to key, or refuses it.
func (t *useTracker) reserve(key string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.prune(now)
	u, ok := t.uses[key]
	if !ok {
		t.uses[key] = &urlUses{first: now, n: 1}
		return nil
	}
	if u.n >= ResponseURLUses {
		return ErrResponseURLUsedUp
	}
	if now.Sub(u.first) > ResponseURLWindow {
		return ErrResponseURLExpired
	}
	u.n++
	return nil
}

// release gives back a reserved post that never reached Slack.
func (t *useTracker) release(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if u, ok := t.uses[key]; ok && u.n > 0 {
		u.n--
	}
}

// exhaust marks key used up, after Slack answered expired_url.
func (t *useTracker) exhaust(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if u, ok := t.uses[key]; ok {
		u.n = ResponseURLUses
	}
}

func (t *useTracker) remaining(key string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	u, ok := t.uses[key]
	if !ok {
		return ResponseURLUses
	}
	if t.now().Sub(u.first) > ResponseURLWindow {
		return 0
	}
	return ResponseURLUses - u.n
}

// prune forgets URLs past twice the window (Slack refuses them anyway), at most once a minute.
func (t *useTracker) prune(now time.Time) {
	if now.Sub(t.lastPrune) < time.Minute {
		return
	}
	t.lastPrune = now
	for k, u := range t.uses {
		if now.Sub(u.first) > 2*ResponseURLWindow {
			delete(t.uses, k)
		}
	}
}
