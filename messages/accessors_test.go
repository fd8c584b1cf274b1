package messages

import (
	"context"
	"errors"
	"testing"
)

func TestAccessors(t *testing.T) {
	for _, tt := range []struct {
		name                                string
		ev                                  *Event
		text, subtype, bot, ts, value, cbID string
	}{
		{"events api message", &Event{Kind: KindEventsAPI, Type: "message",
			Raw: []byte(`{"event":{"type":"message","text":"hi","ts":"1.2","bot_id":"B1","subtype":"bot_message"}}`)},
			"hi", "bot_message", "B1", "1.2", "", ""},
		{"rtm message", &Event{Kind: KindRTM, Type: "message", Raw: []byte(`{"type":"message","text":"yo","ts":"3.4"}`)},
			"yo", "", "", "3.4", "", ""},
		{"slash command", &Event{Kind: KindSlashCommand, Type: "/x", Raw: []byte(`{"command":"/x","text":"args"}`)},
			"args", "", "", "", "", ""},
		{"button", &Event{Kind: KindInteractive, Type: "block_actions", Raw: []byte(`{"type":"block_actions",
			"container":{"message_ts":"5.6"},"actions":[{"action_id":"a","block_id":"b","type":"button","value":"v"}]}`)},
			"", "", "", "5.6", "v", ""},
		{"select", &Event{Kind: KindInteractive, Type: "block_actions", Raw: []byte(`{"type":"block_actions",
			"actions":[{"action_id":"a","block_id":"b","type":"static_select","selected_option":{"value":"high"}}]}`)},
			"", "", "", "", "high", ""},
		{"suggestion", &Event{Kind: KindInteractive, Type: "block_suggestion", Raw: []byte(`{"type":"block_suggestion","action_id":"a","value":"typed","view":{"callback_id":"modal"}}`)},
			"", "", "", "", "typed", "modal"},
		{"shortcut", &Event{Kind: KindInteractive, Type: "shortcut", Raw: []byte(`{"type":"shortcut","callback_id":"quick"}`)},
			"", "", "", "", "", "quick"},
		{"garbage", &Event{Kind: KindInteractive, Type: "block_actions", Raw: []byte(`{`)}, "", "", "", "", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev := tt.ev
			if ev.Text() != tt.text || ev.Subtype() != tt.subtype || ev.BotID() != tt.bot || ev.MessageTS() != tt.ts ||
				ev.ActionValue() != tt.value || ev.CallbackID() != tt.cbID {
				t.Errorf("text %q subtype %q bot %q ts %q value %q callback %q", ev.Text(), ev.Subtype(), ev.BotID(),
					ev.MessageTS(), ev.ActionValue(), ev.CallbackID())
			}
		})
	}
}

func TestViewState(t *testing.T) {
	ev := &Event{Kind: KindInteractive, Type: "view_submission", Raw: []byte(`{"type":"view_submission","view":{"callback_id":"m",
		"state":{"values":{"title":{"title":{"type":"plain_text_input","value":"Fire"}}}}}}`)}
	if a, ok := ev.StateValue("title", "title"); !ok || a.Value != "Fire" {
		t.Errorf("StateValue = %+v, %v", a, ok)
	}
	if _, ok := ev.StateValue("title", "other"); ok {
		t.Error("StateValue of a missing action")
	}
	if (&Event{Kind: KindEventsAPI}).ViewState() != nil {
		t.Error("ViewState of an Events API event")
	}
}

func TestSayWithoutChannel(t *testing.T) {
	if _, err := (&Event{Kind: KindInteractive, Type: "view_submission"}).Say(context.Background(), "x"); !errors.Is(err, ErrNoChannel) {
		t.Errorf("Say without a channel: %v", err)
	}
	if _, err := (&Event{Kind: KindEventsAPI, Channel: "C1", Team: "T1"}).Say(context.Background(), "x"); !errors.Is(err, ErrNoClient) {
		t.Errorf("Say without a source: %v", err)
	}
}
