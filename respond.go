package switchboard

import (
	"errors"
	"fmt"

	"github.com/switchboard-go/switchboard/webhook"
)

// ErrNoResponseURL is returned by Responder for an event Slack sent without a response_url.
var ErrNoResponseURL = errors.New("switchboard: event has no response_url")

// WithWebhookClient sets the client the runtime uses for response_url replies (Responder) and
// incoming webhooks (Webhooks). Default: webhook.New() with the runtime's logger. The runtime
// closes it on Stop.
func WithWebhookClient(c *webhook.Client) Option {
	return func(cfg *config) error {
		if c == nil {
			return errors.New("switchboard: nil webhook client")
		}
		cfg.webhooks = c
		return nil
	}
}

// Webhooks returns the runtime's webhook client: send incoming-webhook notifications with it.
// It counts response_url uses across every handler, so Slack's limit of 5 holds runtime-wide.
func (rt *Runtime) Webhooks() *webhook.Client { return rt.webhooks }

// Responder answers a slash command or interaction through its response_url: Reply posts a
// message (ephemeral unless ResponseType says in_channel), Replace and Delete change the original.
// Slack allows 5 uses within 30 minutes; a 6th is refused before any network call.
func (rt *Runtime) Responder(ev *Event) (webhook.Responder, error) {
	u := ev.ResponseURL()
	if u == "" {
		return webhook.Responder{}, fmt.Errorf("%w (%s %s)", ErrNoResponseURL, ev.Kind, ev.Type)
	}
	return rt.webhooks.Responder(u), nil
}
