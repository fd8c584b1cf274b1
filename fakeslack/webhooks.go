package fakeslack

import (
	"fmt"
	"sync"
	"time"
)

// WebhookOptions configures incoming webhooks and response_url endpoints.
type WebhookOptions struct{}

func (o WebhookOptions) withDefaults() WebhookOptions { return o }

// hookServer serves incoming webhooks and response_url endpoints.
type hookServer struct {
	s         *Server
	mu        sync.Mutex
	responses map[string]*responseURL // by path "/commands/T…/n/secret"
	n         int
}

// responseURL is one response_url handed out in a slash command or interaction payload.
type responseURL struct {
	Kind    string // "commands", "actions" or "app"
	Team    string
	Channel string
	Created time.Time
	Uses    int
}

func newHookServer(s *Server) *hookServer {
	return &hookServer{s: s, responses: map[string]*responseURL{}}
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
