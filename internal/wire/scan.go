package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// scanner is a one-pass JSON reader: it validates every byte of its input, as encoding/json's
// checkValid does, while it hands the values it is asked for to the caller and skips the rest
// without decoding them. It replaces a validating decode of the frame followed by a second
// validating decode of the payload (the profile's 29 % in checkValid).
type scanner struct {
	b     []byte
	i     int
	depth int
}

// maxDepth bounds nesting, as encoding/json does.
const maxDepth = 10000

var errSyntax = errors.New("invalid JSON")

func (s *scanner) fail(what string) error {
	return fmt.Errorf("%w at offset %d: %s", errSyntax, s.i, what)
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// end checks that nothing but space follows the value.
func (s *scanner) end() error {
	s.ws()
	if s.i != len(s.b) {
		return s.fail("data after the value")
	}
	return nil
}

// object reads an object, calling field for each key with the scanner at its value; field must
// read the value (skip it, or read it as what it expects). The key is raw (no quotes), unescaped
// only when it had escapes.
func (s *scanner) object(field func(key []byte) error) error {
	if s.peek() != '{' {
		return s.fail("want an object")
	}
	s.i++
	if s.depth++; s.depth > maxDepth {
		return s.fail("nested too deep")
	}
	defer func() { s.depth-- }()
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		if s.peek() != '"' {
			return s.fail("want a key")
		}
		raw, err := s.str()
		if err != nil {
			return err
		}
		key := raw[1 : len(raw)-1]
		if hasEscape(key) {
			var k string
			if err := json.Unmarshal(raw, &k); err != nil {
				return s.fail("bad key")
			}
			key = []byte(k)
		}
		if s.peek() != ':' {
			return s.fail("want ':'")
		}
		s.i++
		if err := field(key); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.fail("want ',' or '}'")
		}
	}
}

// skip reads any value.
func (s *scanner) skip() error {
	switch c := s.peek(); c {
	case '{':
		return s.object(func([]byte) error { return s.skip() })
	case '[':
		s.i++
		if s.depth++; s.depth > maxDepth {
			return s.fail("nested too deep")
		}
		defer func() { s.depth-- }()
		if s.peek() == ']' {
			s.i++
			return nil
		}
		for {
			if err := s.skip(); err != nil {
				return err
			}
			switch s.peek() {
			case ',':
				s.i++
			case ']':
				s.i++
				return nil
			default:
				return s.fail("want ',' or ']'")
			}
		}
	case '"':
		_, err := s.str()
		return err
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			_, err := s.number()
			return err
		}
		return s.fail("want a value")
	}
}

func (s *scanner) literal(lit string) error {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return s.fail("bad literal")
	}
	s.i += len(lit)
	return nil
}

// str reads a string and returns it raw, quotes included.
func (s *scanner) str() ([]byte, error) {
	start := s.i
	s.i++ // the opening quote
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return s.b[start:s.i], nil
		case c == '\\':
			s.i++
			if s.i >= len(s.b) {
				return nil, s.fail("unterminated escape")
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				if len(s.b)-s.i < 5 || !isHex(s.b[s.i+1]) || !isHex(s.b[s.i+2]) || !isHex(s.b[s.i+3]) || !isHex(s.b[s.i+4]) {
					return nil, s.fail("bad \\u escape")
				}
				s.i += 5
			default:
				return nil, s.fail("bad escape")
			}
		case c < 0x20:
			return nil, s.fail("control character in string")
		default:
			s.i++
		}
	}
	return nil, s.fail("unterminated string")
}

