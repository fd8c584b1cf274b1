package logbridge

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

func TestRecordsReachLogrus(t *testing.T) {
	var out bytes.Buffer
	l := logrus.New()
	l.SetOutput(&out)
	l.SetLevel(logrus.DebugLevel)
	l.SetFormatter(&logrus.TextFormatter{DisableColors: true, DisableTimestamp: true, DisableSorting: false})
	log := slog.New(New(l, slog.LevelInfo)).With("actor", "dispatcher").WithGroup("msg")
	log.Debug("below the minimum")
	log.Warn("dead letter", slog.String("type", "Ping"), slog.Group("pid", slog.String("id", "p1")), slog.Int("n", 2))
	slog.New(New(l, slog.LevelInfo)).Error("failed", slog.Any("error", errors.New("boom")), slog.Duration("after", time.Second))

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2 (the debug one is below the minimum):\n%s", len(lines), out.String())
	}
	for _, want := range []string{"level=warning", `msg="dead letter"`, "actor=dispatcher", "msg.type=Ping", "msg.pid.id=p1", "msg.n=2"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("warn line lacks %s: %s", want, lines[0])
		}
	}
	for _, want := range []string{"level=error", "msg=failed", "error=boom", "after=1s"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("error line lacks %s: %s", want, lines[1])
		}
	}
}

func TestEnabledFollowsBothLevels(t *testing.T) {
	l := logrus.New()
	l.SetLevel(logrus.ErrorLevel)
	h := New(l, slog.LevelWarn)
	for level, want := range map[slog.Level]bool{slog.LevelInfo: false, slog.LevelWarn: false, slog.LevelError: true} {
		if got := h.Enabled(t.Context(), level); got != want {
			t.Errorf("Enabled(%v) = %v, want %v", level, got, want)
		}
	}
}
