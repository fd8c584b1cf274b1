package wire

// The decoder as it was before the one-pass scanner (encoding/json, twice): the reference the
// differential fuzz and the benchmark compare against.

import (
	"encoding/json"
	"fmt"
)

// SocketFrame is a decoded Socket Mode frame: hello, disconnect, or an envelope.
type refSocketFrame struct {
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

// DecodeSocketFrame decodes one Socket Mode text frame.
func refDecodeSocketFrame(data []byte) (refSocketFrame, error) {
	var f refSocketFrame
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

// refID decodes "X" or {"id":"X"}.
type refID string

func (v *refID) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = refID(s)
		return nil
	}
	if len(b) > 0 && b[0] == '{' {
		var o struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		*v = refID(o.ID)
	}
	return nil // null, numbers: no ID
}

type refEventFields struct {
	Type     string `json:"type"`
	Channel  refID  `json:"channel"`
	User     refID  `json:"user"`
	ThreadTS string `json:"thread_ts"`
	Team     string `json:"team"`
	Item     struct {
		Channel string `json:"channel"`
	} `json:"item"`
}

type refPayloadFields struct {
	Type    string         `json:"type"`
	TeamID  string         `json:"team_id"`
	EventID string         `json:"event_id"`
	Event   refEventFields `json:"event"`
	// slash commands
	Command   string `json:"command"`
	ChannelID string `json:"channel_id"`
	UserID    string `json:"user_id"`
	// interactions
	Team      refID `json:"team"`
	Channel   refID `json:"channel"`
	User      refID `json:"user"`
	Container struct {
		ChannelID string `json:"channel_id"`
		ThreadTS  string `json:"thread_ts"`
	} `json:"container"`
}

// RouteSocketPayload extracts the routing fields of an envelope payload of the given type.
func refRouteSocketPayload(envelopeType string, payload []byte) (Route, error) {
	var p refPayloadFields
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
type refRTMFrame struct {
	Type    string          `json:"type"`
	ReplyTo *int64          `json:"reply_to"`
	OK      *bool           `json:"ok"`
	TS      string          `json:"ts"`
	Text    string          `json:"text"`
	Error   *RTMError       `json:"error"`
	Channel refID           `json:"channel"`
	User    refID           `json:"user"`
	Thread  string          `json:"thread_ts"`
	Item    json.RawMessage `json:"item"`
}

// DecodeRTMFrame decodes one RTM text frame.
func refDecodeRTMFrame(data []byte) (refRTMFrame, error) {
	var f refRTMFrame
	if err := json.Unmarshal(data, &f); err != nil {
		return f, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if f.Type == "" && f.ReplyTo == nil {
		return f, fmt.Errorf("%w: neither type nor reply_to", ErrMalformed)
	}
	return f, nil
}