// number reads a number (RFC 8259 grammar) and returns it raw.
func (s *scanner) number() ([]byte, error) {
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case s.i < len(s.b) && s.b[s.i] >= '1' && s.b[s.i] <= '9':
		for s.i < len(s.b) && isDigit(s.b[s.i]) {
			s.i++
		}
	default:
		return nil, s.fail("bad number")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.i >= len(s.b) || !isDigit(s.b[s.i]) {
			return nil, s.fail("bad fraction")
		}
		for s.i < len(s.b) && isDigit(s.b[s.i]) {
			s.i++
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.i >= len(s.b) || !isDigit(s.b[s.i]) {
			return nil, s.fail("bad exponent")
		}
		for s.i < len(s.b) && isDigit(s.b[s.i]) {
			s.i++
		}
	}
	return s.b[start:s.i], nil
}

// errType is a value of the wrong type for a field the runtime reads (encoding/json's
// UnmarshalTypeError): the frame is malformed, though it is valid JSON.
var errType = errors.New("wrong type")

// stringField reads a string, or null (""), into *dst.
func (s *scanner) stringField(dst *string) error {
	switch s.peek() {
	case '"':
		raw, err := s.str()
		if err != nil {
			return err
		}
		*dst = unquote(raw)
		return nil
	case 'n':
		return s.literal("null")
	}
	if err := s.skip(); err != nil {
		return err
	}
	return errType
}

// lenientString reads a string into *dst and skips any other value (leaving *dst ""): for fields
// the runtime reads to help handlers, never to route, so no type is an error.
func (s *scanner) lenientString(dst *string) error {
	if s.peek() == '"' {
		raw, err := s.str()
		if err == nil {
			*dst = unquote(raw)
		}
		return err
	}
	*dst = ""
	return s.skip()
}

// intField reads an integer, or null (0), into *dst.
func (s *scanner) intField(dst *int) error {
	switch c := s.peek(); {
	case c == 'n':
		return s.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		raw, err := s.number()
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(string(raw))
		if err != nil {
			return errType
		}
		*dst = n
		return nil
	}
	if err := s.skip(); err != nil {
		return err
	}
	return errType
}

// boolField reads true, false or null (false) into *dst.
func (s *scanner) boolField(dst *bool) error {
	switch s.peek() {
	case 't':
		*dst = true
		return s.literal("true")
	case 'f':
		*dst = false
		return s.literal("false")
	case 'n':
		return s.literal("null")
	}
	if err := s.skip(); err != nil {
		return err
	}
	return errType
}

// idField reads "X" or {"id":"X"} into *dst; null, numbers, booleans and arrays give no ID.
func (s *scanner) idField(dst *string) error {
	switch s.peek() {
	case '"':
		return s.stringField(dst)
	case '{':
		var typeErr error
		err := s.object(func(key []byte) error {
			if string(key) == "id" {
				return s.keepType(s.stringField(dst), &typeErr)
			}
			return s.skip()
		})
		if err != nil {
			return err
		}
		return typeErr
	}
	return s.skip()
}

// keepType records a type error and goes on scanning, as encoding/json reports the first type
// error only after it has checked the whole input; a syntax error stops at once.
func (s *scanner) keepType(err error, first *error) error {
	if errors.Is(err, errType) {
		if *first == nil {
			*first = err
		}
		return nil
	}
	return err
}

// objectField reads an object into fields (by key), or null; another type is a type error.
func (s *scanner) objectField(field func(key []byte) error) error {
	switch s.peek() {
	case '{':
		return s.object(field)
	case 'n':
		return s.literal("null")
	}
	if err := s.skip(); err != nil {
		return err
	}
	return errType
}

// unquote returns the text of a string token. Without escapes the text shares the frame's memory
// (no copy): a frame is never changed once read, and its event keeps it anyway as Raw. Whoever
// keeps such a string longer than the event (dedupe's window, a key's map) clones it.
func unquote(raw []byte) string {
	body := raw[1 : len(raw)-1]
	if len(body) == 0 {
		return ""
	}
	if !hasEscape(body) && utf8.Valid(body) {
		return unsafe.String(&body[0], len(body))
	}
	var out string
	_ = json.Unmarshal(raw, &out) // raw is a valid string token: this cannot fail
	return out
}

