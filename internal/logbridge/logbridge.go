// Package logbridge hands log/slog records to a logrus logger, so that what protoactor-go logs
// (through slog) reaches the same logger, hooks and redaction as the runtime's own lines.
package logbridge

import (
	"context"
	"log/slog"
	"maps"

	"github.com/sirupsen/logrus"
)

// New returns a slog.Handler that logs each record of at least min to l: its message, time and
// level (Debug, Info, Warn, Error), and its attributes as fields, a group's keys prefixed with
// the group's name and a dot. An error under the key "error" or "err" becomes logrus's error
// field.
func New(l *logrus.Logger, min slog.Level) slog.Handler {
	return &handler{log: l, min: min}
}

type handler struct {
	log    *logrus.Logger
	min    slog.Level
	fields logrus.Fields // from WithAttrs, keys already prefixed
	prefix string        // from WithGroup: "a.b."
}

func (h *handler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.min && h.log.IsLevelEnabled(logrusLevel(level))
}

func (h *handler) Handle(_ context.Context, r slog.Record) error {
	fields := make(logrus.Fields, len(h.fields)+r.NumAttrs())
	maps.Copy(fields, h.fields)
	r.Attrs(func(a slog.Attr) bool {
		add(fields, h.prefix, a)
		return true
	})
	e := logrus.NewEntry(h.log).WithFields(fields)
	if !r.Time.IsZero() {
		e = e.WithTime(r.Time)
	}
	e.Log(logrusLevel(r.Level), r.Message)
	return nil
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	n.fields = make(logrus.Fields, len(h.fields)+len(as))
	maps.Copy(n.fields, h.fields)
	for _, a := range as {
		add(n.fields, h.prefix, a)
	}
	return &n
}

func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	n := *h
	n.prefix += name + "."
	return &n
}

// add puts a into fields under prefix: a group's attributes one by one, an empty attribute not
// at all, as slog's handlers do.
func add(fields logrus.Fields, prefix string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range a.Value.Group() {
			add(fields, p, g)
		}
		return
	}
	v := a.Value.Any()
	if err, ok := v.(error); ok && prefix == "" && (a.Key == "error" || a.Key == "err") {
		fields[logrus.ErrorKey] = err
		return
	}
	fields[prefix+a.Key] = v
}

func logrusLevel(l slog.Level) logrus.Level {
	switch {
	case l >= slog.LevelError:
		return logrus.ErrorLevel
	case l >= slog.LevelWarn:
		return logrus.WarnLevel
	case l >= slog.LevelInfo:
		return logrus.InfoLevel
	}
	return logrus.DebugLevel
}
