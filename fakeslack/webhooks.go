package fakeslack

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-go/switchboard/internal/redact"
)

// This file serves incoming webhooks (POST /services/{team}/{bot}/{secret}) and response_url
// endpoints (POST /commands|actions|app/{team}/{n}/{secret}), SLACK_PROTOCOL.md §6. Success is
// 200 with the text body "ok"; a refusal is Slack's status with its code as a text/html body. A
// webhook belongs to its workspace's granular bot: while Workspace.BotToken is revoked or
// deactivated, it answers 403 invalid_token. The Go controls and admin routes are in
// webhooks_admin.go.

// WebhookOptions configures incoming webhooks and response_url endpoints. Zero fields take the
// defaults named on each field.
type WebhookOptions struct {
	// Rate is how many posts a second each webhook or response_url accepts in the long run (Slack:
	// 1). Default 1; negative means unlimited.
	Rate float64
	// Burst is how many posts each URL accepts at once before Rate applies. Default 5.
	Burst int
	// ResponseURLUses is how many accepted posts a response_url takes. Default 5.
	ResponseURLUses int
	// ResponseURLTTL is how long after it was issued a response_url accepts posts. Default 30 min.
	ResponseURLTTL time.Duration
	// ExpiredStatus and ExpiredBody answer a post to a used-up or expired response_url. Slack's
	// real answer is not documented. Defaults 404 and "expired_url".
	ExpiredStatus int
	ExpiredBody   string
	// NoTextBody answers a message with no text, blocks or attachments (status 400). Default
	// "no_text"; newer Slack answers "missing_text_or_fallback_or_attachments".
	NoTextBody string
}

func (o WebhookOptions) withDefaults() WebhookOptions {
	if o.Rate == 0 {
		o.Rate = 1
	}
	if o.Burst <= 0 {
		o.Burst = 5
	}
	if o.ResponseURLUses <= 0 {
		o.ResponseURLUses = 5
	}
	if o.ResponseURLTTL <= 0 {
		o.ResponseURLTTL = 30 * time.Minute
	}
	if o.ExpiredStatus == 0 {
		o.ExpiredStatus = http.StatusNotFound
	}
	if o.ExpiredBody == "" {
		o.ExpiredBody = "expired_url"
	}
	if o.NoTextBody == "" {
		o.NoTextBody = "no_text"
	}
	return o
}

// maxAttachments is Slack's attachment limit per message.
const maxAttachments = 100

// maxPostsKept is how many posts WebhookPosts keeps per URL (oldest dropped first).
const maxPostsKept = 10000

// hookServer serves incoming webhooks and response_url endpoints. Its maps are guarded by mu; it
// takes world.mu only after releasing mu, never while holding it.
type hookServer struct {
	s       *Server
	opts    WebhookOptions
	limiter *rateLimiter

	mu        sync.Mutex
	responses map[string]*responseURL // by path "/commands/T…/n/secret"
	n         int
	faults    map[string][]hookFault      // by path: the next posts' answers
	posts     map[string][]WebhookPost    // by path, oldest first
	seq       uint64                      // numbers posts across all URLs
	originals map[string]responseOriginal // by response_url path: its last response
}

// responseURL is one response_url handed out in a slash command or interaction payload.
type responseURL struct {
	Kind    string // "commands", "actions" or "app"
	Team    string
	Channel string
	Created time.Time
	Uses    int // accepted posts, plus posts being handled
}

// responseOriginal is the last response a response_url produced: the message that
// replace_original and delete_original act on.
type responseOriginal struct {
	channel   string
	ts        string // "" for an ephemeral response (not in the history)
	ephemeral bool
}

// hookFault is an injected answer for one post.
type hookFault struct {
	status int
	body   string
}

func newHookServer(s *Server) *hookServer {
	h := &hookServer{
		s:         s,
		opts:      s.opts.Webhooks,
		limiter:   newRateLimiter(),
		responses: map[string]*responseURL{},
		faults:    map[string][]hookFault{},
		posts:     map[string][]WebhookPost{},
		originals: map[string]responseOriginal{},
	}
	for _, prefix := range []string{"/services/", "/commands/", "/actions/", "/app/"} {
		s.mux.HandleFunc("POST "+prefix, h.serve)
	}
	h.routeAdmin()
	return h
}

// newResponseURL registers and returns a response_url for a payload of kind "commands" (slash
// commands), "actions" (block_actions) or "app" (shortcuts, views), posting into channel of team.
func (h *hookServer) newResponseURL(kind, team, channel string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n++
	path := fmt.Sprintf("/%s/%s/%d/%s", kind, team, 100000+h.n, randomHex(12))
	h.responses[path] = &responseURL{Kind: kind, Team: team, Channel: channel, Created: time.Now()}
	return h.s.base + path
}

func (h *hookServer) close() {}

// hookAnswer is the answer to one post.
type hookAnswer struct {
	status     int
	body       string
	retryAfter int // seconds, for a 429
	post       WebhookPost
}

