package messages

import (
	"context"
	"sync"
	"testing"
	"unsafe"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// plainSource is a Source that is not a MessageFielder.
type plainSource struct{}

func (plainSource) AcceptsResponse() bool                                 { return false }
func (plainSource) Respond([]byte) bool                                   { return false }
func (plainSource) Client(context.Context, string) (*slack.Client, error) { return nil, ErrNoClient }

// fielderSource is a Source that is a MessageFielder, as the runtime's are.
type fielderSource struct {
	plainSource
	text, ts, threadTS string
	ok                 bool
}

func (s *fielderSource) MessageFields() (text, ts, threadTS, subtype, botID, user string, ok bool) {
	return s.text, s.ts, s.threadTS, "", "", "U1", s.ok
}

func TestEventSize(t *testing.T) {
	// 448 bytes while the decoded state sat in the Event; one pointer to it now.
	if size := unsafe.Sizeof(Event{}); size > 304 {
		t.Errorf("unsafe.Sizeof(Event{}) = %d, want at most 304", size)
	}
}

const concurrentRaw = `{"type":"event_callback","team_id":"T1","event":{"type":"message","channel":"C1","text":"from raw","ts":"1.2"}}`

func TestEventConcurrentDecode(t *testing.T) {
	for _, tt := range []struct {
		name     string
		src      Source
		wantText string
	}{
		{"plain source", plainSource{}, "from raw"},
		{"fielder source", &fielderSource{text: "from source", ts: "1.2", ok: true}, "from source"},
		{"fielder without fields", &fielderSource{text: "ignored"}, "from raw"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev := NewEvent(tt.src, &Event{Kind: KindEventsAPI, Type: "message", Raw: []byte(concurrentRaw)})
			const n = 8
			var (
				wg    sync.WaitGroup
				start = make(chan struct{})
				texts [n]string
				data  [n]any
				errs  [n]error
			)
			for i := range n {
				wg.Go(func() {
					<-start
					if i%2 == 0 {
						texts[i] = ev.Text()
					}
					var api slackevents.EventsAPIEvent
					api, errs[i] = ev.EventsAPI()
					data[i] = api.InnerEvent.Data
					if i%2 == 1 {
						texts[i] = ev.Text()
					}
				})
			}
			close(start)
			wg.Wait()
			first, ok := data[0].(*slackevents.MessageEvent)
			if !ok || first.Text != "from raw" {
				t.Fatalf("EventsAPI inner event = %#v", data[0])
			}
			for i := range n {
				if errs[i] != nil {
					t.Errorf("goroutine %d: EventsAPI: %v", i, errs[i])
				}
				if texts[i] != tt.wantText {
					t.Errorf("goroutine %d: Text = %q, want %q", i, texts[i], tt.wantText)
				}
				// Decoded once and shared: every goroutine sees the same inner event.
				if d, _ := data[i].(*slackevents.MessageEvent); d != first {
					t.Errorf("goroutine %d: EventsAPI decoded again (%p, first %p)", i, d, first)
				}
			}
			if ev.MessageTS() != "1.2" {
				t.Errorf("MessageTS = %q", ev.MessageTS())
			}
		})
	}
}

func TestFieldsFromSourceAllocateNothing(t *testing.T) {
	ev := NewEvent(&fielderSource{text: "hi", ts: "1.2", threadTS: "1.1", ok: true},
		&Event{Kind: KindEventsAPI, Type: "message", Raw: []byte(concurrentRaw)})
	var text, ts, thread string
	if allocs := testing.AllocsPerRun(100, func() {
		text, ts, thread = ev.Text(), ev.MessageTS(), ev.fields().ThreadTS
	}); allocs != 0 {
		t.Errorf("accessors with a MessageFielder source: %v allocations, want 0", allocs)
	}
	if text != "hi" || ts != "1.2" || thread != "1.1" {
		t.Errorf("text %q ts %q thread %q", text, ts, thread)
	}
	if ev.lazy.Load() != nil {
		t.Error("lazy state allocated for fields the source has")
	}
}

func TestFielderSourceOnlyForMessages(t *testing.T) {
	// An interaction's fields come from its payload, whatever the source says.
	ev := NewEvent(&fielderSource{text: "source", ts: "9.9", ok: true}, &Event{Kind: KindInteractive, Type: "block_actions",
		Raw: []byte(`{"type":"block_actions","container":{"message_ts":"5.6","thread_ts":"5.0"},"message":{"text":"msg"}}`)})
	if ev.Text() != "msg" || ev.MessageTS() != "5.6" || ev.fields().ThreadTS != "5.0" {
		t.Errorf("text %q ts %q thread %q", ev.Text(), ev.MessageTS(), ev.fields().ThreadTS)
	}
}
