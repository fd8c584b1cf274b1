package switchboard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sirupsen/logrus"

	"github.com/switchboard-go/switchboard/internal/clusterlink"
	"github.com/switchboard-go/switchboard/internal/engine"
	"github.com/switchboard-go/switchboard/internal/redact"
	"github.com/switchboard-go/switchboard/webhook"
)

// Option configures a Runtime; New applies them in order and fails on the first error.
type Option func(*config) error

type config struct {
	log              *logrus.Logger
	apiURL           string
	http             *http.Client // nil: defaultHTTPTimeout on a clone of http.DefaultTransport
	proxy            *url.URL     // WithProxy's; used only when proxySet (nil then means none)
	proxySet         bool
	initialBackoff   time.Duration
	maxBackoff       time.Duration
	resetAfter       time.Duration
	pingInterval     time.Duration
	staleAfter       time.Duration
	helloTimeout     time.Duration
	responseDeadline time.Duration
	ackAfterHandlers bool
	dedupeWindow     int
	webhooks         *webhook.Client
	connectBurst     int           // 0: engine.DefaultConnectBurst
	connectEvery     time.Duration // 0: engine.DefaultConnectEvery
	openTimeout      time.Duration // 0: engine.DefaultOpenTimeout
	clientTTL        time.Duration // 0: a team's client is kept until InstallationsChanged
	cluster          ClusterConfig // WithCluster's; nil: no cluster
}

func defaultConfig() *config {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return &config{
		log:              l,
		apiURL:           "https://slack.com/api/",
		initialBackoff:   time.Second,
		maxBackoff:       2 * time.Minute,
		resetAfter:       time.Minute,
		pingInterval:     10 * time.Second,
		staleAfter:       35 * time.Second,
		helloTimeout:     10 * time.Second,
		responseDeadline: 2500 * time.Millisecond,
		dedupeWindow:     10000,
	}
}

// WithLogger sets the logger for the runtime and its actor system. Every line, protoactor's
// included, is redacted (message and fields: tokens, webhook URLs, tickets) before l logs it with
// its own level, hooks, formatter and output; l itself is not changed. Default: logs are discarded.
func WithLogger(l *logrus.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("switchboard: nil logger")
		}
		c.log = redact.Logger(l)
		return nil
	}
}

// WithAPIURL sets the Slack Web API base URL. Default "https://slack.com/api/"; a missing trailing
// slash is added.
func WithAPIURL(u string) Option {
	return func(c *config) error {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return fmt.Errorf("switchboard: api url %q is not http(s)", u)
		}
		if !strings.HasSuffix(u, "/") {
			u += "/"
		}
		c.apiURL = u
		return nil
	}
}

// WithHTTPClient sets the HTTP client for Web API calls (proxy, TLS, timeouts), Event.Client's
// included. When its Transport is an *http.Transport (nil means http.DefaultTransport), its Proxy,
// DialContext and TLS config serve the Socket Mode and RTM socket dials too, and its Proxy the
// runtime's webhook client. Default: a client with a 30s timeout and the environment's proxy.
func WithHTTPClient(h *http.Client) Option {
	return func(c *config) error {
		if h == nil {
			return errors.New("switchboard: nil http client")
		}
		c.http = h
		return nil
	}
}

// WithProxy sends the runtime's connections through the proxy u: the Web API calls (the socket
// opens and Event.Client's), the Socket Mode and RTM socket dials (a CONNECT tunnel) and the
// runtime's own webhook client (one given by WithWebhookClient keeps its own proxy). u is http://
// or https://; a proxy that asks for credentials gets the user and password in u (percent-encoded)
// as Basic Proxy-Authorization. They are redacted like tokens wherever the runtime logs or returns
// a URL, and a proxy refusing them (407, or tinyproxy's 401) stops the link with a Fatal event
// (messages.ErrProxyAuth) instead of retrying. Nil means no proxy at all, whatever the environment
// says.
//
// Precedence: WithProxy, then the Proxy of WithHTTPClient's transport, then the environment
// (HTTPS_PROXY, HTTP_PROXY, NO_PROXY, as http.ProxyFromEnvironment reads them, which never proxies
// localhost). With WithHTTPClient, the runtime uses a copy of that client on a clone of its
// transport, which must then be an *http.Transport (or nil). A Workspace's own HTTPClient or
// Dialer is used as it is. Default: unset.
func WithProxy(u *url.URL) Option {
	return func(c *config) error {
		if u != nil {
			if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("switchboard: proxy %s is not http(s)://host:port", redact.URL(u.String()))
			}
			cp := *u
			if u.User != nil {
				ui := *u.User
				cp.User = &ui
			}
			u = &cp
		}
		c.proxy, c.proxySet = u, true
		return nil
	}
}

