package engine

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-go/switchboard/internal/wire"
)

// TestAckMessageMatchesSlackGo: a reply_to frame converted from the wire decoder is what slack-go
// decodes from the same bytes (slack.RTMError has no JSON tags: encoding/json matches "code" and
// "msg" to Code and Msg case-insensitively).
func TestAckMessageMatchesSlackGo(t *testing.T) {
	for _, frame := range []string{
		`{"ok":true,"reply_to":1,"ts":"1355517523.000005","text":"Hello world"}`,
		`{"ok":false,"reply_to":2,"error":{"code":-1,"msg":"slow down, too many messages..."}}`,
		`{"reply_to":3,"error":{"code":2,"msg":"message text is missing"}}`,
	} {
		f, err := wire.DecodeRTMFrame([]byte(frame))
		if err != nil {
			t.Fatalf("%s: %v", frame, err)
		}
		var want slack.AckMessage
		if err := json.Unmarshal([]byte(frame), &want); err != nil {
			t.Fatal(err)
		}
		if got := ackMessage(f); !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", frame, got, want)
		}
	}
}

// TestRTMKinds: each RTM frame gets its kind once, in the decoder; an event comes out as its
// *rtmEvent, made from the frame.
func TestRTMKinds(t *testing.T) {
	for frame, want := range map[string]frameKind{
		`{"type":"hello"}`:                    frameHello,
		`{"type":"goodbye"}`:                  frameGoodbye,
		`{"type":"error","error":{"code":1}}`: frameError,
		`{"type":"reconnect_url","url":"x"}`:  frameIgnored,
		`{"type":"pong","reply_to":4}`:        framePong,
		`{"type":"pong"}`:                     framePong,
		`{"reply_to":5,"ok":true}`:            frameReply,
		`{"type":"message","channel":"C1"}`:   frameEvent,
		`{"type":"user_typing"}`:              frameEvent,
	} {
		m, event, err := decodeRTM(1)([]byte(frame), time.Time{})
		if err != nil {
			t.Fatalf("%s: %v", frame, err)
		}
		if k := m.(frameMsg).kindOf(); k != want || event != (want == frameEvent) {
			t.Errorf("%s: kind %d (event %v), want %d", frame, k, event, want)
		}
		if e, ok := m.(*rtmEvent); ok != (want == frameEvent) || ok && (e.ev.Session != 1 || string(e.ev.Raw) != frame) {
			t.Errorf("%s: message %T, want *rtmEvent only for events, with the session and the frame as Raw", frame, m)
		}
	}
}
