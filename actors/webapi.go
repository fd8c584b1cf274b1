package actors

import (
	"context"
	"errors"
	"fmt"

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