func refuse(status int, body string) hookAnswer { return hookAnswer{status: status, body: body} }

// serve answers one post to a webhook or response_url, records it and counts it.
func (h *hookServer) serve(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	kind := "webhook"
	if !strings.HasPrefix(r.URL.Path, "/services/") {
		kind = "response_url"
	}
	var ans hookAnswer
	if err != nil {
		ans = refuse(http.StatusBadRequest, "invalid_payload")
	} else {
		ans = h.handle(kind, r.URL.Path, r.Header.Get("Content-Type"), raw)
	}
	h.s.counters.webhookPosts.Add(1)
	team := pathTeam(r.URL.Path)
	h.s.transcript.add(Entry{Kind: KindWebhook, Team: team, Method: kind,
		Status: strconv.Itoa(ans.status) + " " + answerCode(ans), Data: raw})
	h.record(r, kind, raw, ans)
	h.s.log.WithFields(logrus.Fields{"url": redact.String(r.URL.Path), "status": ans.status, "kind": kind}).
		Debug("webhook post answered")

	if ans.status == http.StatusTooManyRequests {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Retry-After", strconv.Itoa(ans.retryAfter))
	} else {
		w.Header().Set("Content-Type", "text/html")
	}
	w.WriteHeader(ans.status)
	_, _ = io.WriteString(w, ans.body)
}

// answerCode is the code a transcript entry shows for an answer.
func answerCode(a hookAnswer) string {
	if a.status == http.StatusTooManyRequests {
		return "rate_limited"
	}
	return a.body
}

// pathTeam returns the team ID in a webhook or response_url path, or "".
func pathTeam(path string) string {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(parts) >= 2 && strings.HasPrefix(parts[1], "T") {
		return parts[1]
	}
	return ""
}

// handle decides the answer to a post to path; kind is "webhook" or "response_url".
func (h *hookServer) handle(kind, path, contentType string, raw []byte) hookAnswer {
	// Which URL is it?
	var hook Webhook
	var resp *responseURL
	if kind == "webhook" {
		h.s.world.mu.Lock()
		hk, ok := h.s.world.hooks[path]
		h.s.world.mu.Unlock()
		if !ok {
			return refuse(http.StatusNotFound, "no_service")
		}
		hook = hk
	} else {
		h.mu.Lock()
		resp = h.responses[path]
		h.mu.Unlock()
		if resp == nil {
			return refuse(http.StatusNotFound, "no_service")
		}
	}

	// Injected faults come first and cost nothing.
	if f, ok := h.takeFault(path); ok {
		a := refuse(f.status, f.body)
		if f.status == http.StatusTooManyRequests {
			a.retryAfter = 1
		}
		return a
	}
	// A webhook belongs to its workspace's (granular) bot: revoking or deactivating that token
	// disables it.
	if resp == nil && !h.botActive(pathTeam(path)) {
		return refuse(http.StatusForbidden, "invalid_token")
	}
	// A used-up or expired response_url is refused before the rate limit; a use is reserved
	// here and given back unless the post is accepted.
	if resp != nil && !h.reserveUse(resp) {
		return refuse(h.opts.ExpiredStatus, h.opts.ExpiredBody)
	}
	ans := h.limit(path)
	if ans.status == 0 {
		team, channel, botID := pathTeam(path), hook.Channel, ""
		if resp != nil {
			team, channel = resp.Team, resp.Channel
		} else if parts := strings.Split(path, "/"); len(parts) >= 4 {
			botID = parts[3]
		}
		ans = h.accept(kind, path, team, channel, botID, contentType, raw)
	}
	if resp != nil && ans.status != http.StatusOK {
		h.releaseUse(resp)
	}
	return ans
}

// limit spends one post of path's allowance; it returns a 429 answer when none is left, or the
// zero answer.
func (h *hookServer) limit(path string) hookAnswer {
	if h.opts.Rate < 0 {
		return hookAnswer{}
	}
	lim := Limit{PerMinute: h.opts.Rate * 60, Burst: h.opts.Burst}
	wait := h.limiter.take(path, lim, time.Now())
	if wait <= 0 {
		return hookAnswer{}
	}
	secs := max(1, int(math.Ceil(wait.Seconds())))
	return hookAnswer{status: http.StatusTooManyRequests, retryAfter: secs,
		body: fmt.Sprintf(`{"retry_after":%d,"ok":false,"error":"rate_limited"}`, secs)}
}

// botActive reports whether team's bot token is neither revoked nor deactivated.
func (h *hookServer) botActive(team string) bool {
	w := h.s.world
	w.mu.Lock()
	defer w.mu.Unlock()
	ws := w.byTeam[team]
	if ws == nil {
		return false
	}
	t := w.tokens[ws.BotToken]
	return t != nil && !t.revoked && !t.inactive
}

// reserveUse counts one use of a response_url, or reports that it is used up or expired.
func (h *hookServer) reserveUse(r *responseURL) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Uses >= h.opts.ResponseURLUses || time.Since(r.Created) > h.opts.ResponseURLTTL {
		return false
	}
	r.Uses++
	return true
}

