// Package supervisor decides whether a failed Slack link restarts later, restarts now, or stops
// for good, and how long "later" is.
//
// Policy computes the delay: capped exponential backoff with full jitter, never shorter than the
// Retry-After Slack sent, with the attempt count reset once a session has stayed healthy for
// ResetAfter. Decide applies messages.Classify to a failure: fatal Slack errors (invalid_auth,
// token_revoked, link_disabled, …) stop the link; a clean goodbye or refresh restarts at once;
// everything else backs off.
//
// # Retry-After
//
// A delay is never shorter than the last Retry-After Slack sent, even past Max.
package supervisor
