package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sirupsen/logrus"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/webhook"
)

// Options configures a Server. Zero fields take the defaults named on each.
type Options struct {
	// Addr is where Start listens. Default "127.0.0.1:9090"; use ":9090" to serve on every interface.
	Addr string
	// Namespace prefixes every metric name. Default "switchboard".
	Namespace string
	// Logger receives the server's own logs, redacted. Default: discarded.
	Logger *logrus.Logger
	// NoProcessMetrics leaves out the Go runtime and process collectors. Default false. With a
	// Registerer that has them already (prometheus.DefaultRegisterer), they are not added twice.
	NoProcessMetrics bool
	// Registerer is where the metrics are registered. Default: a registry of the Server's own
	// (Registry), which /metrics serves.
	Registerer prometheus.Registerer
	// Gatherer is what /metrics serves. Default: the Server's own registry or, with a Registerer,
	// the Registerer itself, which must then be a prometheus.Gatherer (a *prometheus.Registry is).
	Gatherer prometheus.Gatherer
	// PerLinkMetrics adds series per link: link_state{link,transport,state},
	// link_connects_total{link}, link_reconnects_total{link,cause}, link_fatal_total{link,code}.
	// Default off: a fleet of 10,000 workspaces would make 50,000 series and more. Without them,
	// links, connects, reconnects and fatal stops are counted by app and transport, and each
	// link's detail is in /status.
	PerLinkMetrics bool
	// IdleTimeout closes a keep-alive connection idle this long. Default 30s.
	IdleTimeout time.Duration
}

// eventsSubscription is the name of the subscription that counts events_total.
const eventsSubscription = "ops-events"

// Server serves one Runtime's operations endpoints. Its methods are safe for concurrent use.
type Server struct {
	rt      *switchboard.Runtime
	opts    Options
	log     *logrus.Entry
	reg     *prometheus.Registry // nil with Options.Registerer
	m       *metrics
	handler http.Handler

	mu   sync.Mutex
	http *http.Server
	done chan struct{}
}

// New registers rt's metrics, with two subscriptions on rt ("ops-lifecycle" and "ops-events")
// and a global middleware (rt.Use) that times every handler in handler_duration_seconds, and
// returns a Server that serves nothing until Start (or use Handler in a server of your own).
// Call it before adding links so that no connect goes uncounted.
func New(rt *switchboard.Runtime, opts Options) (*Server, error) {
	if rt == nil {
		return nil, errors.New("ops: nil runtime")
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:9090"
	}
	if opts.Namespace == "" {
		opts.Namespace = "switchboard"
	}
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = 30 * time.Second
	}
	if opts.IdleTimeout < 0 {
		return nil, fmt.Errorf("ops: idle timeout %v must be positive", opts.IdleTimeout)
	}
	if opts.Logger == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		opts.Logger = l
	}
	s := &Server{rt: rt, opts: opts, log: switchboard.RedactingLogger(opts.Logger).WithField("component", "ops")}
	reg, gather := opts.Registerer, opts.Gatherer
	if reg == nil {
		s.reg = prometheus.NewRegistry()
		reg = s.reg
	}
	if gather == nil {
		g, ok := reg.(prometheus.Gatherer)
		if !ok {
			return nil, errors.New("ops: Options.Registerer is not a prometheus.Gatherer: set Options.Gatherer")
		}
		gather = g
	}
	if m := rt.Member(); m != "" { // a cluster member (switchboard.WithCluster): every metric says which
		reg = prometheus.WrapRegistererWith(prometheus.Labels{"member": m}, reg)
	}
	if !opts.NoProcessMetrics {
		for _, c := range []prometheus.Collector{collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
			var are prometheus.AlreadyRegisteredError
			if err := reg.Register(c); err != nil && !errors.As(err, &are) {
				return nil, fmt.Errorf("ops: register process metrics: %w", err)
			}
		}
	}
	var err error
	if s.m, err = newMetrics(opts.Namespace, reg, rt, opts.PerLinkMetrics); err != nil {
		return nil, err
	}
	if err := rt.OnLifecycle(s.m.lifecycle, switchboard.Named("ops-lifecycle")); err != nil {
		return nil, fmt.Errorf("ops: subscribe to lifecycle: %w", err)
	}
	count := func(_ context.Context, ev *switchboard.Event) error { s.m.event(ev); return nil }
	if err := rt.Handle(switchboard.Filter{}, count, switchboard.Named(eventsSubscription), switchboard.Queue(8192, switchboard.DropNewest),
		switchboard.IncludeSelf()); err != nil {
		return nil, fmt.Errorf("ops: subscribe to events: %w", err)
	}
	if err := rt.Use(s.m.handlers.middleware); err != nil { // handler_duration_seconds
		return nil, fmt.Errorf("ops: handler middleware: %w", err)
	}
	rt.OnAck(s.ObserveAck) // beside the program's own observers
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(gather, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /status", s.status)
	mux.Handle("GET /cluster", ClusterHandler(rt)) // cluster.go; 404 without a cluster
	s.handler = mux
	return s, nil
}

