package messages

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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

func TestAckSendsOnceUnderRace(t *testing.T) {
	var sent atomic.Int32
	var payload []byte
	a := NewAck(true, func(p []byte) { sent.Add(1); payload = p })
	var wg sync.WaitGroup
	wins := atomic.Int32{}
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if a.Send([]byte(`{"n":1}`)) {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if sent.Load() != 1 || wins.Load() != 1 || string(payload) != `{"n":1}` || !a.Done() {
		t.Errorf("sent %d, wins %d, payload %s", sent.Load(), wins.Load(), payload)
	}
}

func TestAckHoldRelease(t *testing.T) {
	var sent atomic.Int32
	a := NewAck(false, func([]byte) { sent.Add(1) })
	a.Hold(1) // dispatcher's guard
	a.Hold(2) // two subscribers
	a.Release()
	a.Release()
	if sent.Load() != 0 {
		t.Fatal("acked before the guard was released")
	}
	a.Release()
	if sent.Load() != 1 {
		t.Fatal("not acked after the last release")
	}
}

func TestRespondErrors(t *testing.T) {
	ev := &Event{Kind: KindEventsAPI, EnvelopeID: "e1"}
	if err := ev.Respond("x"); !errors.Is(err, ErrNoResponse) {
		t.Errorf("no ack: %v", err)
	}
	var got []byte
	ev.AttachAck(NewAck(true, func(p []byte) { got = p }))
	if err := ev.Respond(map[string]string{"text": string(make([]byte, MaxResponseSize))}); !errors.Is(err, ErrResponseTooLarge) {
		t.Errorf("too large: %v", err)
	}
	if err := ev.Respond(make(chan int)); err == nil {
		t.Error("unmarshalable payload accepted")
	}
	if err := ev.Respond(map[string]string{"text": "ok"}); err != nil || string(got) != `{"text":"ok"}` {
		t.Errorf("respond: %v, payload %s", err, got)
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
