package fakeslack

import "time"

// SocketModeOptions configures Socket Mode sockets. Zero fields take the defaults named on each field.
type SocketModeOptions struct {
	// Lifetime is how long a socket lives before warning and refresh_requested. Default 18060s.
	Lifetime time.Duration
}

func (o SocketModeOptions) withDefaults() SocketModeOptions {
	if o.Lifetime <= 0 {
		o.Lifetime = 18060 * time.Second
	}
	return o
}

// socketModeServer serves apps.connections.open and the Socket Mode sockets.
type socketModeServer struct{ s *Server }

func newSocketModeServer(s *Server) *socketModeServer { return &socketModeServer{s: s} }

func (m *socketModeServer) close() {}
