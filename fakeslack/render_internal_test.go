package fakeslack

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// This file compares the hand-rendered hot paths (InjectMessages' template, the RTM message
// frame) with the same JSON marshalled from slack-go's types: the tests check that both render
// the same, the benchmarks measure them.

// omit hides a field of an embedded slack-go struct that Slack does not send: a shallower field
// of the same JSON name wins, and omitzero leaves it out.
type omit struct{}

// sgMessageEvent is InjectMessages' event as slackevents.MessageEvent renders it, with the team it
// lacks and without the thread_ts "" and blocks null it always marshals (omitempty does not omit
// a struct).
type sgMessageEvent struct {
	slackevents.MessageEvent
	Team     string `json:"team"`
	ThreadTS omit   `json:"thread_ts,omitzero"`
	Blocks   omit   `json:"blocks,omitzero"`
}

// sgAuthorization is slack.EventAuthorization with Slack's null enterprise_id.
type sgAuthorization struct {
	slack.EventAuthorization
	EnterpriseID *string `json:"enterprise_id"`
}

// sgEventCallback is the event_callback payload as slackevents.EventsAPICallbackEvent renders it,
// less the keys Slack does not send in Socket Mode.
type sgEventCallback struct {
	slackevents.EventsAPICallbackEvent
	EnterpriseID   omit              `json:"enterprise_id,omitzero"`
	AuthedUsers    omit              `json:"authed_users,omitzero"`
	AuthedTeams    omit              `json:"authed_teams,omitzero"`
	Authorizations []sgAuthorization `json:"authorizations"`
}

// sgRTMMessage is messageFrame's event as slack.Msg renders it, with the keys it lacks and
// without those it marshals always.
type sgRTMMessage struct {
	slack.Msg
	SuppressNotification bool   `json:"suppress_notification"`
	Text                 string `json:"text"` // slack.Msg omits an empty text
	UserTeam             string `json:"user_team"`
	SourceTeam           string `json:"source_team"`
	ReplaceOriginal      omit   `json:"replace_original,omitzero"`
	DeleteOriginal       omit   `json:"delete_original,omitzero"`
	Metadata             omit   `json:"metadata,omitzero"`
	Blocks               omit   `json:"blocks,omitzero"`
}

const (
	benchTeam, benchApp, benchUser, benchBot = "T0000001001", "A0000007001", "U0000100001", "U0000900001"
	benchChannel, benchTS                    = "C0000100001", "1700000000.000001"
)

func benchServer() *socketModeServer {
	m := &socketModeServer{verification: "0123456789abcdef01234567"}
	m.ids.init()
	return m
}

// templateEvent renders InjectMessages' n-th event and payload as it does.
func templateEvent(m *socketModeServer, text []byte, n int, evCtx string) []byte {
	ev := m.appendMessageEvent(make([]byte, 0, 400+len(text)), text, n, benchUser, []byte(benchTS), benchTeam, benchChannel)
	return m.eventPayload(make([]byte, 0, len(ev)+360), benchTeam, benchApp, benchBot, m.ids.eventID(), 1700000000, evCtx, ev)
}

// slackgoEvent renders the same event and payload from slack-go's types.
func slackgoEvent(m *socketModeServer, prefix string, n int, evCtx, msgID, eventID string) ([]byte, error) {
	ev, err := json.Marshal(sgMessageEvent{
		MessageEvent: slackevents.MessageEvent{
			ClientMsgID: msgID, Type: "message", Text: prefix + itoa(int64(n)), User: benchUser, TimeStamp: benchTS,
			Channel: benchChannel, EventTimeStamp: benchTS, ChannelType: "channel",
		},
		Team: benchTeam,
	})
	if err != nil {
		return nil, err
	}
	raw := json.RawMessage(ev)
	return json.Marshal(sgEventCallback{
		EventsAPICallbackEvent: slackevents.EventsAPICallbackEvent{
			Type: "event_callback", Token: m.verification, TeamID: benchTeam, APIAppID: benchApp, InnerEvent: &raw,
			EventID: eventID, EventTime: 1700000000, EventContext: evCtx,
		},
		Authorizations: []sgAuthorization{{EventAuthorization: slack.EventAuthorization{TeamID: benchTeam, UserID: benchBot, IsBot: true}}},
	})
}

func jsonEqual(t *testing.T, what string, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v: %s", what, err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: %v: %s", what, err, want)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s differs:\n hand-rendered %s\n slack-go      %s", what, got, want)
	}
}

