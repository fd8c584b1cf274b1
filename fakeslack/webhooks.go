package fakeslack

// WebhookOptions configures incoming webhooks and response_url endpoints.
type WebhookOptions struct{}

func (o WebhookOptions) withDefaults() WebhookOptions { return o }

// hookServer serves incoming webhooks and response_url endpoints.
type hookServer struct{ s *Server }

func newHookServer(s *Server) *hookServer { return &hookServer{s: s} }

func (h *hookServer) close() {}
