package webhook

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-go/switchboard/internal/redact"
)

// Option configures a Client; see New for the defaults.
type Option func(*config) error

// config is what the options set; defaultConfig builds a fresh one per New.
type config struct {
	timeout  time.Duration
	tls      *tls.Config
	proxy    func(*http.Request) (*url.URL, error)
	header   http.Header
	uaPrefix string
	uaSuffix string
	log      *logrus.Logger
	retry    []RetryHandler
}

func defaultConfig() *config {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return &config{
		timeout: 10 * time.Second,
		proxy:   http.ProxyFromEnvironment,
		header:  http.Header{},
		log:     l,
		retry:   DefaultRetryHandlers(),
	}
}

// WithTimeout bounds each HTTP attempt, from dialing to reading the body. Default 10s; must be > 0.
// The context passed to Send bounds the whole call, retries included.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("webhook: timeout %v must be positive", d)
		}
		c.timeout = d
		return nil
	}
}

// WithTLSConfig sets the TLS configuration for https URLs (it is cloned). Default: Go's defaults.
func WithTLSConfig(t *tls.Config) Option {
	return func(c *config) error {
		if t == nil {
			return fmt.Errorf("webhook: nil TLS config")
		}
		c.tls = t.Clone()
		return nil
	}
}

// WithProxy sets the function choosing a proxy per request, as http.Transport.Proxy; credentials in
// the proxy URL go as Basic Proxy-Authorization and are redacted in logs and errors. Default
// http.ProxyFromEnvironment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY); nil means no proxy. A proxy's 407
// is never retried: over https the send fails with a *messages.ProxyError (errors.Is
// messages.ErrProxyAuth), over http the 407 is the answer, as any other 4xx.
func WithProxy(proxy func(*http.Request) (*url.URL, error)) Option {
	return func(c *config) error {
		c.proxy = proxy
		return nil
	}
}

// WithHeader adds a header sent with every post; a Message's own Header overrides it. Default none.
// Content-Type is always application/json unless set here or per message.
func WithHeader(key, value string) Option {
	return func(c *config) error {
		if key == "" || strings.ContainsAny(key, " :\r\n") || strings.ContainsAny(value, "\r\n") {
			return fmt.Errorf("webhook: invalid header %q", key)
		}
		c.header.Add(textproto.CanonicalMIMEHeaderKey(key), value)
		return nil
	}
}

// WithUserAgentPrefix puts s, then a space, before the default User-Agent
// ("switchboard-webhook/1 Go/<version>").
func WithUserAgentPrefix(s string) Option {
	return func(c *config) error {
		if strings.ContainsAny(s, "\r\n") {
			return fmt.Errorf("webhook: invalid user agent prefix")
		}
		c.uaPrefix = s
		return nil
	}
}

// WithUserAgentSuffix puts a space, then s, after the default User-Agent.
func WithUserAgentSuffix(s string) Option {
	return func(c *config) error {
		if strings.ContainsAny(s, "\r\n") {
			return fmt.Errorf("webhook: invalid user agent suffix")
		}
		c.uaSuffix = s
		return nil
	}
}

// WithLogger sets the logger for sends (Debug), retries (Warn) and undeliverable queued messages
// (Error); a Sender that creates its own actor system routes protoactor's logs there too. Every
// line goes through a redacting logger (its message and fields, protoactor's included) before l
// logs it, and URLs are logged as their host only. l is not changed. Default: logs are discarded.
func WithLogger(l *logrus.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return fmt.Errorf("webhook: nil logger")
		}
		c.log = redact.Logger(l)
		return nil
	}
}

// WithRetryHandlers replaces the retry handlers (default DefaultRetryHandlers()). After a failed
// attempt they are asked in order and the first that answers yes decides the delay; with none, no
// attempt is retried.
func WithRetryHandlers(h ...RetryHandler) Option {
	return func(c *config) error {
		for _, x := range h {
			if x == nil {
				return fmt.Errorf("webhook: nil retry handler")
			}
		}
		c.retry = append([]RetryHandler(nil), h...)
		return nil
	}
}
