package actors

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

	"github.com/slack-go/slack"

	"github.com/switchboard-go/switchboard/messages"
)

// openSocketModeURL calls apps.connections.open and returns the socket URL.
func openSocketModeURL(ctx context.Context, env *Env, appToken string) (string, error) {
	api := slack.New("", slack.OptionAppLevelToken(appToken), slack.OptionAPIURL(env.APIURL), slack.OptionHTTPClient(env.HTTP))
	_, url, err := api.StartSocketModeContext(ctx)
	if err != nil {
		return "", slackError("apps.connections.open", err)
	}
	return url, nil
}

// slackError turns slack-go's errors into typed ones.
func slackError(method string, err error) error {
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		// slack-go multiplies the header's seconds without an overflow check: never a negative wait.
		return &messages.SlackError{Method: method, Code: messages.ErrRateLimited, RetryAfter: max(rl.RetryAfter, 0)}
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return &messages.SlackError{Method: method, Code: messages.Code(se.Err)}
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		return fmt.Errorf("%s: http %d: %w", method, sc.Code, err)
	}
	return fmt.Errorf("%s: %w", method, err)
}

// maxRetryAfterSecs caps a Retry-After so that it still fits a time.Duration (about 292 years).
const maxRetryAfterSecs = int64(math.MaxInt64 / time.Second)

// openRTMURL calls rtm.connect or rtm.start and returns the socket URL and the whole answer.
func openRTMURL(ctx context.Context, spec RTMSpec) (string, []byte, error) {
	method := spec.ConnectMethod
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, spec.APIURL+method, strings.NewReader(""))
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", method, err)
	}
	for k, v := range spec.Headers {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+spec.Token)
	resp, err := spec.HTTP.Do(req)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", method, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return "", nil, fmt.Errorf("%s: read answer: %w", method, err)
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		secs, _ := strconv.ParseInt(strings.TrimSpace(resp.Header.Get("Retry-After")), 10, 64)
		secs = min(max(secs, 0), maxRetryAfterSecs) // no negative or wrapped-around wait
		return "", nil, &messages.SlackError{Method: method, Code: messages.ErrRateLimited, RetryAfter: time.Duration(secs) * time.Second}
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
