package fakeslack

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-go/switchboard/internal/redact"
)

// This file holds the Go controls of webhooks and response_urls and their admin routes
// (registered by newHookServer). Bodies and answers are JSON as in admin.go.
//
//	POST /_admin/webhooks/fail       {"url","count","status","body"}: the next count posts to url fail so → {}
//	GET  /_admin/webhooks/posts?url= posts to url (all URLs when omitted), oldest first → {"posts":[…]}
//	POST /_admin/response-urls       {"kind","team","channel"}: a new response_url (kind default "commands") → {"response_url":"…"}
//	POST /_admin/channels/archive    {"team","channel","archived"}: archive (default) or unarchive → {}
//
// url is a webhook or response_url, whole or as its path. An unknown url, team or channel answers
// 404, a malformed body or a missing field 400.

// WebhookPost is one post to an incoming webhook or response_url and the server's answer.
type WebhookPost struct {
	// Seq orders posts across all URLs (1, 2, …).
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	// Kind is "webhook" or "response_url".
	Kind string `json:"kind"`
	// URL is the URL posted to: a secret, never log it.
	URL string `json:"url"`
	// Status and Answer are the HTTP status and body of the answer ("ok" on success).
	Status int    `json:"status"`
	Answer string `json:"answer"`
	// Body is the request body, verbatim.
	Body string `json:"body"`
	// UserAgent and ContentType are the request's headers of those names.
	UserAgent   string `json:"user_agent,omitempty"`
	ContentType string `json:"content_type,omitempty"`

	// The fields below describe an accepted post (Status 200).

	// Channel is the channel the post went to.
	Channel string `json:"channel,omitempty"`
	// Action is what the post did: "posted" (a new message in the channel's history),
	// "ephemeral" (a response shown only to the user: not in the history), "replaced"
	// (replace_original) or "deleted" (delete_original without a new message).
	Action string `json:"action,omitempty"`
	// TS is the ts of the message posted, or of the message replaced when it was in the history.
	TS string `json:"ts,omitempty"`
	// Ephemeral is set for an ephemeral response, and for a replaced response that was ephemeral
	// (or unknown).
	Ephemeral bool `json:"ephemeral,omitempty"`
	// Deleted reports that delete_original was honoured; DeletedTS is the ts removed from the
	// history, "" when the original was ephemeral or unknown.
	Deleted   bool   `json:"deleted,omitempty"`
	DeletedTS string `json:"deleted_ts,omitempty"`
}

// record keeps a post for WebhookPosts.
func (h *hookServer) record(r *http.Request, kind string, raw []byte, a hookAnswer) {
	path := r.URL.Path
	p := a.post
	p.Time, p.Kind, p.URL, p.Status, p.Answer, p.Body = time.Now(), kind, h.s.base+path, a.status, a.body, string(raw)
	p.UserAgent, p.ContentType = r.Header.Get("User-Agent"), r.Header.Get("Content-Type")
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	p.Seq = h.seq
	q := append(h.posts[path], p)
	if len(q) > maxPostsKept {
		q = q[len(q)-maxPostsKept:]
	}
	h.posts[path] = q
}

// hookPath returns the path of a webhook or response_url given whole or as its path.
func hookPath(urlOrPath string) string {
	if strings.Contains(urlOrPath, "://") {
		if u, err := url.Parse(urlOrPath); err == nil {
			return u.Path
		}
	}
	if !strings.HasPrefix(urlOrPath, "/") {
		return "/" + urlOrPath
	}
	return urlOrPath
}

// known reports whether path is an incoming webhook or a response_url of this server.
func (h *hookServer) known(path string) bool {
	h.mu.Lock()
	_, ok := h.responses[path]
	h.mu.Unlock()
	if ok {
		return true
	}
	h.s.world.mu.Lock()
	defer h.s.world.mu.Unlock()
	_, ok = h.s.world.hooks[path]
	return ok
}