// Handler serves /metrics, /healthz and /status.
func (s *Server) Handler() http.Handler { return s.handler }

// Registry is the Server's own Prometheus registry, which /metrics serves; register your own
// collectors on it. It is nil when Options.Registerer was set.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// ObserveAck records one ack's latency, from reading the envelope to writing its ack.
func (s *Server) ObserveAck(d time.Duration) { s.m.ackLatency.Observe(d.Seconds()) }

// ObserveWebhook counts a webhook result by outcome; pass it to webhook.WithResultHandler (or call
// it from your own handler).
func (s *Server) ObserveWebhook(r webhook.Result) {
	s.m.webhooks.WithLabelValues(webhookOutcome(r)).Inc()
}

// Start listens on Options.Addr and serves in a goroutine until Close; it returns the address
// listened on (useful with port 0).
func (s *Server) Start() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.http != nil {
		return "", errors.New("ops: already started")
	}
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return "", fmt.Errorf("ops: listen %s: %w", s.opts.Addr, err)
	}
	s.http = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: time.Minute, IdleTimeout: s.opts.IdleTimeout, MaxHeaderBytes: 64 << 10}
	s.done = make(chan struct{})
	srv, done := s.http, s.done
	go func() { // owner: Server. Ends when Close shuts srv down; Close waits on done.
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.WithError(err).Error("ops server stopped")
		}
	}()
	s.log.WithField("addr", ln.Addr().String()).Info("serving /metrics, /healthz, /status")
	return ln.Addr().String(), nil
}

// Close stops serving, letting requests in flight finish until ctx ends. Safe to call more than
// once, and without Start.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	srv, done := s.http, s.done
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Shutdown(ctx)
	if err != nil {
		_ = srv.Close()
	}
	<-done
	return err
}

// Health is the /healthz answer.
type Health struct {
	Ready bool `json:"ready"`
	// Links maps each link to its state.
	Links map[string]switchboard.State `json:"links"`
	// Waiting lists the links neither connected nor fatal, sorted.
	Waiting []string `json:"waiting,omitempty"`
}

// Check reports whether every link is connected or stopped by a fatal error: a fatal link needs a
// person, not a restart of the process. A runtime with no links is not ready.
func Check(rt *switchboard.Runtime) Health {
	h := Health{Links: map[string]switchboard.State{}}
	for _, st := range rt.Status() {
		h.Links[st.Link.Name] = st.State
		if st.State != switchboard.StateConnected && st.State != switchboard.StateFatal {
			h.Waiting = append(h.Waiting, st.Link.Name)
		}
	}
	sort.Strings(h.Waiting)
	h.Ready = len(h.Links) > 0 && len(h.Waiting) == 0
	if cs, ok := rt.ClusterStatus(); ok {
		// A cluster member is ready once it has joined, every link of the cluster has an owner and
		// its own are up; it may run none.
		h.Ready = cs.Joined && len(cs.Unowned) == 0 && len(h.Waiting) == 0
	}
	return h
}

// healthz answers 200 when Check says ready, else 503; the body is the Health as JSON.
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	h := Check(s.rt)
	code := http.StatusOK
	if !h.Ready {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, h)
}

// StatusReport is the /status answer, as JSON with snake_case keys: {"links":[…],"stats":{…}}.
type StatusReport struct {
	Links []switchboard.Status `json:"links"` // sorted by link name
	Stats switchboard.Stats    `json:"stats"`
	// Cluster is a cluster member's view: every link of the cluster with its owner member.
	Cluster *switchboard.ClusterStatus `json:"cluster,omitempty"`
}

func (s *Server) status(w http.ResponseWriter, _ *http.Request) {
	links := s.rt.Status()
	sort.Slice(links, func(i, j int) bool { return links[i].Link.Name < links[j].Link.Name })
	rep := StatusReport{Links: links, Stats: s.rt.Stats()}
	if cs, ok := s.rt.ClusterStatus(); ok {
		rep.Cluster = &cs
	}
	writeJSON(w, http.StatusOK, rep)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
