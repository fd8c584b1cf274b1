package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/internal/redact"
	"github.com/switchboard-go/switchboard/messages"
)

// openSocketModeURL calls apps.connections.open and returns the socket URL. It is raw HTTP, like
// rtm.connect, so that a 429's Retry-After is read whole (slack-go reads integer seconds only and
// wraps huge values around).
func openSocketModeURL(ctx context.Context, env *Env, appToken string) (string, error) {
	url, _, err := openWebSocketURL(ctx, env.HTTP, env.APIURL, "apps.connections.open", appToken, nil)
	return url, err
}

// openRTMURL calls rtm.connect or rtm.start and returns the socket URL and the whole answer.
func openRTMURL(ctx context.Context, spec RTMSpec) (string, []byte, error) {
	return openWebSocketURL(ctx, spec.HTTP, spec.APIURL, spec.ConnectMethod, spec.Token, spec.Headers)
}

// openWebSocketURL posts to a socket-opening Web API method and returns the url of the answer and
// the answer. A 429 becomes SlackError{ratelimited, RetryAfter}, {"ok":false} a SlackError with
// Slack's code.
func openWebSocketURL(ctx context.Context, client *http.Client, apiURL, method, token string, headers http.Header) (string, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, apiURL+method, strings.NewReader(""))
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", method, err)
	}
	for k, v := range headers {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", method, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return "", nil, fmt.Errorf("%s: read answer: %w", method, err)
	}
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone {
		// No such method at this address: retrying cannot help, the API URL is wrong.
		return "", nil, fmt.Errorf("%s: %w (http %d from %s)", method, messages.ErrNotFound, resp.StatusCode, redact.URL(apiURL+method))
	}
	if proxy := proxyOf(client, req); resp.StatusCode == http.StatusProxyAuthRequired ||
		resp.StatusCode == http.StatusUnauthorized && proxy != "" {
		// A proxy forwarding an http:// call refused it (Slack answers these methods 200 with
		// ok:false, never 401; tinyproxy 1.11 answers a wrong password with 401). Over https a
		// refused CONNECT fails client.Do with a *messages.ProxyError when the runtime built the
		// transport (engine.ProxyConnectResponse).
		return "", nil, fmt.Errorf("%s: %w", method, &messages.ProxyError{Proxy: proxy,
			StatusCode: resp.StatusCode, Status: resp.Status})
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return "", nil, &messages.SlackError{Method: method, Code: messages.ErrRateLimited,
			RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	}
	var r struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
		URL   string `json:"url"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return "", nil, fmt.Errorf("%s: http %d: %w", method, resp.StatusCode, err)
	}
	if !r.OK {
		return "", nil, &messages.SlackError{Method: method, Code: messages.Code(r.Error)}
	}
	if r.URL == "" {
		return "", nil, fmt.Errorf("%s: answer without a socket url", method)
	}
	return r.URL, body, nil
}

// proxyOf names the proxy client's transport chose for req, as scheme://host, or "".
func proxyOf(client *http.Client, req *http.Request) string {
	rt := client.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	if tr, ok := rt.(*http.Transport); ok && tr.Proxy != nil {
		if u, err := tr.Proxy(req); err == nil && u != nil {
			return redact.URL(u.String())
		}
	}
	return ""
}

// maxRetryAfterSecs caps a Retry-After so that it still fits a time.Duration (about 292 years);
// the supervisor caps it much lower (supervisor.DefaultMaxRetryAfter) and logs when it does.
const maxRetryAfterSecs = int64(math.MaxInt64 / time.Second)

// parseRetryAfter reads a Retry-After header in either of RFC 9110's forms: delay-seconds (digits)
// or an HTTP-date, which counts from now. A value too large for a time.Duration saturates instead
// of wrapping around; an empty, malformed or past value is zero.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if v[0] >= '0' && v[0] <= '9' {
		secs, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			var ne *strconv.NumError
			if !errors.As(err, &ne) || ne.Err != strconv.ErrRange {
				return 0
			}
			secs = math.MaxUint64
		}
		return time.Duration(min(secs, uint64(maxRetryAfterSecs))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