// defaultHTTPTimeout bounds each Web API call of the default HTTP client.
const defaultHTTPTimeout = 30 * time.Second

// httpClient resolves the proxy settings into the runtime's HTTP client, and returns the
// transport the runtime made for it (to close its idle connections on Stop), or nil when the
// client is WithHTTPClient's as it is. A transport the runtime makes turns a proxy's refused
// CONNECT into a *messages.ProxyError.
func (c *config) httpClient() (*http.Client, *http.Transport, error) {
	if c.http != nil && !c.proxySet {
		return c.http, nil, nil
	}
	hc := &http.Client{Timeout: defaultHTTPTimeout}
	if c.http != nil {
		cp := *c.http
		hc = &cp
	}
	base := transportOf(hc)
	if base == nil {
		return nil, nil, fmt.Errorf("switchboard: WithProxy needs WithHTTPClient's Transport to be an *http.Transport or nil, not %T", hc.Transport)
	}
	tr := base.Clone()
	if c.proxySet {
		tr.Proxy = http.ProxyURL(c.proxy)
		if c.proxy == nil {
			tr.Proxy = nil
		}
	}
	if tr.OnProxyConnectResponse == nil {
		tr.OnProxyConnectResponse = engine.ProxyConnectResponse
	}
	if c.proxySet && c.proxy != nil && strings.HasPrefix(c.apiURL, "http://") {
		// A plain-http API through a proxy goes as absolute-URI requests, and proxies commonly
		// close such a connection after each answer: net/http would then reuse a closed one and
		// fail the POST ("server closed idle connection"), which it never retries. An https API
		// goes through a CONNECT tunnel that stays up, and keeps its connections.
		tr.DisableKeepAlives = true
	}
	hc.Transport = tr
	return hc, tr, nil
}

// transportOf returns h's transport when it is an *http.Transport (http.DefaultTransport's for a
// nil Transport), or nil for another RoundTripper.
func transportOf(h *http.Client) *http.Transport {
	if h.Transport == nil {
		tr, _ := http.DefaultTransport.(*http.Transport)
		return tr
	}
	tr, _ := h.Transport.(*http.Transport)
	return tr
}

// socketDialer returns a WebSocket dialer with tr's proxy, dialer and TLS config (its ALPN list
// dropped: a socket speaks HTTP/1.1), or the environment's proxy when tr is nil.
func socketDialer(tr *http.Transport) *websocket.Dialer {
	d := &websocket.Dialer{HandshakeTimeout: 10 * time.Second, Proxy: http.ProxyFromEnvironment}
	if tr != nil {
		d.Proxy, d.NetDialContext = tr.Proxy, tr.DialContext
		// Clone first: a transport in use sets its TLS config's ALPN list on its first call, and
		// Clone waits for that instead of racing it.
		if tc := tr.Clone().TLSClientConfig; tc != nil {
			d.TLSClientConfig = tc
			d.TLSClientConfig.NextProtos = nil
		}
	}
	return d
}

// webhookProxy is the proxy of the runtime's webhook client: that of tr, else the environment's.
func webhookProxy(tr *http.Transport) func(*http.Request) (*url.URL, error) {
	if tr == nil {
		return http.ProxyFromEnvironment
	}
	return tr.Proxy
}

// WithBackoff sets the reconnection backoff: the first retry waits up to initial, each further
// retry doubles the ceiling up to max (full jitter), and a session connected for resetAfter
// resets it. Defaults 1s, 2m, 1m. Retry-After from Slack is always honoured on top.
func WithBackoff(initial, max, resetAfter time.Duration) Option {
	return func(c *config) error {
		if initial <= 0 || max < initial || resetAfter <= 0 {
			return fmt.Errorf("switchboard: backoff needs 0 < initial (%v) <= max (%v) and resetAfter (%v) > 0", initial, max, resetAfter)
		}
		c.initialBackoff, c.maxBackoff, c.resetAfter = initial, max, resetAfter
		return nil
	}
}

