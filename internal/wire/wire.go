// Package wire decodes the frames Slack sends over Socket Mode and RTM sockets into the few fields
// the runtime routes on, keeping the payload raw for handlers.
package wire

import (
	"encoding/json"
	"errors"
	"fmt"
)

// SocketFrame is a decoded Socket Mode frame: hello, disconnect, or an envelope.
//
// It is hand-written rather than socketmode.Request from slack-go: acks must echo envelope_id byte
// for byte (RawEnvelopeID), and DecodeSocketFrame fills it and the envelope's Route in one
// validating pass over the frame (see docs/performance.md for the measurement).
type SocketFrame struct {
	Type       string
	EnvelopeID string
	// RawEnvelopeID is envelope_id as received: a JSON string token, quotes and escapes included.
	// Acks echo it byte for byte; EnvelopeID is its decoded text (invalid UTF-8 becomes U+FFFD).
	RawEnvelopeID  []byte
	Payload        json.RawMessage // raw, for lazy typed decoding
	Accepts        bool            // accepts_response_payload
	RetryAttempt   int
	RetryReason    string
	Reason         string // disconnect
	NumConnections int    // hello
	// Route is what an envelope (events_api, slash_commands, interactive) routes on; zero for
	// other frames.
	Route Route
}

// ErrMalformed wraps every decoding failure.
var ErrMalformed = errors.New("wire: malformed frame")

// Slack's IDs are short (envelope IDs are UUIDs, event IDs about a dozen characters). Longer ones
// are malformed: dedupe remembers event IDs, and no hostile server may fill that memory.
const (
	MaxEnvelopeIDBytes = 256 // envelope_id's JSON token, quotes included
	MaxEventIDBytes    = 128
)

func isEnvelope(typ string) bool {
	return typ == "events_api" || typ == "slash_commands" || typ == "interactive"
}

