package fakeslack

import "time"

// RTMOptions configures RTM sockets. Zero fields take the defaults named on each field.
type RTMOptions struct {
	// URLTTL is how long an rtm.connect URL stays valid. Default 30s.
	URLTTL time.Duration
	// Lifetime is how long a socket lives before the server sends goodbye and closes it. Default 8h.
	Lifetime time.Duration
}

func (o RTMOptions) withDefaults() RTMOptions {
	if o.URLTTL <= 0 {
		o.URLTTL = 30 * time.Second
	}
	if o.Lifetime <= 0 {
		o.Lifetime = 8 * time.Hour
	}
	return o
}

// rtmServer serves rtm.connect, rtm.start and the RTM sockets.
type rtmServer struct{ s *Server }

func newRTMServer(s *Server) *rtmServer { return &rtmServer{s: s} }

func (r *rtmServer) close() {}
