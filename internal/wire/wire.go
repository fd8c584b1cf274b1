// Package wire decodes the frames Slack sends over Socket Mode and RTM sockets into the few fields
// the runtime routes on, keeping the payload raw for handlers.
package wire

import (
	"encoding/json"
	"errors"
	"fmt"
)

// SocketFrame is a decoded Socket Mode frame: hello, disconnect, or an envelope.
type SocketFrame struct {
	Type       string `json:"type"`
	EnvelopeID string `json:"-"`
	// RawEnvelopeID is envelope_id as received: a JSON string token, quotes and escapes included.
	// Acks echo it byte for byte; EnvelopeID is its decoded text (invalid UTF-8 becomes U+FFFD).
	RawEnvelopeID  json.RawMessage `json:"envelope_id"`
	Payload        json.RawMessage `json:"payload"`
	Accepts        bool            `json:"accepts_response_payload"`
	RetryAttempt   int             `json:"retry_attempt"`
	RetryReason    string          `json:"retry_reason"`
	Reason         string          `json:"reason"`          // disconnect
	NumConnections int             `json:"num_connections"` // hello
}

// ErrMalformed wraps every decoding failure.
var ErrMalformed = errors.New("wire: malformed frame")

// Slack's IDs are short (envelope IDs are UUIDs, event IDs about a dozen characters). Longer ones
// are malformed: dedupe remembers event IDs, and no hostile server may fill that memory.
const (
	MaxEnvelopeIDBytes = 256 // envelope_id's JSON token, quotes included
	MaxEventIDBytes    = 128
)

// DecodeSocketFrame decodes one Socket Mode text frame.
func DecodeSocketFrame(data []byte) (SocketFrame, error) {
	var f SocketFrame
	if err := json.Unmarshal(data, &f); err != nil {
		return f, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if f.Type == "" {
		return f, fmt.Errorf("%w: no type", ErrMalformed)
	}
	if len(f.RawEnvelopeID) > 0 && string(f.RawEnvelopeID) != "null" {
		if len(f.RawEnvelopeID) > MaxEnvelopeIDBytes {
			return f, fmt.Errorf("%w: envelope_id of %d bytes (at most %d)", ErrMalformed, len(f.RawEnvelopeID), MaxEnvelopeIDBytes)
		}
		if f.RawEnvelopeID[0] != '"' || json.Unmarshal(f.RawEnvelopeID, &f.EnvelopeID) != nil {
			return f, fmt.Errorf("%w: envelope_id is not a string", ErrMalformed)
		}
	} else {
		f.RawEnvelopeID = nil
	}
	switch f.Type {
	case "events_api", "slash_commands", "interactive":
		if f.EnvelopeID == "" {
			return f, fmt.Errorf("%w: %s envelope without envelope_id", ErrMalformed, f.Type)
		}
		if len(f.Payload) == 0 || f.Payload[0] != '{' {
			return f, fmt.Errorf("%w: %s envelope without an object payload", ErrMalformed, f.Type)
		}
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
}

// idOrObject decodes "X" or {"id":"X"}.
type idOrObject string

func (v *idOrObject) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = idOrObject(s)
		return nil
	}
	if len(b) > 0 && b[0] == '{' {
		var o struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		*v = idOrObject(o.ID)
	}
	return nil // null, numbers: no ID
}

type eventFields struct {
	Type     string     `json:"type"`
	Channel  idOrObject `json:"channel"`
	User     idOrObject `json:"user"`
	ThreadTS string     `json:"thread_ts"`
	Team     string     `json:"team"`
	Item     struct {
		Channel string `json:"channel"`
	} `json:"item"`
}

type payloadFields struct {
	Type    string      `json:"type"`
	TeamID  string      `json:"team_id"`
	EventID string      `json:"event_id"`
	Event   eventFields `json:"event"`
	// slash commands
	Command   string `json:"command"`
	ChannelID string `json:"channel_id"`
	UserID    string `json:"user_id"`
	// interactions
	Team      idOrObject `json:"team"`
	Channel   idOrObject `json:"channel"`
	User      idOrObject `json:"user"`
	Container struct {
		ChannelID string `json:"channel_id"`
		ThreadTS  string `json:"thread_ts"`
	} `json:"container"`
}

// RouteSocketPayload extracts the routing fields of an envelope payload of the given type.
func RouteSocketPayload(envelopeType string, payload []byte) (Route, error) {
	var p payloadFields
	if err := json.Unmarshal(payload, &p); err != nil {
		return Route{}, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	if len(p.EventID) > MaxEventIDBytes {
		return Route{}, fmt.Errorf("%w: event_id of %d bytes (at most %d)", ErrMalformed, len(p.EventID), MaxEventIDBytes)
	}
	switch envelopeType {
	case "events_api":
		r := Route{Type: p.Event.Type, Team: p.TeamID, Channel: string(p.Event.Channel), User: string(p.Event.User),
			ThreadTS: p.Event.ThreadTS, EventID: p.EventID}
		if r.Channel == "" {
			r.Channel = p.Event.Item.Channel
		}
		if r.Type == "" {
			r.Type = p.Type
		}
		return r, nil
	case "slash_commands":
		return Route{Type: p.Command, Team: p.TeamID, Channel: p.ChannelID, User: p.UserID}, nil
	default:
		r := Route{Type: p.Type, Team: string(p.Team), Channel: string(p.Channel), User: string(p.User), ThreadTS: p.Container.ThreadTS}
		if r.Channel == "" {
			r.Channel = p.Container.ChannelID
		}
		if r.Team == "" {
			r.Team = p.TeamID
		}
		return r, nil
	}
}

// RTMFrame is a decoded RTM frame's routing fields; the frame itself stays raw.
type RTMFrame struct {
	Type    string          `json:"type"`
	ReplyTo *int64          `json:"reply_to"`
	OK      *bool           `json:"ok"`
	TS      string          `json:"ts"`
	Text    string          `json:"text"`
	Error   *RTMError       `json:"error"`
	Channel idOrObject      `json:"channel"`
	User    idOrObject      `json:"user"`
	Thread  string          `json:"thread_ts"`
	Item    json.RawMessage `json:"item"`
}

// RTMError is the error object of an RTM reply or error frame.
type RTMError struct {
	Code int    `json:"code"`
	Msg  string `json:"msg"`
}

// DecodeRTMFrame decodes one RTM text frame.
func DecodeRTMFrame(data []byte) (RTMFrame, error) {
	var f RTMFrame
	if err := json.Unmarshal(data, &f); err != nil {
		return f, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if f.Type == "" && f.ReplyTo == nil {
		return f, fmt.Errorf("%w: neither type nor reply_to", ErrMalformed)
	}
	return f, nil
}
