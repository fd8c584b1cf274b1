package fakeslack

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// This file delivers events, slash commands and interactions by HTTP to an app's RequestURL, as
// Slack does for apps without Socket Mode ("Events API", "Verifying requests from Slack",
// SLACK_PROTOCOL.md §5.4):
//
//   - Bodies: events as the event_callback JSON (application/json); interactions form-encoded as
//     payload=<json>; slash commands as form fields. Each request is signed with the app's
//     SigningSecret: X-Slack-Request-Timestamp and X-Slack-Signature, "v0=" and the hex
//     HMAC-SHA256 of "v0:{timestamp}:{body}". User-Agent is Slackbot's.
//   - The app has HTTPOptions.Timeout (3 s) to answer 2xx. An event that fails (http_timeout,
//     http_error for a non-2xx status, connection_failed, too_many_redirects beyond 2) is retried
//     after each of HTTPOptions.RetryDelays (at once, 1 min, 5 min), with X-Slack-Retry-Num (1, 2,
//     3) and X-Slack-Retry-Reason; an answer with X-Slack-No-Retry: 1 stops the retries. Commands
//     and interactions are never retried (Slack shows the user an error).
//   - A 2xx answer's body is the delivery's response, kept like a Socket Mode ack's payload
//     (AckPayload): a command's message, a view_submission's response_action. A plain-text body
//     is kept as {"text":…}, as Slack posts it, and acted on (responses.go).

// HTTPOptions configures delivery to apps' request URLs. Zero fields take the defaults named on
// each field.
type HTTPOptions struct {
	// Timeout is how long a request URL has to answer. Default 3s, as Slack's.
	Timeout time.Duration
	// RetryDelays are the waits before each retry of an event that failed. Default (nil) Slack's:
	// 0, 1 min, 5 min. Scale them down in tests; an empty non-nil slice means no retries.
	RetryDelays []time.Duration
	// DeliveryHistory is how many deliveries Deliveries remembers, oldest forgotten first.
	// Default 10000.
	DeliveryHistory int
}

func (o HTTPOptions) withDefaults() HTTPOptions {
	if o.Timeout <= 0 {
		o.Timeout = 3 * time.Second
	}
	if o.RetryDelays == nil {
		o.RetryDelays = []time.Duration{0, time.Minute, 5 * time.Minute}
	}
	if o.DeliveryHistory <= 0 {
		o.DeliveryHistory = 10000
	}
	return o
}

// Delivery is one event, command or interaction sent by HTTP, with every attempt.
type Delivery struct {
	// ID is the Injected.EnvelopeID the injection returned.
	ID   string `json:"id"`
	App  string `json:"app_id"`
	Team string `json:"team_id"`
	// Type is events_api, slash_commands or interactive.
	Type     string    `json:"type"`
	URL      string    `json:"url"`
	Attempts []Attempt `json:"attempts"`
	// Done is set once the delivery succeeded or was given up; OK says which.
	Done bool `json:"done"`
	OK   bool `json:"ok"`
}

// Attempt is one HTTP request of a delivery.
type Attempt struct {
	// Retry is 0 for the first request, then the X-Slack-Retry-Num sent.
	Retry int       `json:"retry"`
	Time  time.Time `json:"time"`
	// Status is the answer's HTTP status, 0 when there was none.
	Status int `json:"status"`
	// Failure is "" for a 2xx answer, else why it failed: http_timeout, http_error,
	// connection_failed or too_many_redirects (the next retry's X-Slack-Retry-Reason).
	Failure string `json:"failure,omitempty"`
	// Response is the answer's body (at most 1 MiB).
	Response string `json:"response,omitempty"`
}

// httpDeliverer sends deliveries and keeps their records.
type httpDeliverer struct {
	s      *Server
	opts   HTTPOptions
	client *http.Client

	mu     sync.Mutex
	byID   map[string]*Delivery
	order  []string
	faults map[string]string // AppConfig.SignatureFault by app ID
}

var errTooManyRedirects = errors.New("fakeslack: too many redirects")

func newHTTPDeliverer(s *Server) *httpDeliverer {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true // no idle connection outlives a delivery
	return &httpDeliverer{s: s, opts: s.opts.HTTP, byID: map[string]*Delivery{}, faults: map[string]string{}, client: &http.Client{
		Transport: tr,
		CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if len(via) > 2 {
				return errTooManyRedirects
			}
			return nil
		},
	}}
}

// requestURL returns app's request URL, "" for a Socket Mode app.
func (s *Server) requestURL(app string) (u, secret string) {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	if a := s.world.byApp[app]; a != nil {
		return a.RequestURL, a.SigningSecret
	}
	return "", ""
}

// deliverHTTP starts delivering body to app's request URL and returns the delivery's ID.
func (s *Server) deliverHTTP(typ, app, team, reqURL, secret, contentType string, body []byte, answer *respTarget) string {
	d := s.newDelivery(typ, app, team, reqURL)
	if answer != nil {
		s.responses.expect(d.ID, *answer)
	}
	s.goAfter(0, func() { s.httpOut.attempt(d, reqURL, secret, contentType, body, 0, "") })
	return d.ID
}

