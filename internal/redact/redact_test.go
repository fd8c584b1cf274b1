package redact

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-go/switchboard/internal/logbridge"
	"go.uber.org/goleak"
)

func TestString(t *testing.T) {
	for _, tt := range []struct{ in, secret, keep string }{
		{"token xoxb-123-456-abcdef used", "123-456-abcdef", "xoxb-… used"},
		{"app xapp-1-A111-222-deadbeef", "A111-222-deadbeef", "xapp-…"},
		{"post http://127.0.0.1:80/services/T1/B2/SeCrEt failed", "SeCrEt", "/services/T1/… failed"},
		{"url https://hooks.slack.com/commands/T111/111/xxxyyy", "xxxyyy", "/commands/T111/…"},
		{"dial ws://h/link/?ticket=abc123&app_id=A1", "abc123", "&app_id=A1"},
		{"dial ws://h/websocket/tkt987", "tkt987", "ws://h/websocket/…"},
		// anywhere in a word, after ANSI escapes, in upper case
		{"code\x1b[31mxoxb-1-2-SECRET\x1b[0m", "SECRET", "code\x1b[31mxoxb-…"},
		{"notxoxp-9-9-SECRET", "SECRET", "notxoxp-…"},
		{"XOXB-1-2-SECRET", "SECRET", "XOXB-…"},
		{"rotating xoxe.xoxp-1-SECRET", "SECRET", "xoxe.xoxp-…"},
		// control characters and escapes never end a secret
		{"xoxb-1-2-SEC\x00RET tail", "RET", "xoxb-… tail"},
		{"xoxb-1-2-SEC\nRET", "RET", "xoxb-…"},
		{`"xoxb-1-2-SEC\x7fRET"`, "RET", `"xoxb-…"`},
		{`"xoxb-1-2-SEC\"RET"`, "RET", `"xoxb-…"`},
		{"http://h/services/T1/B2/SEC\x7fRET", "RET", "/services/T1/…"},
		{"http://h/services/T\x001/B2/SECRET", "SECRET", "/services/…"},
		{`parse "wss://h/link/?ticket=abc\x7fSECRET&app_id=A1": net/url: invalid control character in URL`, "SECRET", "&app_id=A1"},
		// query values, headers, credentials in URLs
		{"POST /api/auth.test?token=plainSECRET&x=1", "plainSECRET", "token=…&x=1"},
		{"client_secret=abcSECRET", "abcSECRET", "client_secret=…"},
		{"Authorization: Bearer plainSECRET", "plainSECRET", "Authorization: Bearer …"},
		{"Proxy-Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz", "Proxy-Authorization: Basic …"},
		{"proxyconnect tcp: http://user:p%40ss@proxy:3128 failed", "p%40ss", "http://…@proxy:3128 failed"},
		{"http://us\x01er:pa@ss@proxy:3128/x", "pa@ss", "http://…@proxy:3128/x"},
		{"https://hooks.slack.com/app/T111/222/appSECRET", "appSECRET", "/app/T111/…"},
		{"https://hooks.slack.com/app/T1\x002/222/appSECRET", "appSECRET", "/app/T1\x002/…"},
		{"/websocket/tktSECRET", "tktSECRET", "/websocket/…"},
		{`GET "/link/?ticket=tktSECRET"`, "tktSECRET", `"/link/…"`},
		// no secret: unchanged
		{"github.com/gorilla/websocket/conn.go:123", "", "github.com/gorilla/websocket/conn.go:123"},
		{"panic at /app/handlers/deploy.go:42", "", "/app/handlers/deploy.go:42"},
		{"session ended: socket read: EOF", "", "session ended: socket read: EOF"},
		{"ws://127.0.0.1:34609", "", "ws://127.0.0.1:34609"},
	} {
		got := String(tt.in)
		if tt.secret != "" && strings.Contains(got, tt.secret) {
			t.Errorf("String(%q) = %q still holds %q", tt.in, got, tt.secret)
		}
		if !strings.Contains(got, tt.keep) {
			t.Errorf("String(%q) = %q, want it to hold %q", tt.in, got, tt.keep)
		}
	}
}

