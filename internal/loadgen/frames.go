package loadgen

import (
	"bytes"
	"strconv"
)

// ids names the Slack objects of one connection slot: its app (Socket Mode) or workspace (RTM),
// channel and users. Every event of a slot carries them.
type ids struct {
	slot    int    // the run-wide index of the connection, 0…
	app     string // A0LOAD…; "" on RTM
	team    string
	channel string
	user    string // the message's author
	bot     string // the app's bot user, in authorizations
	context string // event_context, fixed per app and channel as Slack's is
}

// texts are message bodies of a typical length (about 90 characters), chosen by sequence
// number. They need no JSON escaping.
var texts = [...]string{
	"Heads up: the api-gateway deploy starts at 14:30 UTC, please hold merges to main until then",
	"Could someone look at the nightly export? It finished two hours late and 3% of rows are gone",
	"Reminder: planning docs are due Friday, one page per team with your top three bets and risks",
	"TestRefundPartialCapture failed 4 of 50 times on CI today, looks like a race in the webhook",
}

// appendEnvelopeID appends an envelope_id: UUID-shaped (8-4-4-4-12 hex) as Slack's are, with
// the slot and sequence recoverable by parseEnvelopeID.
func appendEnvelopeID(dst []byte, slot, seq int) []byte {
	h := uint64(seq)*0x9E3779B97F4A7C15 ^ uint64(slot)*0xC2B2AE3D27D4EB4F
	dst = appendHex(dst, uint64(0x5b000000|slot), 8)
	dst = append(dst, '-')
	dst = appendHex(dst, h>>48, 4)
	dst = append(dst, '-', '4')
	dst = appendHex(dst, h>>36, 3)
	dst = append(dst, '-')
	dst = appendHex(dst, 0x8000|(h>>20)&0x3fff, 4)
	dst = append(dst, '-')
	return appendHex(dst, uint64(seq), 12)
}

// parseEnvelopeID returns the slot and sequence of an ID appendEnvelopeID made, and false for
// any other string.
func parseEnvelopeID(id []byte) (slot, seq int, ok bool) {
	if len(id) != 36 {
		return 0, 0, false
	}
	s, ok1 := parseHex(id[:8])
	q, ok2 := parseHex(id[24:])
	if !ok1 || !ok2 || s < 0x5b000000 {
		return 0, 0, false
	}
	slot, seq = int(s-0x5b000000), int(q)
	var buf [36]byte
	if !bytes.Equal(appendEnvelopeID(buf[:0], slot, seq), id) {
		return 0, 0, false
	}
	return slot, seq, true
}

func appendHex(dst []byte, v uint64, width int) []byte {
	const digits = "0123456789abcdef"
	for i := width - 1; i >= 0; i-- {
		dst = append(dst, digits[(v>>(4*uint(i)))&0xf])
	}
	return dst
}

