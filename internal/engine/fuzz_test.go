package engine

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/messages"
)

// answerTransport answers every request with one canned response, without a network.
type answerTransport struct {
	status     int
	retryAfter string
	body       []byte
}

func (a answerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	if a.retryAfter != "" {
		h.Set("Retry-After", a.retryAfter)
	}
	return &http.Response{StatusCode: a.status, Header: h, Body: io.NopCloser(bytes.NewReader(a.body)),
		ContentLength: int64(len(a.body)), Request: r, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}, nil
}

// webAPISeeds are answers of rtm.connect, rtm.start and apps.connections.open from the protocol
// examples, Slack's refusals, and edge cases.
var webAPISeeds = []struct {
	status     int
	retryAfter string
	body       string
}{
	{200, "", `{"ok":true,"url":"wss://cerberus-xxxx.lb.slack-msgs.com/websocket/ABCxyz","team":{"id":"T024BE7LD","name":"Example","domain":"example"},"self":{"id":"W123456","name":"bot"}}`},
	{200, "", `{"ok":true,"url":"wss://wss-primary.slack.com/link/?ticket=1234-5678&app_id=A123"}`},
	{200, "", `{"ok":false,"error":"invalid_auth"}`},
	{200, "", `{"ok":false,"error":"not_allowed_token_type"}`},
	{200, "", `{"ok":false,"error":"token_revoked"}`},
	{200, "", `{"ok":false,"error":"missing_scope","needed":"connections:write","provided":"chat:write"}`},
	{429, "30", `{"ok":false,"error":"ratelimited"}`},
	{429, "", ``},
	{429, "abc", `{}`},
	{429, "99999999999999", `{"ok":false,"error":"ratelimited"}`},
	{500, "", `<html>oops</html>`},
	{503, "", ``},
	{200, "", `{"ok":true}`},
	{200, "", `{"ok":true,"url":""}`},
	{200, "", `{"ok":"yes","url":7}`},
	{200, "", `null`}, {200, "", `[]`}, {200, "", `{`}, {200, "", ""},
}

// checkOpenError checks what every open path must give: a typed, classifiable error; a Slack
// refusal keeps Slack's code; a 429 reads as rate limited with a Retry-After that is never negative.
func checkOpenError(t *testing.T, status int, err error) {
	t.Helper()
	_ = messages.Classify(err)
	_ = messages.Advice(err)
	_ = err.Error()
	if ra := messages.RetryAfter(err); ra < 0 {
		t.Fatalf("negative Retry-After %v from %v", ra, err)
	}
	if status == http.StatusTooManyRequests && !errors.Is(err, messages.ErrRateLimited) {
		t.Fatalf("429 answered %v, not rate limited", err)
	}
}

// FuzzOpenRTMURL feeds arbitrary rtm.connect answers (status, Retry-After, body) to openRTMURL.
func FuzzOpenRTMURL(f *testing.F) {
	for _, s := range webAPISeeds {
		f.Add(s.status, s.retryAfter, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, status int, retryAfter string, body []byte) {
		if status < 100 || status > 999 || strings.ContainsAny(retryAfter, "\r\n\x00") {
			return // not an answer net/http would hand over
		}
		spec := RTMSpec{ConnectMethod: "rtm.connect", APIURL: "http://slack.test/api/", Token: "xoxb-1",
			HTTP: &http.Client{Transport: answerTransport{status, retryAfter, body}, Timeout: 5 * time.Second}}
		u, raw, err := openRTMURL(context.Background(), spec)
		if err != nil {
			if u != "" || raw != nil {
				t.Fatalf("error %v with url %q", err, u)
			}
			checkOpenError(t, status, err)
			return
		}
		if u == "" || !bytes.Equal(raw, body) {
			t.Fatalf("accepted without a url, or answer not kept whole: %q", u)
		}
	})
}

// FuzzOpenSocketModeURL feeds arbitrary apps.connections.open answers (status, Retry-After, body)
// to openSocketModeURL, which reads them as raw HTTP like rtm.connect.
func FuzzOpenSocketModeURL(f *testing.F) {
	for _, s := range webAPISeeds {
		f.Add(s.status, s.retryAfter, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, status int, retryAfter string, body []byte) {
		if status < 100 || status > 999 || strings.ContainsAny(retryAfter, "\r\n\x00") {
			return
		}
		env := &Env{APIURL: "http://slack.test/api/",
			HTTP: &http.Client{Transport: answerTransport{status, retryAfter, body}, Timeout: 5 * time.Second}}
		u, err := openSocketModeURL(context.Background(), env, "xapp-1")
		if err != nil {
			checkOpenError(t, status, err)
			return
		}
		if u == "" {
			t.Fatal("accepted an answer without a url")
		}
	})
}