func TestTokenAndURL(t *testing.T) {
	if got := Token("xoxb-1-2-3"); got != "xoxb-…" {
		t.Errorf("Token = %q", got)
	}
	if got := Token(""); got != "" {
		t.Errorf("Token(empty) = %q", got)
	}
	if got := Token("x\x1b-SECRET"); got != "…" {
		t.Errorf("Token(control) = %q", got)
	}
	for _, tt := range []struct{ in, want string }{
		{"https://hooks.slack.com/services/T/B/X", "https://hooks.slack.com/…"},
		{"https://hooks.slack.com", "https://hooks.slack.com"},
		{"http://user:pass@proxy:3128", "http://proxy:3128"},
		{"https://hooks.slack.com/services/T/B/SEC\x00RET", "https://hooks.slack.com/…"},
		{"https://hooks.slack.com/services/T/B/SEC\nRET", "https://hooks.slack.com/…"},
		{"https://ho\x7fst/services/T/B/SECRET", "https://ho?st/…"},
		{"wss://h/link/?ticket=SECRET\x01", "wss://h/…"},
	} {
		if got := URL(tt.in); got != tt.want {
			t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := URL("not a url xoxb-1-2"); strings.Contains(got, "1-2") {
		t.Errorf("URL kept a token: %q", got)
	}
}

func TestError(t *testing.T) {
	if Error(nil) != nil {
		t.Fatal("Error(nil) != nil")
	}
	sentinel := errors.New("boom")
	_, perr := url.Parse("wss://h/link/?ticket=SECRET\x7f&app_id=A1")
	err := Error(fmt.Errorf("dial: %w: %w", perr, sentinel))
	if strings.Contains(err.Error(), "SECRET") || !strings.Contains(err.Error(), "app_id=A1") {
		t.Errorf("Error() = %q", err)
	}
	var ue *url.Error
	if !errors.Is(err, sentinel) || !errors.As(err, &ue) {
		t.Errorf("the chain is lost: %v", err)
	}
	if Error(err) != err {
		t.Error("Error of a redacted error wraps it again")
	}
	if got := fmt.Sprintf("wrapped: %v", fmt.Errorf("x: %w", err)); strings.Contains(got, "SECRET") {
		t.Errorf("wrapping shows the secret: %s", got)
	}
}

func TestValue(t *testing.T) {
	for _, v := range []any{
		"handler boom xoxb-1-2-SECRET",
		errors.New("boom xapp-1-A1-SECRET"),
		struct{ URL string }{"https://hooks.slack.com/services/T1/B1/SECRET"},
		[]string{"ok", "xoxp-SECRET"},
	} {
		if got := Value(v); strings.Contains(got, "SECRET") {
			t.Errorf("Value(%#v) = %q", v, got)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type recordHook struct {
	mu      sync.Mutex
	entries []logrus.Entry
}

func (h *recordHook) Levels() []logrus.Level { return logrus.AllLevels }
func (h *recordHook) Fire(e *logrus.Entry) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.entries = append(h.entries, *e)
	return nil
}

func TestLogger(t *testing.T) {
	for _, f := range []logrus.Formatter{&logrus.JSONFormatter{}, &logrus.TextFormatter{DisableColors: true}} {
		user := logrus.New()
		var out syncBuffer
		hook := &recordHook{}
		user.SetOutput(&out)
		user.SetFormatter(f)
		user.AddHook(hook)
		user.SetLevel(logrus.InfoLevel)
		beforeOut, beforeFormatter := user.Out, user.Formatter

		l := Logger(user)
		if Logger(l) != l {
			t.Fatal("Logger of a redacting logger wraps it again")
		}
		base := errors.New("read xoxb-1-2-SECRET")
		l.WithError(fmt.Errorf("dial: %w", base)).WithFields(logrus.Fields{
			"panic": "handler boom xoxb-1-2-SECRET", "url": "https://h/services/T1/B1/SECRET",
			"n": 3, "delay": time.Second, "value": struct{ Tok string }{"xapp-1-SECRET"},
		}).Warn("session ended xoxp-SECRET")
		l.Debug("not at info level")
		user.SetLevel(logrus.DebugLevel) // the user's level applies line by line
		l.Debug("now at debug level")
		user.Info("the user's own line")

		got := out.String()
		if strings.Contains(got, "SECRET") {
			t.Errorf("%T: a secret in the log:\n%s", f, got)
		}
		for _, want := range []string{"session ended xoxp-…", "handler boom xoxb-…", "now at debug level", "the user's own line", "delay"} {
			if !strings.Contains(got, want) {
				t.Errorf("%T: %q missing in:\n%s", f, want, got)
			}
		}
		if strings.Contains(got, "not at info level") || strings.Count(got, "\n") != 3 {
			t.Errorf("%T: want 3 lines:\n%s", f, got)
		}
		hook.mu.Lock()
		first := hook.entries[0]
		hook.mu.Unlock()
		if err, ok := first.Data[logrus.ErrorKey].(error); !ok || !errors.Is(err, base) || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("error field %#v: want a redacted error unwrapping to the original", first.Data[logrus.ErrorKey])
		}
		if first.Data["n"] != 3 || first.Data["delay"] != time.Second {
			t.Errorf("scalar fields changed: %#v", first.Data)
		}
		if user.Out != beforeOut || user.Formatter != beforeFormatter || len(user.Hooks[logrus.InfoLevel]) != 1 {
			t.Error("Logger changed the user's logger")
		}
	}
}

func TestLoggerNil(t *testing.T) {
	if Logger(nil) != nil {
		t.Fatal("Logger(nil) != nil")
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// protoactor logs through slog-logrus: its lines and attributes are redacted too.
func TestLoggerUnderSlog(t *testing.T) {
	user := logrus.New()
	var out syncBuffer
	user.SetOutput(&out)
	user.SetFormatter(&logrus.JSONFormatter{})
	l := slog.New(logbridge.New(Logger(user), slog.LevelInfo))
	l.Warn("dead letter xoxb-1-2-SECRET", slog.Any("message", struct{ URL string }{"https://h/services/T1/B1/SECRET"}),
		slog.String("pid", "ticket=SECRET"), slog.Int("n", 1))
	got := out.String()
	if strings.Contains(got, "SECRET") || !strings.Contains(got, "dead letter xoxb-…") {
		t.Errorf("slog line: %s", got)
	}
}
