package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// Seeds are frames from SLACK_PROTOCOL.md §3–§4.
var socketSeeds = []string{
	`{"type":"hello","num_connections":1,"debug_info":{"host":"applink-1","build_number":14,"approximate_connection_time":18060},"connection_info":{"app_id":"A0469A3MM9D"}}`,
	`{"type":"disconnect","reason":"refresh_requested","debug_info":{"host":"wss-111.slack.com"}}`,
	`{"type":"disconnect","reason":"too_many_websockets","num_connections":2,"debug_info":{"host":"applink-111-xxx"},"connection_info":{"app_id":"A111"}}`,
	eventsAPI,
	`{"envelope_id":"1d3c79ab-0ffb-41f3-a080-d19e85f53649","payload":{"token":"verification-token","team_id":"T111","team_domain":"xxx","channel_id":"C111","channel_name":"random","user_id":"U111","user_name":"testxyz","command":"/hello-socket-mode","text":"","api_app_id":"A111","response_url":"https://hooks.slack.com/commands/T111/111/xxx","trigger_id":"111.222.xxx"},"type":"slash_commands","accepts_response_payload":true}`,
	`{"envelope_id":"57d6a792-4d35-4d0b-b6aa-3361493e1caf","payload":{"type":"shortcut","token":"verification-token","action_ts":"1610198080.300836","team":{"id":"T111","domain":"testxyz"},"user":{"id":"U111","username":"testxyz","team_id":"T111"},"is_enterprise_install":false,"enterprise":null,"callback_id":"do-something","trigger_id":"111.222.xxx"},"type":"interactive","accepts_response_payload":false}`,
	`{"payload": {"type": "block_suggestion", "user": {"id": "U123ABC456", "name": "panther"}, "team": {"id": "T123ABC456", "domain": "rilke"}, "block_id": "search-block", "action_id": "seach-action", "value": "an", "view": {"id": "V111", "type": "modal", "callback_id": "view-id"}}, "envelope_id": "dbdd0ef3-1543-4f94-bfb4-133d0e6c1545", "type": "interactive", "accepts_response_payload": true}`,
	`{"type":"events_api","envelope_id":"x","payload":{"event":{"channel":{"id":1},"user":null}}}`,
	`{"type":"events_api","envelope_id":"x","payload":[1,2]}`,
	``, `{`, `null`, `"hello"`,
}

var rtmSeeds = []string{
	`{"type": "hello"}`,
	`{"type": "goodbye"}`,
	`{"type": "error", "error": {"code": 1, "msg": "Socket URL has expired"}}`,
	`{"ok": true, "reply_to": 1, "ts": "1355517523.000005", "text": "Hello world"}`,
	`{"ok": false, "reply_to": 27, "error": {"code": -1, "msg": "slow down, too many messages..."}}`,
	`{"reply_to": 1234, "type": "pong", "time": 1403299273342}`,
	`{"type": "reaction_added", "user": "U123ABC456", "reaction": "thumbsup", "item_user": "U222222222", "item": {"type": "message", "channel": "C123ABC456", "ts": "1360782400.498405"}, "event_ts": "1360782804.083113"}`,
	`{"type": "channel_joined", "channel": {"id": "C024BE91L", "name": "fun", "created": 1360782804, "creator": "U024BE7LH", "is_channel": true}}`,
	`{"type":"message","reply_to":"x"}`, `{"type":1}`, ``,
}

// FuzzDecodeSocketFrame checks that no input panics and that a frame either decodes or fails
// with ErrMalformed; a decoded envelope always has an envelope ID and an object payload whose
// routing decodes or fails with ErrMalformed.
func FuzzDecodeSocketFrame(f *testing.F) {
	for _, s := range socketSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := DecodeSocketFrame(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		switch fr.Type {
		case "events_api", "slash_commands", "interactive":
			if fr.EnvelopeID == "" || len(fr.Payload) == 0 || fr.Payload[0] != '{' {
				t.Fatalf("envelope accepted without id or object payload: %q", data)
			}
			if _, err := RouteSocketPayload(fr.Type, fr.Payload); err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatalf("route error %v is not ErrMalformed", err)
			}
		}
	})
}

// FuzzRouteSocketPayload feeds arbitrary payloads to the router of each envelope type.
func FuzzRouteSocketPayload(f *testing.F) {
	for _, s := range socketSeeds {
		if fr, err := DecodeSocketFrame([]byte(s)); err == nil && len(fr.Payload) > 0 {
			f.Add(fr.Type, []byte(fr.Payload))
		}
	}
	f.Add("interactive", []byte(`{"team":"T1","channel":[],"user":{"id":7}}`))
	f.Fuzz(func(t *testing.T, typ string, payload []byte) {
		if _, err := RouteSocketPayload(typ, payload); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v is not ErrMalformed", err)
		}
	})
}

// FuzzDecodeRTMFrame checks that no RTM frame panics the decoder and that errors are ErrMalformed.
func FuzzDecodeRTMFrame(f *testing.F) {
	for _, s := range rtmSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := DecodeRTMFrame(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if fr.Type == "" && fr.ReplyTo == nil {
			t.Fatalf("frame accepted with neither type nor reply_to: %q", data)
		}
	})
}

