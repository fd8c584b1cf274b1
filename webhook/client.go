package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-go/switchboard/internal/redact"
	"github.com/switchboard-go/switchboard/messages"
)

// maxBody is how much of an answer's body is read.
const maxBody = 64 << 10

// Response is Slack's answer to a post.
type Response struct {
	Status   int         // HTTP status; 200 on success
	Body     string      // the body ("ok" on success), at most 64 KiB
	Header   http.Header // the answer's headers
	Attempts int         // how many posts the call made, retries included
}

// Client posts to incoming webhooks and response_url endpoints. It is safe for concurrent use;
// Close it to release its idle connections.
type Client struct {
	hc     *http.Client
	tr     *http.Transport
	header http.Header
	ua     string
	log    *logrus.Entry
	logger *logrus.Logger
	retry  []RetryHandler
	uses   *useTracker

	now   func() time.Time                                 // the clock; time.Now outside tests
	sleep func(ctx context.Context, d time.Duration) error // waits between attempts
}

// New returns a Client. Defaults: a 10 s timeout per attempt, Go's TLS settings, the proxy from
// the environment, no extra headers, User-Agent "switchboard-webhook/1 Go/<version>", logs
// discarded, DefaultRetryHandlers.
func New(opts ...Option) (*Client, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(cfg); err != nil {
			return nil, err
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = cfg.proxy
	tr.OnProxyConnectResponse = proxyRefusal
	if cfg.tls != nil {
		tr.TLSClientConfig = cfg.tls
	}
	ua := "switchboard-webhook/1 Go/" + strings.TrimPrefix(runtime.Version(), "go")
	if cfg.uaPrefix != "" {
		ua = cfg.uaPrefix + " " + ua
	}
	if cfg.uaSuffix != "" {
		ua += " " + cfg.uaSuffix
	}
	c := &Client{
		hc: &http.Client{
			Transport: tr,
			Timeout:   cfg.timeout,
			// A redirect is answered as it is: a POST must not turn into a GET elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		tr:     tr,
		header: cfg.header,
		ua:     ua,
		log:    cfg.log.WithField("component", "webhook"),
		logger: cfg.log,
		retry:  cfg.retry,
		now:    time.Now,
		sleep:  sleepCtx,
	}
	c.uses = newUseTracker(func() time.Time { return c.now() })
	return c, nil
}

// Close releases the Client's idle connections. It is safe to call more than once; posts still
// running finish normally.
func (c *Client) Close() error {
	c.tr.CloseIdleConnections()
	return nil
}

// Send posts msg to a webhook or response_url, retrying as the retry handlers allow, and returns
// Slack's answer. A refusal is an *Error whose Code matches the Err… constants with errors.Is;
// the answer is then returned too. Posts to a URL shaped like a response_url (/commands/,
// /actions/ or /app/) count against its 5 uses, as with Reply.
func (c *Client) Send(ctx context.Context, url string, msg Message) (*Response, error) {
	body, err := json.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("webhook: encode message: %w", err)
	}
	return c.post(ctx, url, body, msg.Header, false)
}

// SendRaw posts body as it is: []byte, json.RawMessage and string are sent verbatim, anything
// else (a map, a struct) is encoded to JSON. header adds headers for this post only; it may be
// nil. It answers like Send.
func (c *Client) SendRaw(ctx context.Context, url string, body any, header http.Header) (*Response, error) {
	data, err := encodeBody(body)
	if err != nil {
		return nil, err
	}
	return c.post(ctx, url, data, header, false)
}

// post makes the attempts of one send. forceTrack counts uses even for a URL not shaped like a
// response_url.
func (c *Client) post(ctx context.Context, rawURL string, body []byte, header http.Header, forceTrack bool) (*Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("webhook: invalid URL %s", redact.URL(rawURL))
	}
	track := forceTrack || isResponseURL(u)
	log := c.log.WithField("url", redact.URL(rawURL))
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if track {
			if err := c.uses.reserve(rawURL); err != nil {
				return nil, err
			}
		}
		resp, err := c.attempt(ctx, rawURL, body, header)
		switch {
		case track && resp == nil:
			c.uses.release(rawURL) // no answer: Slack did not count it either
		case track && errors.Is(err, ErrExpiredURL):
			c.uses.exhaust(rawURL) // Slack says it is used up: later calls fail without a post
		}
		if resp != nil {
			resp.Attempts = attempt
		}
		if err == nil {
			log.WithFields(logrus.Fields{"status": resp.Status, "attempt": attempt}).Debug("webhook post sent")
			return resp, nil
		}
		if ctx.Err() != nil {
			return resp, err
		}
		delay, again := c.shouldRetry(attempt, resp, err)
		if errors.Is(err, messages.ErrProxyAuth) {
			again = false // the same wrong proxy credentials would only be refused again
		}
		if !again {
			if attempt > 1 {
				err = fmt.Errorf("webhook: gave up after %d attempts: %w", attempt, err)
			}
			return resp, err
		}
		if dl, ok := ctx.Deadline(); ok && c.now().Add(delay).After(dl) {
			return resp, fmt.Errorf("webhook: no time left to retry after %d attempts: %w", attempt, err)
		}
		log.WithError(err).WithFields(logrus.Fields{"attempt": attempt, "delay": delay}).Warn("webhook post failed, retrying")
		if werr := c.sleep(ctx, delay); werr != nil {
			return resp, fmt.Errorf("webhook: stopped waiting to retry: %w: %w", werr, err)
		}
	}
}