// DecodeSocketFrame decodes one Socket Mode text frame, and for an envelope its routing fields,
// in one pass that validates the whole frame; the payload stays raw.
func DecodeSocketFrame(data []byte) (SocketFrame, error) {
	var f SocketFrame
	var p payloadScan
	var typeErr error
	payloadIsObject := false
	s := scanner{b: data}
	err := s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "type":
			err = s.stringField(&f.Type)
		case "envelope_id":
			switch s.peek() {
			case '"':
				raw, err := s.str()
				if err != nil {
					return err
				}
				if len(raw) > MaxEnvelopeIDBytes {
					return fmt.Errorf("envelope_id of %d bytes (at most %d)", len(raw), MaxEnvelopeIDBytes)
				}
				f.RawEnvelopeID, f.EnvelopeID = raw, unquote(raw)
				return nil
			case 'n':
				f.RawEnvelopeID, f.EnvelopeID = nil, ""
				return s.literal("null")
			}
			if err := s.skip(); err != nil {
				return err
			}
			return errors.New("envelope_id is not a string")
		case "payload":
			start := s.i
			if s.peek() == '{' {
				p = payloadScan{}
				err = s.payload(&p)
				payloadIsObject = true
			} else {
				err = s.skip()
				payloadIsObject = false
			}
			if err == nil {
				f.Payload = trimSpace(data[start:s.i])
			}
			return err
		case "accepts_response_payload":
			err = s.boolField(&f.Accepts)
		case "retry_attempt":
			err = s.intField(&f.RetryAttempt)
		case "retry_reason":
			err = s.stringField(&f.RetryReason)
		case "reason":
			err = s.stringField(&f.Reason)
		case "num_connections":
			err = s.intField(&f.NumConnections)
		default:
			return s.skip()
		}
		return s.keepType(err, &typeErr)
	})
	if err == nil {
		err = s.end()
	}
	if err == nil {
		err = typeErr
	}
	if err != nil {
		return SocketFrame{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if f.Type == "" {
		return f, fmt.Errorf("%w: no type", ErrMalformed)
	}
	if isEnvelope(f.Type) {
		if f.EnvelopeID == "" {
			return f, fmt.Errorf("%w: %s envelope without envelope_id", ErrMalformed, f.Type)
		}
		if !payloadIsObject {
			return f, fmt.Errorf("%w: %s envelope without an object payload", ErrMalformed, f.Type)
		}
		if p.typeErr != nil {
			return f, fmt.Errorf("%w: payload: %v", ErrMalformed, p.typeErr)
		}
		if len(p.EventID) > MaxEventIDBytes {
			return f, fmt.Errorf("%w: event_id of %d bytes (at most %d)", ErrMalformed, len(p.EventID), MaxEventIDBytes)
		}
		f.Route = p.route(f.Type)
	}
	return f, nil
}

// Route is what the runtime routes an event on.
type Route struct {
	Type     string // inner event type, command, or interaction type
	Team     string
	Channel  string
	User     string
	ThreadTS string
	EventID  string
	// Text, TS, Subtype and BotID are an Events API message's (read in the same pass, for the
	// handlers' accessors and the bot's-own-messages filter; never routed on, never an error).
	Text, TS, Subtype, BotID string
}

// RouteSocketPayload extracts the routing fields of an envelope payload of the given type (what
// DecodeSocketFrame puts in SocketFrame.Route).
func RouteSocketPayload(envelopeType string, payload []byte) (Route, error) {
	var p payloadScan
	s := scanner{b: payload}
	err := s.payload(&p)
	if err == nil {
		err = s.end()
	}
	if err == nil {
		err = p.typeErr
	}
	if err != nil {
		return Route{}, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	if len(p.EventID) > MaxEventIDBytes {
		return Route{}, fmt.Errorf("%w: event_id of %d bytes (at most %d)", ErrMalformed, len(p.EventID), MaxEventIDBytes)
	}
	return p.route(envelopeType), nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	return b
}

// RTMFrame is a decoded RTM frame's routing fields; the frame itself stays raw.
type RTMFrame struct {
	Type    string
	ReplyTo *int64
	OK      *bool
	TS      string
	Text    string
	Error   *RTMError
	Channel string // "C1" or {"id":"C1"}
	User    string // "U1" or {"id":"U1"}
	Thread  string // thread_ts
	// Subtype and BotID are a message's (read leniently: another type leaves them "").
	Subtype, BotID string
	// Item is the frame's item as sent (reactions, pins, stars); ItemChannel its channel.
	Item        json.RawMessage
	ItemChannel string
}

// RTMError is the error object of an RTM reply or error frame.
type RTMError struct {
	Code int    `json:"code"`
	Msg  string `json:"msg"`
}

// DecodeRTMFrame decodes one RTM text frame's routing fields in one validating pass.
func DecodeRTMFrame(data []byte) (RTMFrame, error) {
	var f RTMFrame
	var typeErr error
	s := scanner{b: data}
	err := s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "type":
			err = s.stringField(&f.Type)
		case "reply_to":
			var n int
			isNull := s.peek() == 'n'
			if err = s.intField(&n); err == nil && !isNull {
				v := int64(n)
				f.ReplyTo = &v
			} else if err == nil {
				f.ReplyTo = nil
			}
		case "ok":
			var b bool
			isNull := s.peek() == 'n'
			if err = s.boolField(&b); err == nil && !isNull {
				f.OK = &b
			} else if err == nil {
				f.OK = nil
			}
		case "ts":
			err = s.stringField(&f.TS)
		case "text":
			err = s.stringField(&f.Text)
		case "thread_ts":
			err = s.stringField(&f.Thread)
		case "subtype":
			return s.lenientString(&f.Subtype)
		case "bot_id":
			return s.lenientString(&f.BotID)
		case "channel":
			err = s.idField(&f.Channel)
		case "user":
			err = s.idField(&f.User)
		case "error":
			if s.peek() == 'n' {
				f.Error = nil
				return s.literal("null")
			}
			e := &RTMError{}
			if f.Error != nil {
				e = f.Error // a repeated key fills the same object, as encoding/json does
			}
			err = s.objectField(func(key []byte) error {
				switch string(key) {
				case "code":
					return s.keepType(s.intField(&e.Code), &typeErr)
				case "msg":
					return s.keepType(s.stringField(&e.Msg), &typeErr)
				}
				return s.skip()
			})
			if err == nil {
				f.Error = e
			}
		case "item":
			start := s.i
			f.ItemChannel = ""
			if s.peek() == '{' {
				bad := false // a channel that is not a string: the item gives no channel
				err = s.object(func(key []byte) error {
					if string(key) != "channel" {
						return s.skip()
					}
					var ch string
					err := s.stringField(&ch)
					if errors.Is(err, errType) {
						bad = true
						return nil
					}
					f.ItemChannel = ch
					return err
				})
				if bad {
					f.ItemChannel = ""
				}
			} else {
				err = s.skip()
			}
			if err == nil {
				f.Item = trimSpace(data[start:s.i])
			}
			return err
		default:
			return s.skip()
		}
		return s.keepType(err, &typeErr)
	})
	if err == nil {
		err = s.end()
	}
	if err == nil {
		err = typeErr
	}
	if err != nil {
		return RTMFrame{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if f.Type == "" && f.ReplyTo == nil {
		return f, fmt.Errorf("%w: neither type nor reply_to", ErrMalformed)
	}
	return f, nil
}