// TestMessageEventTemplate checks that InjectMessages' template renders what slack-go's types do.
func TestMessageEventTemplate(t *testing.T) {
	m := benchServer()
	text, _ := json.Marshal(`say "hi" <@U1> ünï`)
	text = text[:len(text)-1]
	evCtx := eventContext("message", benchTeam, benchApp, benchChannel)
	got := templateEvent(m, text, 7, evCtx)
	var ids struct {
		EventID string `json:"event_id"`
		Event   struct {
			ClientMsgID string `json:"client_msg_id"`
		} `json:"event"`
	}
	if err := json.Unmarshal(got, &ids); err != nil {
		t.Fatal(err)
	}
	want, err := slackgoEvent(m, `say "hi" <@U1> ünï`, 7, evCtx, ids.Event.ClientMsgID, ids.EventID)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, "message event", got, want)
}

// TestRTMMessageFrame checks that messageFrame renders what slack.Msg does.
func TestRTMMessageFrame(t *testing.T) {
	for _, m := range []Message{
		{Channel: benchChannel, TS: benchTS, User: benchUser, Text: "hello"},
		{Channel: benchChannel, TS: benchTS, ThreadTS: "1699999999.000001", BotID: "B0000900001", User: benchBot, Text: ""},
	} {
		want, err := json.Marshal(slackgoRTMMessage(benchTeam, m))
		if err != nil {
			t.Fatal(err)
		}
		jsonEqual(t, "rtm message", messageFrame(benchTeam, m), want)
	}
}

func slackgoRTMMessage(team string, m Message) sgRTMMessage {
	return sgRTMMessage{
		Msg: slack.Msg{Type: "message", Channel: m.Channel, User: m.User, BotID: m.BotID, ThreadTimestamp: m.ThreadTS,
			Timestamp: m.TS, EventTimestamp: m.TS, Team: team},
		Text: m.Text, UserTeam: team, SourceTeam: team,
	}
}

// BenchmarkMessageEvent renders one InjectMessages event and its payload (not the envelope, the
// same either way), from the template and from slack-go's types.
func BenchmarkMessageEvent(b *testing.B) {
	m := benchServer()
	text, _ := json.Marshal("load test message ")
	text = text[:len(text)-1]
	evCtx := eventContext("message", benchTeam, benchApp, benchChannel)
	b.Run("template", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			_ = templateEvent(m, text, i, evCtx)
		}
	})
	b.Run("slackgo", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			if _, err := slackgoEvent(m, "load test message ", i, evCtx, m.ids.envelopeID(), m.ids.eventID()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRTMMessageFrame renders one RTM message event (InjectRTMStream's hot path) from
// rtmMessageEvent and from slack.Msg.
func BenchmarkRTMMessageFrame(b *testing.B) {
	msg := Message{Channel: benchChannel, TS: benchTS, User: benchUser, Text: "load test message 12345"}
	b.Run("struct", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			_ = messageFrame(benchTeam, msg)
		}
	})
	b.Run("slackgo", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := json.Marshal(slackgoRTMMessage(benchTeam, msg)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// sgEnvelope is an events_api envelope as socketmode.Request renders it, less the hello and
// disconnect keys it always marshals.
type sgEnvelope struct {
	socketmode.Request
	NumConnections omit `json:"num_connections,omitzero"`
	ConnectionInfo omit `json:"connection_info,omitzero"`
	Reason         omit `json:"reason,omitzero"`
	DebugInfo      omit `json:"debug_info,omitzero"`
}

func slackgoEnvelope(e *envelope, id string, attempt int) ([]byte, error) {
	reason := ""
	if attempt > 0 {
		reason = "timeout"
	}
	return json.Marshal(sgEnvelope{Request: socketmode.Request{
		Type: e.typ, EnvelopeID: id, Payload: e.payload, AcceptsResponsePayload: e.accepts, RetryAttempt: attempt, RetryReason: reason,
	}})
}

// TestEnvelopeFrame checks that envelope.frame renders what socketmode.Request does.
func TestEnvelopeFrame(t *testing.T) {
	m := benchServer()
	text, _ := json.Marshal("hello ")
	e := &envelope{typ: typeEventsAPI, payload: templateEvent(m, text[:len(text)-1], 1, "4-x")}
	for _, attempt := range []int{0, 2} {
		want, err := slackgoEnvelope(e, "8c5e0a5b-8c55-4ea1-a000-000000000001", attempt)
		if err != nil {
			t.Fatal(err)
		}
		jsonEqual(t, "envelope", e.frame("8c5e0a5b-8c55-4ea1-a000-000000000001", attempt), want)
	}
}

// BenchmarkEnvelopeFrame wraps one InjectMessages payload (about 700 bytes) in its envelope, as
// every delivery does, by envelope.frame and by socketmode.Request.
func BenchmarkEnvelopeFrame(b *testing.B) {
	m := benchServer()
	text, _ := json.Marshal("load test message ")
	e := &envelope{typ: typeEventsAPI, payload: templateEvent(m, text[:len(text)-1], 1, eventContext("message", benchTeam, benchApp, benchChannel))}
	id := m.ids.envelopeID()
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			_ = e.frame(id, 0)
		}
	})
	b.Run("slackgo", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := slackgoEnvelope(e, id, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}
