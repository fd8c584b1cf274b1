package loadgen

import (
	"encoding/json"
	"testing"

	"github.com/slack-go/slack/slackevents"

	"github.com/switchboard-go/switchboard/internal/wire"
)

func TestMessageEnvelopeIsSlackShaped(t *testing.T) {
	id := newIDs(SocketMode, 3, 2)
	for _, seq := range []int{0, 1, 99, 123456, 1<<24 + 5} {
		b := appendMessageEnvelope(nil, &id, seq)
		if n := len(b); n < 1100 || n > 1300 {
			t.Errorf("seq %d: envelope is %d bytes, want about 1.2 KB", seq, n)
		}
		if !json.Valid(b) {
			t.Fatalf("seq %d: invalid JSON: %s", seq, b)
		}
		f, err := wire.DecodeSocketFrame(b)
		if err != nil {
			t.Fatalf("seq %d: %v", seq, err)
		}
		if f.Type != "events_api" || f.Route.Type != "message" || f.Route.Team != "T0LOADTEAM1" || f.Route.Channel != "C0LOADCHAN1" {
			t.Errorf("seq %d: frame %+v", seq, f)
		}
		var want [36]byte
		if f.EnvelopeID != string(appendEnvelopeID(want[:0], 3, seq)) || f.Route.EventID != string(appendEventID(nil, 3, seq)) {
			t.Errorf("seq %d: envelope_id %q, event_id %q", seq, f.EnvelopeID, f.Route.EventID)
		}
		if s, q, ok := parseEnvelopeID([]byte(f.EnvelopeID)); !ok || s != 3 || q != seq {
			t.Errorf("seq %d: parseEnvelopeID = %d, %d, %v", seq, s, q, ok)
		}
		ev, err := slackevents.ParseEvent(f.Payload, slackevents.OptionNoVerifyToken())
		if err != nil {
			t.Fatalf("seq %d: slackevents: %v", seq, err)
		}
		m, ok := ev.InnerEvent.Data.(*slackevents.MessageEvent)
		if !ok || m.Channel != "C0LOADCHAN1" || m.User != "U0LOADUSER1" || m.Text == "" || m.ChannelType != "channel" || ev.APIAppID != "A0LOAD0002" {
			t.Errorf("seq %d: slackevents gave %T %+v", seq, ev.InnerEvent.Data, m)
		}
	}
}

func TestRTMMessageIsSlackShaped(t *testing.T) {
	id := newIDs(RTM, 7, 7)
	b := appendRTMMessage(nil, &id, 42)
	if n := len(b); n < 500 || n > 800 {
		t.Errorf("RTM message is %d bytes", n)
	}
	f, err := wire.DecodeRTMFrame(b)
	if err != nil {
		t.Fatal(err)
	}
	if f.Type != "message" || string(f.Channel) != "C0LOADCHAN1" || f.TS != "1733050000.000042" {
		t.Errorf("frame %+v", f)
	}
}

func TestEnvelopeIDOf(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`{"envelope_id":"abc"}`, "abc"},
		{`{"envelope_id": "abc","payload":{}}`, "abc"},
		{`{"payload":{},"envelope_id":"x-y"}`, "x-y"},
		{`{"type":"hello"}`, ""},
		{`{"envelope_id":12}`, ""},
	} {
		if got := string(envelopeIDOf([]byte(tt.in))); got != tt.want {
			t.Errorf("envelopeIDOf(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if _, _, ok := parseEnvelopeID([]byte("5b000001-0000-4000-8000-000000000001")); ok {
		t.Error("a forged ID parsed")
	}
}
