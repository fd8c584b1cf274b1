package redact

import (
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	for _, tt := range []struct{ in, secret string }{
		{"token xoxb-123-456-abcdef used", "123-456-abcdef"},
		{"app xapp-1-A111-222-deadbeef", "A111-222-deadbeef"},
		{"post http://127.0.0.1:80/services/T1/B2/SeCrEt failed", "SeCrEt"},
		{"url https://hooks.slack.com/commands/T111/111/xxxyyy", "xxxyyy"},
		{"dial ws://h/link/?ticket=abc123&app_id=A1", "abc123"},
		{"dial ws://h/websocket/tkt987", "tkt987"},
	} {
		if got := String(tt.in); strings.Contains(got, tt.secret) {
			t.Errorf("String(%q) = %q still holds %q", tt.in, got, tt.secret)
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
	if got := URL("https://hooks.slack.com/services/T/B/X"); got != "https://hooks.slack.com/…" {
		t.Errorf("URL = %q", got)
	}
	if got := URL("not a url xoxb-1-2"); strings.Contains(got, "1-2") {
		t.Errorf("URL kept a token: %q", got)
	}
}