// deliverHTTPNow makes the first attempt of a delivery in the caller's goroutine (a stream's
// events go as fast as the app answers them, no goroutine each); retries are scheduled as usual.
func (s *Server) deliverHTTPNow(typ, app, team, reqURL, secret, contentType string, body []byte) string {
	d := s.newDelivery(typ, app, team, reqURL)
	s.httpOut.attempt(d, reqURL, secret, contentType, body, 0, "")
	return d.ID
}

// newDelivery records a new delivery.
func (s *Server) newDelivery(typ, app, team, reqURL string) *Delivery {
	h := s.httpOut
	d := &Delivery{ID: s.sm.ids.envelopeID(), App: app, Team: team, Type: typ, URL: reqURL, Attempts: []Attempt{}}
	h.mu.Lock()
	if len(h.order) >= h.opts.DeliveryHistory {
		delete(h.byID, h.order[0])
		h.order = h.order[1:]
	}
	h.byID[d.ID] = d
	h.order = append(h.order, d.ID)
	h.mu.Unlock()
	return d
}

// attempt sends one request of d and schedules the next on failure; it runs on a goroutine of
// goAfter.
func (h *httpDeliverer) attempt(d *Delivery, reqURL, secret, contentType string, body []byte, retry int, reason string) {
	s := h.s
	ctx, cancel := context.WithTimeout(s.ctx, h.opts.Timeout)
	defer cancel()
	at := Attempt{Retry: retry, Time: time.Now()}
	noRetry := false
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, reqURL, strings.NewReader(string(body)))
	if err == nil {
		h.sign(req, d.App, secret, body)
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
		if retry > 0 {
			req.Header.Set("X-Slack-Retry-Num", strconv.Itoa(retry))
			req.Header.Set("X-Slack-Retry-Reason", reason)
		}
		s.counters.httpRequests.Add(1)
		if retry > 0 {
			s.counters.httpRetries.Add(1)
		}
		var resp *http.Response
		resp, err = h.client.Do(req)
		if err == nil {
			data, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			_ = resp.Body.Close()
			at.Status, at.Response = resp.StatusCode, string(data)
			noRetry = resp.Header.Get("X-Slack-No-Retry") == "1"
			switch {
			case rerr != nil:
				err = rerr
			case resp.StatusCode < 200 || resp.StatusCode > 299:
				at.Failure = "http_error"
			}
		}
	}
	if err != nil {
		at.Failure = failureReason(err)
	}
	if s.ctx.Err() != nil {
		return // the server closed under the request
	}
	s.transcript.add(Entry{Kind: KindHTTP, Team: d.Team, App: d.App, Method: d.Type, Status: attemptStatus(at), Data: body})
	retryLeft := d.Type == typeEventsAPI && !noRetry && retry < len(h.opts.RetryDelays)
	if at.Failure == "" { // the answer is kept and acted on before the delivery says done
		s.counters.delivered.Add(1)
		if p := responsePayload(d.Type, at.Response); p != nil {
			s.sm.mu.Lock()
			s.sm.rememberAck(d.ID, p)
			s.sm.mu.Unlock()
			s.answered(d.ID, p)
		}
	}
	h.mu.Lock()
	d.Attempts = append(d.Attempts, at)
	if at.Failure == "" || !retryLeft {
		d.Done, d.OK = true, at.Failure == ""
	}
	h.mu.Unlock()
	switch {
	case at.Failure == "":
	case retryLeft:
		s.goAfter(h.opts.RetryDelays[retry], func() { h.attempt(d, reqURL, secret, contentType, body, retry+1, at.Failure) })
	default:
		s.counters.httpFailed.Add(1)
		s.log.WithFields(map[string]any{"app": d.App, "type": d.Type, "failure": at.Failure}).Warn("http delivery given up")
	}
}

// attemptStatus is an attempt's transcript status: the HTTP status, or the failure without one.
func attemptStatus(at Attempt) string {
	if at.Status != 0 {
		return strconv.Itoa(at.Status)
	}
	return at.Failure
}

// failureReason names a failed request as X-Slack-Retry-Reason does.
func failureReason(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, errTooManyRedirects):
		return "too_many_redirects"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "http_timeout"
	case errors.As(err, new(*net.OpError)):
		return "connection_failed"
	}
	return "unknown_error"
}

// responsePayload is what a 2xx answer's body says: JSON as sent, plain text as {"text":…}, nil
// for nothing or an empty object.
func responsePayload(typ, body string) json.RawMessage {
	t := strings.TrimSpace(body)
	if t == "" || typ == typeEventsAPI {
		return nil
	}
	if json.Valid([]byte(t)) && strings.HasPrefix(t, "{") {
		return ackPayload(json.RawMessage(t))
	}
	b, _ := json.Marshal(map[string]string{"text": body})
	return b
}

