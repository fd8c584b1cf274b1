package wire

import (
	"strings"
	"testing"
)

// benchEnvelope is a message envelope of about 1.2 KB, shaped like Slack's (blocks included).
var benchEnvelope = []byte(`{"envelope_id":"2c8a5a4e-4b1f-4f6e-9d0e-6a1c2e5b7f31","payload":{"token":"verification-token","team_id":"T0123ABCDEF","context_team_id":"T0123ABCDEF","context_enterprise_id":null,"api_app_id":"A0123ABCDEF","event":{"user":"U0123ABCDEF","type":"message","ts":"1733050000.123456","client_msg_id":"7b1d4c2e-9f3a-4e8b-a6d5-1c2b3a4d5e6f","text":"` +
	strings.Repeat("Hello there, this is a message of realistic length. ", 6) + `","team":"T0123ABCDEF","blocks":[{"type":"rich_text","block_id":"Ab1Cd","elements":[{"type":"rich_text_section","elements":[{"type":"text","text":"Hello there, this is a message of realistic length."}]}]}],"channel":"C0123ABCDEF","event_ts":"1733050000.123456","channel_type":"channel"},"type":"event_callback","event_id":"Ev0123ABCDEF","event_time":1733050000,"authorizations":[{"enterprise_id":null,"team_id":"T0123ABCDEF","user_id":"U0BOT12345","is_bot":true,"is_enterprise_install":false}],"is_ext_shared_channel":false,"event_context":"4-eyJldCI6Im1lc3NhZ2UiLCJ0aWQiOiJUMDEyM0FCQ0RFRiIsImFpZCI6IkEwMTIzQUJDREVGIiwiY2lkIjoiQzAxMjNBQkNERUYifQ"},"type":"events_api","accepts_response_payload":false,"retry_attempt":0,"retry_reason":""}`)

// BenchmarkDecodeEnvelope compares the one-pass decoder (DecodeSocketFrame, routing fields
// included) with the two validating encoding/json passes it replaced.
func BenchmarkDecodeEnvelope(b *testing.B) {
	b.Run("onepass", func(b *testing.B) {
		b.SetBytes(int64(len(benchEnvelope)))
		b.ReportAllocs()
		for b.Loop() {
			f, err := DecodeSocketFrame(benchEnvelope)
			if err != nil || f.Route.EventID != "Ev0123ABCDEF" {
				b.Fatal(err, f.Route)
			}
		}
	})
	b.Run("encoding-json-twice", func(b *testing.B) {
		b.SetBytes(int64(len(benchEnvelope)))
		b.ReportAllocs()
		for b.Loop() {
			f, err := refDecodeSocketFrame(benchEnvelope)
			if err != nil {
				b.Fatal(err)
			}
			r, err := refRouteSocketPayload(f.Type, f.Payload)
			if err != nil || r.EventID != "Ev0123ABCDEF" {
				b.Fatal(err, r)
			}
		}
	})
}
