// Package webhook posts messages to Slack incoming webhooks and response_url endpoints without losing
// one silently: every send ends in a response or a typed error.
//
// A Client posts synchronously, retrying what is safe to retry:
//
//	c, err := webhook.New(webhook.WithLogger(log))
//	defer c.Close()
//	resp, err := c.Send(ctx, hookURL, webhook.Message{Text: "deployed"})
//	if errors.Is(err, webhook.ErrChannelIsArchived) { … }
//
// A Sender queues messages per URL and posts them from protoactor-go actors, in order and within
// Slack's rate limit (one message a second per webhook, short bursts allowed). Its Stop drains the
// queues and reports whatever it could not send. Interaction handlers answer through the event's
// response_url with Client.Reply or a Responder. See the examples.
//
// # Retries
//
// By default a connection error is retried with jittered exponential backoff, a 429 after its
// Retry-After, and a 500, 502, 503 or 504 with backoff, each up to a few attempts (see
// DefaultRetryHandlers). Other 4xx answers are never retried: Slack refused the message itself.
// A request that timed out after reaching Slack may have been delivered, so a retry can repeat it.
//
// # response_url
//
// Slack accepts at most 5 posts to a response_url within 30 minutes of the interaction. The Client
// counts the posts it made to each response_url and refuses a sixth, or any after 30 minutes, with
// ErrResponseURLUsedUp or ErrResponseURLExpired before touching the network.
//
// # Secrets
//
// A webhook or response_url URL is a credential. This package logs it as its host only and keeps
// its path out of every error string, even when a control character makes it unparsable; every
// line goes through a redacting logger, and errors from the network and Slack's answers (Error.Body)
// are redacted too. The URL fields of Unsent and Result still hold it in clear.
//
// # Callbacks
//
// A panic in the result handler (WithResultHandler) or in a retry handler while the Sender posts is
// recovered, logged and counted (Sender.HandlerPanics): it never ends the process.
package webhook
