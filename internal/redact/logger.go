package redact

import (
	"io"
	"time"

	"github.com/sirupsen/logrus"
)

// Logger returns a logger whose every line — message and every field — is redacted and then logged
// by l: l's level (read at each line, so a later l.SetLevel applies), hooks, formatter, output and
// its lock, so lines stay whole when l logs too. l itself is not changed. Logger of a logger Logger
// returned gives it back as it is; Logger(nil) is nil.
//
// Fields keep their type when it cannot hold a secret (numbers, bools, times, durations, levels);
// an error becomes an error with redacted text that still unwraps to the original; anything else
// becomes its redacted fmt.Sprint text.
func Logger(l *logrus.Logger) *logrus.Logger {
	if l == nil {
		return nil
	}
	if _, ok := l.Formatter.(discard); ok {
		return l
	}
	out := &logrus.Logger{
		Out:          io.Discard,
		Formatter:    discard{},
		Hooks:        logrus.LevelHooks{},
		Level:        logrus.TraceLevel, // l decides, line by line
		ReportCaller: l.ReportCaller,
		ExitFunc:     l.ExitFunc,
	}
	out.AddHook(forward{to: l})
	return out
}

// discard formats nothing: forward has handed the line to the user's logger already. Its type
// also marks a logger that Logger returned.
type discard struct{}

func (discard) Format(*logrus.Entry) ([]byte, error) { return nil, nil }

// forward redacts a line and logs it with the user's logger.
type forward struct{ to *logrus.Logger }

func (forward) Levels() []logrus.Level { return logrus.AllLevels }

func (f forward) Fire(e *logrus.Entry) error {
	if !f.to.IsLevelEnabled(e.Level) {
		return nil
	}
	data := make(logrus.Fields, len(e.Data))
	for k, v := range e.Data {
		data[k] = Field(v)
	}
	ent := f.to.WithFields(data).WithTime(e.Time)
	ent.Context = e.Context
	ent.Caller = e.Caller
	ent.Log(e.Level, String(e.Message)) // Log never panics or exits: the logger Logger returned does

	return nil
}

// Field returns a log field's value redacted; see Logger.
func Field(v any) any {
	switch x := v.(type) {
	case nil, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, uintptr,
		float32, float64, time.Time, time.Duration, logrus.Level:
		return v
	case string:
		return String(x)
	case error:
		return Error(x)
	}
	return Value(v)
}