func (h *hookServer) releaseUse(r *responseURL) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r.Uses--
}

func (h *hookServer) takeFault(path string) (hookFault, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	q := h.faults[path]
	if len(q) == 0 {
		return hookFault{}, false
	}
	if len(q) == 1 {
		delete(h.faults, path)
	} else {
		h.faults[path] = q[1:]
	}
	return q[0], true
}

// accept validates a post to a live URL and applies it to the world.
func (h *hookServer) accept(kind, path, team, channel, botID, contentType string, raw []byte) hookAnswer {
	b, ok := decodeHookBody(contentType, raw)
	nBlocks, okBlocks := jsonArrayLen(b.Blocks)
	nAttach, okAttach := jsonArrayLen(b.Attachments)
	thread, okThread := threadTS(b.ThreadTS)
	if !ok || !okBlocks || !okAttach || !okThread {
		return refuse(http.StatusBadRequest, "invalid_payload")
	}
	if kind == "webhook" {
		b.ReplaceOriginal, b.DeleteOriginal, b.ResponseType = false, false, "in_channel"
	}
	if nAttach > maxAttachments {
		return refuse(http.StatusBadRequest, "too_many_attachments")
	}
	text := ""
	if b.Text != nil {
		text = *b.Text
	}
	hasMessage := text != "" || nBlocks > 0 || nAttach > 0
	if !hasMessage && !bool(b.DeleteOriginal) {
		return refuse(http.StatusBadRequest, h.opts.NoTextBody)
	}
	ephemeral := b.ResponseType != "in_channel"

	// The channel must exist and be open when the post would show in it.
	if channel != "" || !ephemeral {
		h.s.world.mu.Lock()
		ch, found := h.s.world.channel(team, channel)
		archived := found && ch.Archived
		h.s.world.mu.Unlock()
		switch {
		case !found:
			return refuse(http.StatusNotFound, "channel_not_found")
		case archived:
			return refuse(http.StatusGone, "channel_is_archived")
		}
	}

	ans := hookAnswer{status: http.StatusOK, body: "ok", post: WebhookPost{Channel: channel}}
	via := kind
	msg := Message{Channel: channel, ThreadTS: thread, Text: text, Raw: raw, Via: via, BotID: botID}
	if kind == "response_url" {
		msg.BotID, msg.User = h.teamBot(team)
	}
	if kind == "webhook" {
		ans.post.Action, ans.post.TS = "posted", h.s.world.post(msg).TS
		return ans
	}

	h.mu.Lock()
	orig, hasOrig := h.originals[path]
	h.mu.Unlock()
	switch {
	case bool(b.DeleteOriginal):
		ans.post.Deleted = true
		if hasOrig && orig.ts != "" {
			h.removeMessage(orig.channel, orig.ts)
			ans.post.DeletedTS = orig.ts
		}
		hasOrig = false
		if !hasMessage {
			ans.post.Action = "deleted"
			h.setOriginal(path, responseOriginal{})
			return ans
		}
	case bool(b.ReplaceOriginal):
		ans.post.Action = "replaced"
		if hasOrig && orig.ts != "" && h.replaceMessage(orig.channel, orig.ts, msg) {
			ans.post.TS = orig.ts
		}
		ans.post.Ephemeral = !hasOrig || orig.ephemeral
		return ans
	}
	if ephemeral {
		ans.post.Action, ans.post.Ephemeral = "ephemeral", true
		h.setOriginal(path, responseOriginal{channel: channel, ephemeral: true})
		return ans
	}
	ans.post.Action, ans.post.TS = "posted", h.s.world.post(msg).TS
	h.setOriginal(path, responseOriginal{channel: channel, ts: ans.post.TS})
	return ans
}

func (h *hookServer) setOriginal(path string, o responseOriginal) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if o == (responseOriginal{}) {
		delete(h.originals, path)
		return
	}
	h.originals[path] = o
}

// teamBot returns the bot ID and bot user ID of team's bot.
func (h *hookServer) teamBot(team string) (botID, user string) {
	h.s.world.mu.Lock()
	defer h.s.world.mu.Unlock()
	if ws := h.s.world.byTeam[team]; ws != nil {
		return ws.BotID, ws.BotUserID
	}
	return "", ""
}

// removeMessage deletes the message ts from channel's history.
func (h *hookServer) removeMessage(channel, ts string) {
	w := h.s.world
	w.mu.Lock()
	defer w.mu.Unlock()
	if r := w.history[channel]; r != nil {
		r.remove(ts)
	}
}

// replaceMessage replaces the text and body of message ts in channel's history, keeping its ts
// and thread; it reports whether the message was there.
func (h *hookServer) replaceMessage(channel, ts string, m Message) bool {
	w := h.s.world
	w.mu.Lock()
	defer w.mu.Unlock()
	old := w.history[channel].find(ts)
	if old == nil {
		return false
	}
	old.Text, old.Raw = m.Text, m.Raw
	return true
}
