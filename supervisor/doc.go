// Package supervisor decides whether a failed Slack link restarts later, restarts now, or stops
// for good, and how long "later" is.
//
// Policy computes the delay: capped exponential backoff with full jitter, never shorter than the
// Retry-After Slack sent, with the attempt count reset once a session has stayed healthy for
// ResetAfter. Decide applies messages.Classify to a failure: fatal Slack errors (invalid_auth,
// token_revoked, link_disabled, …) stop the link; everything else retries.
//
// # Fast for one link, gentle for a fleet
//
// The first failure of a session that had connected retries at once, and so does a clean end
// (goodbye, refresh_requested, warning, an unknown disconnect reason) unless clean ends repeat:
// beyond CleanBurst of them within CleanWindow each waits CleanDelay, which doubles. Later
// failures back off. Pacing many links that drop together is not the policy's job: the runtime
// spends a shared connect budget before every reconnect.
//
// # Retry-After
//
// A delay is never shorter than the last Retry-After Slack sent, even past Max, but a
// Retry-After is capped at MaxRetryAfter (default 15 minutes, DefaultMaxRetryAfter).
package supervisor