func hasEscape(b []byte) bool {
	for _, c := range b {
		if c == '\\' {
			return true
		}
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// payloadScan is the union of the routing fields of every envelope payload: which ones count
// depends on the envelope's type, which may come after the payload in the frame.
type payloadScan struct {
	Type, TeamID, EventID                 string
	Event                                 eventScan
	Command, ChannelID, UserID            string
	Team, Channel, User                   string // "X" or {"id":"X"}
	ContainerChannelID, ContainerThreadTS string
	typeErr                               error
}

type eventScan struct {
	Type, Channel, User, ThreadTS, Team, ItemChannel string
	Text, TS, Subtype, BotID                         string // a message's, read in the same pass
}

func (s *scanner) payload(p *payloadScan) error {
	return s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "type":
			err = s.stringField(&p.Type)
		case "team_id":
			err = s.stringField(&p.TeamID)
		case "event_id":
			err = s.stringField(&p.EventID)
		case "event":
			err = s.objectField(func(key []byte) error { return s.keepType(s.event(key, &p.Event), &p.typeErr) })
		case "command":
			err = s.stringField(&p.Command)
		case "channel_id":
			err = s.stringField(&p.ChannelID)
		case "user_id":
			err = s.stringField(&p.UserID)
		case "team":
			err = s.idField(&p.Team)
		case "channel":
			err = s.idField(&p.Channel)
		case "user":
			err = s.idField(&p.User)
		case "container":
			err = s.objectField(func(key []byte) error {
				switch string(key) {
				case "channel_id":
					return s.keepType(s.stringField(&p.ContainerChannelID), &p.typeErr)
				case "thread_ts":
					return s.keepType(s.stringField(&p.ContainerThreadTS), &p.typeErr)
				}
				return s.skip()
			})
		default:
			return s.skip()
		}
		return s.keepType(err, &p.typeErr)
	})
}

func (s *scanner) event(key []byte, e *eventScan) error {
	switch string(key) {
	case "type":
		return s.stringField(&e.Type)
	case "channel":
		return s.idField(&e.Channel)
	case "user":
		return s.idField(&e.User)
	case "thread_ts":
		return s.stringField(&e.ThreadTS)
	case "team":
		return s.stringField(&e.Team)
	case "text":
		return s.lenientString(&e.Text)
	case "ts":
		return s.lenientString(&e.TS)
	case "subtype":
		return s.lenientString(&e.Subtype)
	case "bot_id":
		return s.lenientString(&e.BotID)
	case "item":
		var typeErr error
		err := s.objectField(func(key []byte) error {
			if string(key) == "channel" {
				return s.keepType(s.stringField(&e.ItemChannel), &typeErr)
			}
			return s.skip()
		})
		if err != nil {
			return err
		}
		return typeErr
	}
	return s.skip()
}

// route picks the routing fields of an envelope of type envelopeType from p.
func (p *payloadScan) route(envelopeType string) Route {
	switch envelopeType {
	case "events_api":
		r := Route{Type: p.Event.Type, Team: p.TeamID, Channel: p.Event.Channel, User: p.Event.User,
			ThreadTS: p.Event.ThreadTS, EventID: p.EventID,
			Text: p.Event.Text, TS: p.Event.TS, Subtype: p.Event.Subtype, BotID: p.Event.BotID}
		if r.Channel == "" {
			r.Channel = p.Event.ItemChannel
		}
		if r.Type == "" {
			r.Type = p.Type
		}
		return r
	case "slash_commands":
		return Route{Type: p.Command, Team: p.TeamID, Channel: p.ChannelID, User: p.UserID}
	default:
		r := Route{Type: p.Type, Team: p.Team, Channel: p.Channel, User: p.User, ThreadTS: p.ContainerThreadTS}
		if r.Channel == "" {
			r.Channel = p.ContainerChannelID
		}
		if r.Team == "" {
			r.Team = p.TeamID
		}
		return r
	}
}