// socketKeys are the keys the decoders read. encoding/json matches them without regard to case
// (and folds ſ and K); the one-pass decoder matches them exactly, as Slack sends them.
var socketKeys = []string{"type", "envelope_id", "payload", "accepts_response_payload", "retry_attempt",
	"retry_reason", "reason", "num_connections", "team_id", "event_id", "event", "command", "channel_id",
	"user_id", "team", "channel", "user", "container", "thread_ts", "item", "id"}

// caseVariantKey reports whether data holds a read key spelled in another case, where the two
// decoders are meant to differ.
func caseVariantKey(data []byte) bool { return caseVariantKeyOf(data, socketKeys) }

// caseVariantKeyOf is caseVariantKey for the keys given.
func caseVariantKeyOf(data []byte, keys []string) bool {
	if bytes.Contains(data, []byte("\u017f")) || bytes.Contains(data, []byte("\u212a")) || bytes.Contains(data, []byte(`\u`)) {
		return true
	}
	lower := make([]byte, len(data)) // ASCII only: bytes.ToLower may change the length
	for i, c := range data {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	for _, k := range keys {
		q := []byte(`"` + k + `"`)
		for i := 0; ; {
			j := bytes.Index(lower[i:], q)
			if j < 0 {
				break
			}
			if !bytes.Equal(data[i+j:i+j+len(q)], q) {
				return true
			}
			i += j + 1
		}
	}
	return false
}

// FuzzDecodeMatchesEncodingJSON: the one-pass decoder accepts exactly the frames the two-pass
// encoding/json decoder accepted, and reads the same fields from them.
func FuzzDecodeMatchesEncodingJSON(f *testing.F) {
	for _, s := range socketSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if caseVariantKey(data) {
			return
		}
		got, err := DecodeSocketFrame(data)
		ref, refErr := refDecodeSocketFrame(data)
		var refRoute Route
		if refErr == nil && isEnvelope(ref.Type) {
			refRoute, refErr = refRouteSocketPayload(ref.Type, ref.Payload)
		}
		if (err == nil) != (refErr == nil) {
			t.Fatalf("%q: one pass says %v, encoding/json says %v", data, err, refErr)
		}
		if err != nil {
			return
		}
		if got.Type != ref.Type || got.EnvelopeID != ref.EnvelopeID || !bytes.Equal(got.RawEnvelopeID, ref.RawEnvelopeID) ||
			got.Accepts != ref.Accepts || got.RetryAttempt != ref.RetryAttempt || got.RetryReason != ref.RetryReason ||
			got.Reason != ref.Reason || got.NumConnections != ref.NumConnections || routing(got.Route) != refRoute {
			t.Fatalf("%q:\none pass   %+v\nencoding/json %+v route %+v", data, got, ref, refRoute)
		}
		if len(got.Payload) == 0 && len(ref.Payload) == 0 {
			return
		}
		var a, b any
		if json.Unmarshal(got.Payload, &a) != nil || json.Unmarshal(ref.Payload, &b) != nil || !reflect.DeepEqual(a, b) {
			t.Fatalf("%q: payload %q, want %q", data, got.Payload, ref.Payload)
		}
	})
}

var rtmKeys = []string{"type", "reply_to", "ok", "ts", "text", "error", "channel", "user", "thread_ts", "item", "code", "msg", "id"}

// FuzzDecodeRTMMatchesEncodingJSON: the one-pass RTM decoder accepts exactly the frames the
// encoding/json decoder accepted, and reads the same fields (the item's channel included).
func FuzzDecodeRTMMatchesEncodingJSON(f *testing.F) {
	for _, s := range rtmSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if caseVariantKeyOf(data, rtmKeys) {
			return
		}
		got, err := DecodeRTMFrame(data)
		ref, refErr := refDecodeRTMFrame(data)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("%q: one pass says %v, encoding/json says %v", data, err, refErr)
		}
		if err != nil {
			return
		}
		var refItem struct {
			Channel string `json:"channel"`
		}
		if len(ref.Item) > 0 && json.Unmarshal(ref.Item, &refItem) != nil {
			refItem.Channel = ""
		}
		if got.Type != ref.Type || !reflect.DeepEqual(got.ReplyTo, ref.ReplyTo) || !reflect.DeepEqual(got.OK, ref.OK) ||
			got.TS != ref.TS || got.Text != ref.Text || !reflect.DeepEqual(got.Error, ref.Error) ||
			got.Channel != string(ref.Channel) || got.User != string(ref.User) || got.Thread != ref.Thread ||
			got.ItemChannel != refItem.Channel || !bytes.Equal(got.Item, ref.Item) {
			t.Fatalf("%q:\none pass   %+v\nencoding/json %+v (item channel %q)", data, got, ref, refItem.Channel)
		}
	})
}

// routing is r without the message fields read for handlers (which encoding/json's decoder did
// not read; TestMessageFields covers them).
func routing(r Route) Route {
	r.Text, r.TS, r.Subtype, r.BotID = "", "", "", ""
	return r
}
