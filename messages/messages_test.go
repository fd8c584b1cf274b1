package messages

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

func TestSlackErrorWrapping(t *testing.T) {
	err := fmt.Errorf("open: %w", &SlackError{Method: "apps.connections.open", Code: ErrRateLimited, RetryAfter: 3 * time.Second})
	if !errors.Is(err, ErrRateLimited) {
		t.Error("errors.Is through SlackError failed")
	}
	if RetryAfter(err) != 3*time.Second || CodeOf(err) != ErrRateLimited {
		t.Errorf("RetryAfter %v, CodeOf %q", RetryAfter(err), CodeOf(err))
	}
	if got := err.Error(); got != "open: apps.connections.open: slack: ratelimited" {
		t.Errorf("Error() = %q", got)
	}
	if CodeOf(errors.New("x")) != "" || RetryAfter(nil) != 0 {
		t.Error("non-Slack errors have a code")
	}
}

func TestClassify(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want Verdict
	}{
		{ErrTokenRevoked, Stop},
		{&SlackError{Method: "rtm.connect", Code: ErrNotAllowedTokenType}, Stop},
		{fmt.Errorf("%w: disconnect", ErrGoodbye), RetryNow},
		{ErrReplaced, RetryNow},
		{ErrStale, Retry},
		{ErrTooManyWebsockets, Retry},
		{&SocketError{Op: "read", Err: errors.New("EOF")}, Retry},
		{&SlackError{Method: "rtm.connect", Code: "fatal_error"}, Retry},
	} {
		if got := Classify(tt.err); got != tt.want {
			t.Errorf("Classify(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// oneAck is a Source whose ack takes a response and can be sent once.
type oneAck struct {
	sent bool
	got  []byte
}

func (a *oneAck) AcceptsResponse() bool { return true }

func (a *oneAck) Respond(p []byte) bool {
	if a.sent {
		return false
	}
	a.sent, a.got = true, p
	return true
}

func (a *oneAck) Client(context.Context, string) (*slack.Client, error) { return nil, nil }

func TestRespondErrors(t *testing.T) {
	ev := &Event{Kind: KindEventsAPI, EnvelopeID: "e1"}
	if err := ev.Respond("x"); !errors.Is(err, ErrNoResponse) {
		t.Errorf("no ack: %v", err)
	}
	src := &oneAck{}
	ev = NewEvent(src, &Event{Kind: KindSlashCommand, EnvelopeID: "e1"})
	if err := ev.Respond(map[string]string{"text": string(make([]byte, MaxResponseSize))}); !errors.Is(err, ErrResponseTooLarge) {
		t.Errorf("too large: %v", err)
	}
	if err := ev.Respond(make(chan int)); err == nil {
		t.Error("unmarshalable payload accepted")
	}
	if err := ev.Respond(map[string]string{"text": "ok"}); err != nil || string(src.got) != `{"text":"ok"}` {
		t.Errorf("respond: %v, payload %s", err, src.got)
	}
	if err := ev.Respond("again"); !errors.Is(err, ErrAlreadyAcked) {
		t.Errorf("second respond: %v", err)
	}
}

func TestResponseURL(t *testing.T) {
	for _, tt := range []struct {
		kind Kind
		raw  string
		want string
	}{
		{KindSlashCommand, `{"command":"/x","response_url":"https://h/commands/T/1/s"}`, "https://h/commands/T/1/s"},
		{KindInteractive, `{"type":"view_submission","response_urls":[{"response_url":"https://h/app/T/2/s"}]}`, "https://h/app/T/2/s"},
		{KindInteractive, `{"type":"shortcut"}`, ""},
		{KindEventsAPI, `{"response_url":"https://h/x"}`, ""},
		{KindSlashCommand, `not json`, ""},
	} {
		ev := &Event{Kind: tt.kind, Raw: json.RawMessage(tt.raw)}
		if got := ev.ResponseURL(); got != tt.want {
			t.Errorf("ResponseURL(%s) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

func TestClientNeverNilWithoutError(t *testing.T) {
	for _, ev := range []*Event{
		{Kind: KindEventsAPI, Team: "T1"},                            // no source
		NewEvent(&oneAck{}, &Event{Kind: KindEventsAPI}),             // no team
		NewEvent(&oneAck{}, &Event{Kind: KindEventsAPI, Team: "T1"}), // a source that answers nil, nil
	} {
		c, err := ev.Client(context.Background())
		if c != nil || !errors.Is(err, ErrNoClient) || (ev.Team != "" && !strings.Contains(err.Error(), ev.Team)) {
			t.Errorf("Client() = %v, %v: want ErrNoClient naming the team", c, err)
		}
	}
}