// WebhookPosts returns the posts made to a webhook or response_url (given whole or as its path),
// oldest first, whatever their answer; with "" it returns the posts to every URL, in Seq order. The
// last 10000 posts of each URL are kept.
func (s *Server) WebhookPosts(urlOrPath string) []WebhookPost {
	h := s.hooks
	h.mu.Lock()
	defer h.mu.Unlock()
	if urlOrPath != "" {
		return append([]WebhookPost(nil), h.posts[hookPath(urlOrPath)]...)
	}
	var out []WebhookPost
	for _, q := range h.posts {
		out = append(out, q...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}

// defaultFaultBody is the body Slack sends with each status (§6.2).
var defaultFaultBody = map[int]string{
	http.StatusBadRequest:          "invalid_payload",
	http.StatusForbidden:           "action_prohibited",
	http.StatusNotFound:            "channel_not_found",
	http.StatusGone:                "channel_is_archived",
	http.StatusTooManyRequests:     `{"retry_after":1,"ok":false,"error":"rate_limited"}`,
	http.StatusInternalServerError: "rollup_error",
}

// FailWebhook makes the next n posts to a webhook or response_url (given whole or as its path)
// fail with status and body, before any other check, queued after the failures already injected
// there. A zero status means 500; an empty body means Slack's usual body for status
// (400 invalid_payload, 403 action_prohibited, 404 channel_not_found, 410 channel_is_archived,
// 429 a rate_limited JSON body with Retry-After 1, 500 rollup_error). n <= 0 clears the injected
// failures. It reports whether the URL is known.
func (s *Server) FailWebhook(urlOrPath string, n int, status int, body string) bool {
	h, path := s.hooks, hookPath(urlOrPath)
	if !h.known(path) {
		return false
	}
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if body == "" {
		body = defaultFaultBody[status]
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if n <= 0 {
		delete(h.faults, path)
		return true
	}
	for range n {
		h.faults[path] = append(h.faults[path], hookFault{status: status, body: body})
	}
	s.log.WithFields(logrus.Fields{"url": redact.String(path), "count": n, "status": status}).Info("webhook failures injected")
	return true
}

// IssueResponseURL registers and returns a new response_url of kind "commands" (as a slash
// command's), "actions" (block_actions) or "app" (shortcuts, views) answering into channel (ID or
// name) of team, as if an interaction had just happened. It fails with ErrNoWorkspace or
// ErrNoChannel for an unknown team or channel.
func (s *Server) IssueResponseURL(kind, team, channel string) (string, error) {
	switch kind {
	case "commands", "actions", "app":
	default:
		return "", fmt.Errorf("fakeslack: response_url kind %q is not commands, actions or app", kind)
	}
	s.world.mu.Lock()
	_, okTeam := s.world.byTeam[team]
	ch, okChan := s.world.channel(team, channel)
	s.world.mu.Unlock()
	switch {
	case !okTeam:
		return "", ErrNoWorkspace
	case !okChan:
		return "", ErrNoChannel
	}
	return s.hooks.newResponseURL(kind, team, ch.ID), nil
}

// ArchiveChannel archives the channel of team given by ID or name: webhooks into it then answer
// 410 channel_is_archived, and chat.postMessage and RTM messages fail with is_archived. It
// reports whether the channel exists. SetChannelArchived unarchives.
func (s *Server) ArchiveChannel(team, channel string) bool {
	return s.setArchived(team, channel, true)
}

func (s *Server) setArchived(team, channel string, archived bool) bool {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	ch, ok := s.world.channel(team, channel)
	if ok {
		ch.Archived = archived
	}
	return ok
}

func (h *hookServer) routeAdmin() {
	s := h.s
	s.adminHandle("POST /_admin/webhooks/fail", func(r *http.Request) (any, error) {
		var req struct {
			URL    string `json:"url"`
			Count  int    `json:"count"`
			Status int    `json:"status"`
			Body   string `json:"body"`
		}
		if err := decodeAdmin(r, &req); err != nil {
			return nil, err
		}
		if req.URL == "" || req.Count <= 0 {
			return nil, badRequest("url and count > 0 are required")
		}
		if req.Status != 0 && (req.Status < 400 || req.Status > 599) {
			return nil, badRequest("status %d is not an HTTP error status", req.Status)
		}
		if !s.FailWebhook(req.URL, req.Count, req.Status, req.Body) {
			return nil, notFound("unknown webhook or response_url %s", redact.String(hookPath(req.URL)))
		}
		return nil, nil
	})
	s.adminHandle("GET /_admin/webhooks/posts", func(r *http.Request) (any, error) {
		posts := s.WebhookPosts(r.URL.Query().Get("url"))
		if posts == nil {
			posts = []WebhookPost{}
		}
		return map[string]any{"posts": posts}, nil
	})
	s.adminHandle("POST /_admin/response-urls", func(r *http.Request) (any, error) {
		var req struct {
			Kind    string `json:"kind"`
			Team    string `json:"team"`
			Channel string `json:"channel"`
		}
		if err := decodeAdmin(r, &req); err != nil {
			return nil, err
		}
		if req.Kind == "" {
			req.Kind = "commands"
		}
		if req.Team == "" || req.Channel == "" {
			return nil, badRequest("team and channel are required")
		}
		u, err := s.IssueResponseURL(req.Kind, req.Team, req.Channel)
		switch {
		case errors.Is(err, ErrNoWorkspace), errors.Is(err, ErrNoChannel):
			return nil, notFound("%v", err)
		case err != nil:
			return nil, badRequest("%v", err)
		}
		return map[string]any{"response_url": u}, nil
	})
	s.adminHandle("POST /_admin/channels/archive", func(r *http.Request) (any, error) {
		var req struct {
			Team     string `json:"team"`
			Channel  string `json:"channel"`
			Archived *bool  `json:"archived"`
		}
		if err := decodeAdmin(r, &req); err != nil {
			return nil, err
		}
		if req.Team == "" || req.Channel == "" {
			return nil, badRequest("team and channel are required")
		}
		archived := req.Archived == nil || *req.Archived
		if !s.setArchived(req.Team, req.Channel, archived) {
			return nil, notFound("unknown channel %q of team %q", req.Channel, req.Team)
		}
		return nil, nil
	})
}