// sign sets a request's X-Slack-Request-Timestamp and X-Slack-Signature, as the app's
// SignatureFault says.
func (h *httpDeliverer) sign(req *http.Request, app, secret string, body []byte) {
	h.mu.Lock()
	fault := h.faults[app]
	h.mu.Unlock()
	now := time.Now()
	switch fault {
	case "wrong_secret":
		secret = "not-" + secret
	case "stale_timestamp":
		now = now.Add(-10 * time.Minute)
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", Sign(secret, ts, body))
}

// Sign returns Slack's signature of a request body: "v0=" and the hex HMAC-SHA256, keyed with
// the signing secret, of "v0:{timestamp}:{body}" (X-Slack-Signature).
func Sign(signingSecret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(signingSecret))
	_, _ = fmt.Fprintf(mac, "v0:%s:", timestamp)
	_, _ = mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// Deliveries returns the HTTP deliveries to app's request URL (all apps' when app is ""), oldest
// first: the last HTTPOptions.DeliveryHistory.
func (s *Server) Deliveries(app string) []Delivery {
	h := s.httpOut
	h.mu.Lock()
	defer h.mu.Unlock()
	out := []Delivery{}
	for _, id := range h.order {
		if d := h.byID[id]; app == "" || d.App == app {
			c := *d
			c.Attempts = append([]Attempt{}, d.Attempts...)
			out = append(out, c)
		}
	}
	return out
}

// AppConfig is how an app is reached and installed (see ConfigureApp).
type AppConfig struct {
	// RequestURL, when set, receives the app's events, commands and interactions by HTTP
	// instead of Socket Mode; "" means Socket Mode.
	RequestURL string `json:"request_url"`
	// RedirectURL is the OAuth redirect URL used when oauth/v2/authorize has no redirect_uri;
	// when set, a redirect_uri must start with it (else bad_redirect_uri).
	RedirectURL string `json:"redirect_url"`
	// TokenRotation makes the tokens oauth.v2.access mints expire and come with refresh tokens.
	TokenRotation bool `json:"token_rotation"`
	// SignatureFault, for testing an app's verification, signs HTTP requests wrongly: "" (no
	// fault), "wrong_secret" (another secret) or "stale_timestamp" (a timestamp 10 minutes old,
	// correctly signed, which verifiers must refuse).
	SignatureFault string `json:"signature_fault,omitempty"`
}

// ErrBadConfig means an AppConfig field has a value it does not take.
var ErrBadConfig = errors.New("fakeslack: bad app config")

// ConfigureApp sets how app is reached and installed; it fails with ErrNoApp for an unknown app.
func (s *Server) ConfigureApp(app string, c AppConfig) error {
	s.world.mu.Lock()
	defer s.world.mu.Unlock()
	a := s.world.byApp[app]
	if a == nil {
		return ErrNoApp
	}
	switch c.SignatureFault {
	case "", "wrong_secret", "stale_timestamp":
	default:
		return fmt.Errorf("%w: signature_fault %q", ErrBadConfig, c.SignatureFault)
	}
	a.RequestURL, a.RedirectURL, a.TokenRotation = c.RequestURL, c.RedirectURL, c.TokenRotation
	s.httpOut.mu.Lock()
	s.httpOut.faults[app] = c.SignatureFault
	s.httpOut.mu.Unlock()
	return nil
}

// ErrURLNotVerified means an app's request URL did not answer the url_verification challenge.
var ErrURLNotVerified = errors.New("fakeslack: request url did not echo the challenge")

// VerifyRequestURL sends the app's RequestURL a signed url_verification request, as Slack does
// when the URL is entered in the app's settings, and returns nil if the answer is a 2xx echoing
// the challenge (as plain text, or JSON {"challenge":…}). It fails with ErrNoApp, or with
// ErrURLNotVerified wrapping what went wrong.
func (s *Server) VerifyRequestURL(ctx context.Context, app string) error {
	reqURL, secret := s.requestURL(app)
	if secret == "" {
		return ErrNoApp
	}
	if reqURL == "" {
		return fmt.Errorf("%w: app %s has no request url", ErrURLNotVerified, app)
	}
	challenge := randomHex(24)
	body, _ := json.Marshal(map[string]string{"token": s.sm.verification, "challenge": challenge, "type": "url_verification"})
	ctx, cancel := context.WithTimeout(ctx, s.opts.HTTP.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, reqURL, strings.NewReader(string(body)))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrURLNotVerified, err)
	}
	s.httpOut.sign(req, app, secret, body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	resp, err := s.httpOut.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrURLNotVerified, failureReason(err))
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	var echoed struct {
		Challenge string `json:"challenge"`
	}
	_ = json.Unmarshal(data, &echoed)
	ok := resp.StatusCode/100 == 2 && (strings.TrimSpace(string(data)) == challenge || echoed.Challenge == challenge)
	s.transcript.add(Entry{Kind: KindHTTP, App: app, Method: "url_verification", Status: strconv.Itoa(resp.StatusCode), Data: body})
	if !ok {
		return fmt.Errorf("%w: status %d, body %.100q", ErrURLNotVerified, resp.StatusCode, data)
	}
	return nil
}
