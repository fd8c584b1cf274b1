package switchboard

import (
	"sync/atomic"

	"github.com/switchboard-go/switchboard/internal/redact"
	"github.com/switchboard-go/switchboard/messages"
)

// What leaves the runtime is redacted on its way out: every log line (WithLogger wraps the logger),
// errors returned by its methods (redactError), Status().LastError (redactStatus) and the errors in
// lifecycle events (redactLifecycle).

// redactError returns err with its text redacted; errors.Is and errors.As still reach the original.
func redactError(err error) error { return redact.Error(err) }

// redactStatus redacts a link status's last error.
func redactStatus(st Status) Status {
	st.LastError = redact.String(st.LastError)
	return st
}

// redactLifecycle returns ev with the error it carries (Disconnected.Reason, Reconnecting.Cause,
// Fatal.Error) redacted: its text hides tokens, URLs and tickets, and errors.Is and errors.As still
// reach the original.
func redactLifecycle(ev messages.Lifecycle) messages.Lifecycle {
	switch e := ev.(type) {
	case messages.Disconnected:
		e.Reason = redact.Error(e.Reason)
		return e
	case messages.Reconnecting:
		e.Cause = redact.Error(e.Cause)
		return e
	case messages.Fatal:
		e.Error = redact.Error(e.Error)
		return e
	}
	return ev
}

// callbackCounter counts panics of user callbacks the runtime recovered.
type callbackCounter struct{ n atomic.Int64 }

// callbackPanics is Stats.CallbackPanics: OnAck observers and InstallationStore lookups.
func (rt *Runtime) callbackPanics() int64 {
	return rt.env.AckHook.Panics() + rt.storePanics.n.Load()
}