// WithKeepalive sets how often the client pings (default 10s) and how long a link may receive
// nothing at all before its session ends as stale (default 35s; Slack pings every ~10s).
func WithKeepalive(pingInterval, staleAfter time.Duration) Option {
	return func(c *config) error {
		if pingInterval <= 0 || staleAfter <= pingInterval {
			return fmt.Errorf("switchboard: keepalive needs 0 < ping interval (%v) < stale after (%v)", pingInterval, staleAfter)
		}
		c.pingInterval, c.staleAfter = pingInterval, staleAfter
		return nil
	}
}

// WithHelloTimeout sets how long a new socket may wait for the server's hello. Default 10s.
func WithHelloTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("switchboard: hello timeout %v must be positive", d)
		}
		c.helloTimeout = d
		return nil
	}
}

// WithResponseDeadline sets how long a slash command or interaction waits for a handler's
// Respond before an empty ack goes. Default 2.5s; at most 2.9s (Slack's deadline is 3s).
func WithResponseDeadline(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 || d > 2900*time.Millisecond {
			return fmt.Errorf("switchboard: response deadline %v must be in (0, 2.9s]", d)
		}
		c.responseDeadline = d
		return nil
	}
}

// WithAckAfterHandlers acks each envelope only once every matching handler has returned, instead
// of as soon as the event is in the dispatcher (the default). A handler slower than Slack's 3s
// then causes a redelivery, which dedupe drops.
func WithAckAfterHandlers() Option {
	return func(c *config) error {
		c.ackAfterHandlers = true
		return nil
	}
}

// WithDedupeWindow sets how many Events API event IDs per app dedupe remembers. Default 10000.
func WithDedupeWindow(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("switchboard: dedupe window %d must be positive", n)
		}
		c.dedupeWindow = n
		return nil
	}
}

// WithConnectBudget sets the runtime-wide pace of reconnects: burst of them at once, then one every
// every. Each session of a link but its first takes a slot before it calls apps.connections.open or
// rtm.connect, so links that drop together come back at this pace instead of all at once. Default
// 10 and 50ms (20 a second; 1,000 links are back in under a minute); burst must be ≥ 1 and every > 0.
func WithConnectBudget(burst int, every time.Duration) Option {
	return func(c *config) error {
		if burst < 1 || every <= 0 {
			return fmt.Errorf("switchboard: connect budget needs burst (%d) >= 1 and every (%v) > 0", burst, every)
		}
		c.connectBurst, c.connectEvery = burst, every
		return nil
	}
}

// WithOpenTimeout bounds each apps.connections.open and rtm.connect call, whatever the HTTP
// client's own timeout: a call with no answer by then ends the session, which is logged and
// retried. Default 10s; must be > 0.
func WithOpenTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("switchboard: open timeout %v must be positive", d)
		}
		c.openTimeout = d
		return nil
	}
}

// WithClientTTL makes each app's cached Web API client of a team last at most d: the first
// Event.Client after that asks the InstallationStore again. Use it when another process changes
// the store (several bots on one pgstore database, an installer of its own) and cannot call
// InstallationsChanged. Default 0: a client is kept until InstallationsChanged names its team.
func WithClientTTL(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("switchboard: client ttl %v must not be negative", d)
		}
		c.clientTTL = d
		return nil
	}
}

// WithCluster makes the runtime a member of a cluster (package cluster): New joins it, AddApp,
// RemoveApp, AddWorkspace and RemoveWorkspace change the cluster's desired set of links, and the
// runtime connects the links that rendezvous hashing places on it; Stop hands them over first.
// Default: no cluster, every link runs in this process.
//
// The runtime links package cluster's code (protoactor's cluster and remote, gRPC, etcd's client,
// the SQL drivers) only through cfg: a program that never imports package cluster does not carry
// them.
func WithCluster(cfg ClusterConfig) Option {
	return func(c *config) error {
		if cfg == nil {
			return errors.New("switchboard: nil cluster config")
		}
		c.cluster = cfg
		return nil
	}
}

// ClusterConfig is what WithCluster takes: package cluster's Config, the only implementation (its
// method is the runtime's way in, and returns a type internal to this module).
type ClusterConfig interface {
	JoinRuntime(ctx context.Context, log *logrus.Logger) (clusterlink.Member, error)
}