func parseHex(b []byte) (uint64, bool) {
	var v uint64
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint64(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// appendClientMsgID appends the UUID a Slack client gives a message it posts.
func appendClientMsgID(dst []byte, slot, seq int) []byte {
	h := uint64(seq+1)*0xD6E8FEB86659FD93 ^ uint64(slot+1)*0x9E3779B97F4A7C15
	dst = appendHex(dst, h>>32, 8)
	dst = append(dst, '-')
	dst = appendHex(dst, h>>16, 4)
	dst = append(dst, '-', '4')
	dst = appendHex(dst, h>>4, 3)
	dst = append(dst, '-')
	dst = appendHex(dst, 0xa000|h&0x3fff, 4)
	dst = append(dst, '-')
	return appendHex(dst, uint64(slot)<<32|uint64(seq), 12)
}

// appendEventID appends an Events API event_id ("Ev" and 10 characters, unique per slot and seq).
func appendEventID(dst []byte, slot, seq int) []byte {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	dst = append(dst, 'E', 'v', digits[(slot/36)%36], digits[slot%36])
	v := uint64(seq)
	for i := 7; i >= 0; i-- {
		dst = append(dst, digits[(v>>(4*uint(i)))&0xf])
	}
	return dst
}

const epoch = 1733050000 // event_time of the first event: 2024-12-01 10:46:40 UTC

// appendTS appends a message ts ("1733050000.000123"): one microsecond apart per event.
func appendTS(dst []byte, seq int) []byte {
	dst = strconv.AppendInt(dst, int64(epoch+seq/1000000), 10)
	dst = append(dst, '.')
	us := strconv.AppendInt(make([]byte, 0, 8), int64(seq%1000000), 10)
	for i := len(us); i < 6; i++ {
		dst = append(dst, '0')
	}
	return append(dst, us...)
}

// appendBlocks appends the rich_text blocks Slack adds to a message typed in its client: the
// text as one section.
func appendBlocks(dst []byte, seq int, text string) []byte {
	dst = append(dst, `[{"type":"rich_text","block_id":"`...)
	dst = appendHex(dst, uint64(seq)*2654435761, 5)
	dst = append(dst, `","elements":[{"type":"rich_text_section","elements":[{"type":"text","text":"`...)
	dst = append(dst, text...)
	return append(dst, `"}]}]}]`...)
}

// appendMessageEnvelope appends an events_api envelope of a message event (about 1.2 KB) shaped
// as Slack sends it over Socket Mode: event_callback, a message typed in Slack's client with its
// blocks, one authorization, first delivery.
func appendMessageEnvelope(dst []byte, id *ids, seq int) []byte {
	text := texts[seq%len(texts)]
	dst = append(dst, `{"envelope_id":"`...)
	dst = appendEnvelopeID(dst, id.slot, seq)
	dst = append(dst, `","payload":{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","team_id":"`...)
	dst = append(dst, id.team...)
	dst = append(dst, `","context_team_id":"`...)
	dst = append(dst, id.team...)
	dst = append(dst, `","context_enterprise_id":null,"api_app_id":"`...)
	dst = append(dst, id.app...)
	dst = append(dst, `","event":{"user":"`...)
	dst = append(dst, id.user...)
	dst = append(dst, `","type":"message","ts":"`...)
	dst = appendTS(dst, seq)
	dst = append(dst, `","client_msg_id":"`...)
	dst = appendClientMsgID(dst, id.slot, seq)
	dst = append(dst, `","text":"`...)
	dst = append(dst, text...)
	dst = append(dst, `","team":"`...)
	dst = append(dst, id.team...)
	dst = append(dst, `","blocks":`...)
	dst = appendBlocks(dst, seq, text)
	dst = append(dst, `,"channel":"`...)
	dst = append(dst, id.channel...)
	dst = append(dst, `","event_ts":"`...)
	dst = appendTS(dst, seq)
	dst = append(dst, `","channel_type":"channel"},"type":"event_callback","event_id":"`...)
	dst = appendEventID(dst, id.slot, seq)
	dst = append(dst, `","event_time":`...)
	dst = strconv.AppendInt(dst, int64(epoch+seq/1000000), 10)
	dst = append(dst, `,"authorizations":[{"enterprise_id":null,"team_id":"`...)
	dst = append(dst, id.team...)
	dst = append(dst, `","user_id":"`...)
	dst = append(dst, id.bot...)
	dst = append(dst, `","is_bot":true,"is_enterprise_install":false}],"is_ext_shared_channel":false,"event_context":"`...)
	dst = append(dst, id.context...)
	return append(dst, `"},"type":"events_api","accepts_response_payload":false,"retry_attempt":0,"retry_reason":""}`...)
}

// appendRTMMessage appends an RTM message frame (about 0.6 KB): the same message as the
// envelope's inner event, in the shape RTM delivers it (no wrapper; user_team, source_team).
func appendRTMMessage(dst []byte, id *ids, seq int) []byte {
	text := texts[seq%len(texts)]
	dst = append(dst, `{"client_msg_id":"`...)
	dst = appendClientMsgID(dst, id.slot, seq)
	dst = append(dst, `","suppress_notification":false,"type":"message","text":"`...)
	dst = append(dst, text...)
	dst = append(dst, `","user":"`...)
	dst = append(dst, id.user...)
	dst = append(dst, `","team":"`...)
	dst = append(dst, id.team...)
	dst = append(dst, `","blocks":`...)
	dst = appendBlocks(dst, seq, text)
	dst = append(dst, `,"user_team":"`...)
	dst = append(dst, id.team...)
	dst = append(dst, `","source_team":"`...)
	dst = append(dst, id.team...)
	dst = append(dst, `","channel":"`...)
	dst = append(dst, id.channel...)
	dst = append(dst, `","event_ts":"`...)
	dst = appendTS(dst, seq)
	dst = append(dst, `","ts":"`...)
	dst = appendTS(dst, seq)
	return append(dst, `"}`...)
}

// socketHello is Socket Mode's first frame, as Slack sends it.
func socketHello(app string, n int) []byte {
	b := append([]byte(`{"type":"hello","num_connections":`), strconv.Itoa(n)...)
	b = append(b, `,"debug_info":{"host":"applink-loadgen","build_number":14,"approximate_connection_time":18060},"connection_info":{"app_id":"`...)
	b = append(b, app...)
	return append(b, `"}}`...)
}

// rtmHello is RTM's first frame, byte for byte as Slack sent it.
var rtmHello = []byte(`{"type": "hello"}`)

// envelopeIDOf finds the envelope_id of an ack by a byte search ({"envelope_id":"…"} with
// optional spaces after the colon), or nil.
func envelopeIDOf(frame []byte) []byte {
	i := bytes.Index(frame, []byte(`"envelope_id"`))
	if i < 0 {
		return nil
	}
	rest := frame[i+len(`"envelope_id"`):]
	for len(rest) > 0 && (rest[0] == ' ' || rest[0] == ':') {
		rest = rest[1:]
	}
	if len(rest) == 0 || rest[0] != '"' {
		return nil
	}
	rest = rest[1:]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return nil
	}
	return rest[:j]
}
