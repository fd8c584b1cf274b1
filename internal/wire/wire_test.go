package wire

import (
	"errors"
	"testing"
)

const eventsAPI = `{"envelope_id":"e1","payload":{"team_id":"T111","api_app_id":"A111","event":{"type":"message","text":"Hello","user":"U1","channel":"C1","ts":"1.2","thread_ts":"1.1"},"type":"event_callback","event_id":"Ev1"},"type":"events_api","accepts_response_payload":false,"retry_attempt":1,"retry_reason":"timeout"}`

func TestDecodeSocketFrame(t *testing.T) {
	f, err := DecodeSocketFrame([]byte(eventsAPI))
	if err != nil {
		t.Fatal(err)
	}
	if f.Type != "events_api" || f.EnvelopeID != "e1" || f.RetryAttempt != 1 || f.RetryReason != "timeout" {
		t.Errorf("frame = %+v", f)
	}
	r, err := RouteSocketPayload(f.Type, f.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if r != (Route{Type: "message", Team: "T111", Channel: "C1", User: "U1", ThreadTS: "1.1", EventID: "Ev1", Text: "Hello", TS: "1.2"}) {
		t.Errorf("route = %+v", r)
	}
}

func TestRoutes(t *testing.T) {
	for _, tt := range []struct {
		name, typ, payload string
		want               Route
	}{
		{"reaction item channel", "events_api", `{"team_id":"T1","event_id":"Ev2","event":{"type":"reaction_added","user":"U1","item":{"type":"message","channel":"C9","ts":"1"}}}`,
			Route{Type: "reaction_added", Team: "T1", Channel: "C9", User: "U1", EventID: "Ev2"}},
		{"channel object", "events_api", `{"team_id":"T1","event":{"type":"channel_created","channel":{"id":"C5","name":"x"}}}`,
			Route{Type: "channel_created", Team: "T1", Channel: "C5"}},
		{"slash", "slash_commands", `{"team_id":"T1","channel_id":"C1","user_id":"U1","command":"/hello","text":""}`,
			Route{Type: "/hello", Team: "T1", Channel: "C1", User: "U1"}},
		{"block actions", "interactive", `{"type":"block_actions","user":{"id":"U1"},"team":{"id":"T1"},"channel":{"id":"C1"},"container":{"channel_id":"C1","thread_ts":"9.9"}}`,
			Route{Type: "block_actions", Team: "T1", Channel: "C1", User: "U1", ThreadTS: "9.9"}},
		{"shortcut null enterprise", "interactive", `{"type":"shortcut","team":{"id":"T1"},"user":{"id":"U1"},"enterprise":null}`,
			Route{Type: "shortcut", Team: "T1", User: "U1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RouteSocketPayload(tt.typ, []byte(tt.payload))
			if err != nil || got != tt.want {
				t.Errorf("RouteSocketPayload = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	for _, in := range []string{``, `nope`, `[]`, `{}`, `{"type":"events_api","payload":{}}`, `{"type":"events_api","envelope_id":"x","payload":"str"}`} {
		if _, err := DecodeSocketFrame([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("DecodeSocketFrame(%q) err = %v, want ErrMalformed", in, err)
		}
	}
	for _, in := range []string{`{`, `{}`, `{"text":"x"}`} {
		if _, err := DecodeRTMFrame([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("DecodeRTMFrame(%q) err = %v, want ErrMalformed", in, err)
		}
	}
}

func TestMessageFields(t *testing.T) {
	f, err := DecodeSocketFrame([]byte(`{"type":"events_api","envelope_id":"e","payload":{"team_id":"T1","event_id":"Ev","event":{"type":"message","subtype":"bot_message","bot_id":"B1","text":"a\nb","ts":"1.5","user":"U1"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if r := f.Route; r.Text != "a\nb" || r.TS != "1.5" || r.Subtype != "bot_message" || r.BotID != "B1" {
		t.Errorf("route %+v", r)
	}
	// Not routed on: another type is no error, and reads as "".
	f, err = DecodeSocketFrame([]byte(`{"type":"events_api","envelope_id":"e","payload":{"event":{"type":"message","bot_id":5,"text":{"x":1}}}}`))
	if err != nil || f.Route.BotID != "" || f.Route.Text != "" {
		t.Errorf("lenient fields: %+v, %v", f.Route, err)
	}
	r, err := DecodeRTMFrame([]byte(`{"type":"message","subtype":"bot_message","bot_id":"B2","text":"hi","ts":"2.5"}`))
	if err != nil || r.Subtype != "bot_message" || r.BotID != "B2" {
		t.Errorf("rtm %+v, %v", r, err)
	}
}