func (c *Client) shouldRetry(attempt int, resp *Response, err error) (time.Duration, bool) {
	for _, h := range c.retry {
		if d, ok := h.Retry(attempt, resp, err); ok {
			return max(d, 0), true
		}
	}
	return 0, false
}

// attempt makes one POST. A nil *Response means no answer came.
func (c *Client) attempt(ctx context.Context, rawURL string, body []byte, header http.Header) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return nil, redactError(err)
	}
	req.Header = c.header.Clone()
	for k, v := range header {
		req.Header[http.CanonicalHeaderKey(k)] = append([]string(nil), v...)
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", c.ua)
	}
	hr, err := c.hc.Do(req)
	if err != nil {
		return nil, redactError(err)
	}
	defer hr.Body.Close()
	data, rerr := io.ReadAll(io.LimitReader(hr.Body, maxBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(hr.Body, maxBody)) // let the connection be reused
	resp := &Response{Status: hr.StatusCode, Body: string(data), Header: hr.Header}
	if hr.StatusCode/100 == 2 {
		if rerr != nil {
			// Slack accepted the post; only its "ok" was cut short.
			c.log.WithError(redactError(rerr)).Debug("webhook answer body unread")
		}
		return resp, nil
	}
	return resp, parseError(hr.StatusCode, resp.Body, parseRetryAfter(hr.Header.Get("Retry-After"), c.now()))
}

// proxyRefusal turns a proxy's refusal of a CONNECT (any status but 200) into a
// *messages.ProxyError, so that a 407 matches messages.ErrProxyAuth.
func proxyRefusal(_ context.Context, p *url.URL, _ *http.Request, resp *http.Response) error {
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	return &messages.ProxyError{Proxy: redact.URL(p.String()), StatusCode: resp.StatusCode, Status: resp.Status}
}

// parseRetryAfter reads a Retry-After header: seconds, or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if !(s > 0) { // also NaN
			return 0
		}
		if s >= float64(math.MaxInt64)/float64(time.Second) { // "1e19", "Inf": wait "forever", not a wrapped negative
			return time.Duration(math.MaxInt64)
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// isResponseURL reports whether u is shaped like a response_url rather than an incoming webhook.
func isResponseURL(u *url.URL) bool {
	first, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	return first == "commands" || first == "actions" || first == "app"
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
