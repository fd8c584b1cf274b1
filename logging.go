package switchboard

import (
	"sync/atomic"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-go/switchboard/internal/redact"
)

// What leaves the runtime is redacted on its way out: every log line (WithLogger wraps the logger),
// errors returned by its methods (redactError), Status().LastError (redactStatus) and the errors in
// lifecycle events (the engine redacts them as it publishes them).

// RedactingLogger returns a logger that redacts every line — message and every field: tokens,
// webhook and response_url secrets, socket tickets, proxy credentials — then logs it through l
// (its level, hooks, formatter and output). l itself is not changed. The runtime logs through one
// (WithLogger); use one in your handlers too, so that a token in an error never reaches a log.
func RedactingLogger(l *logrus.Logger) *logrus.Logger { return redact.Logger(l) }

// redactError returns err with its text redacted; errors.Is and errors.As still reach the original.
func redactError(err error) error { return redact.Error(err) }

// redactStatus redacts a link status's last error.
func redactStatus(st Status) Status {
	st.LastError = redact.String(st.LastError)
	return st
}

// callbackCounter counts panics of user callbacks the runtime recovered.
type callbackCounter struct{ n atomic.Int64 }

// callbackPanics is Stats.CallbackPanics: OnAck observers and InstallationStore lookups.
func (rt *Runtime) callbackPanics() int64 {
	return rt.env.AckHook.Panics() + rt.storePanics.n.Load()
}
