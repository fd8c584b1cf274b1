package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"go.uber.org/goleak"

	"github.com/switchboard-go/switchboard/fakeslack"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The whole flow in two workspaces at once, over Socket Mode on the stand-in: /triage opens the
// modal, a submission without a title is refused in its ack, one with a title posts the item
// with buttons, Take and Close update that message, and the Home tab lists each workspace's own
// open items.
func TestTriageFlow(t *testing.T) {
	t.Parallel()
	srv, err := fakeslack.New(fakeslack.Options{Workspaces: 2, Apps: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	app := srv.Apps()[0]
	wss := srv.Workspaces()
	logs := &syncBuffer{}
	log := logrus.New()
	log.SetOutput(logs)
	ready := make(chan struct{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { // owner: the test; ends when stop cancels runCtx; the test waits on done.
		done <- run(runCtx, config{AppToken: app.AppToken, BotTokens: []string{wss[0].BotToken, wss[1].BotToken},
			APIURL: srv.APIURL(), Log: log, Ready: ready})
	}()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		if strings.Contains(logs.String(), "triage handler failed") {
			t.Errorf("a handler failed:\n%s", logs)
		}
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	waitUntil(t, "the bot's socket", func() bool { return len(srv.Connections(app.AppID)) > 0 })

	type posted struct{ id, ts string }
	items := map[string]posted{}
	for _, ws := range wss {
		team, ch, user := ws.TeamID, ws.Channels[0].ID, ws.Users[0].ID
		if _, err := srv.InjectSlashCommand(app.AppID, fakeslack.SlashCommand{Team: team, Channel: ch, User: user, Command: "/triage", Text: "printer"}); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "the modal in "+team, func() bool {
			return len(srv.Transcript().Entries(func(e fakeslack.Entry) bool {
				return e.Method == "views.open" && e.Team == team && e.Status == "ok"
			})) == 1
		})
		refused, err := srv.InjectInteraction(app.AppID, fakeslack.Interaction{Type: "view_submission", Team: team, User: user,
			CallbackID: modalID, PrivateMetadata: ch, Values: json.RawMessage(`{"title":{"title":{"type":"plain_text_input","value":" "}}}`)})
		if err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "the refusal in the ack", func() bool {
			ack, ok := srv.AckPayload(refused.EnvelopeID)
			return ok && strings.Contains(string(ack), `"response_action":"errors"`)
		})
		title := "Printer on fire in " + ws.Name
		values := fmt.Sprintf(`{"title":{"title":{"type":"plain_text_input","value":%q}},`+
			`"priority":{"priority":{"type":"static_select","selected_option":{"value":"high"}}}}`, title)
		if _, err := srv.InjectInteraction(app.AppID, fakeslack.Interaction{Type: "view_submission", Team: team, User: user,
			CallbackID: modalID, PrivateMetadata: ch, Values: json.RawMessage(values)}); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "the item posted in "+team, func() bool {
			for _, m := range srv.History(ch) {
				if strings.Contains(m.Text, title) && m.Via == "chat.postMessage" {
					items[team] = posted{buttonValue(t, m.Raw), m.TS}
					return !strings.Contains(m.Text, "taken")
				}
			}
			return false
		})
	}
	home := func(ws fakeslack.Workspace) string {
		t.Helper()
		user := ws.Users[0].ID
		before, _ := srv.HomeView(ws.TeamID, user)
		if _, err := srv.InjectAppHomeOpened(app.AppID, ws.TeamID, user); err != nil {
			t.Fatal(err)
		}
		var v fakeslack.View
		waitUntil(t, "the home tab of "+ws.TeamID, func() bool {
			var ok bool
			v, ok = srv.HomeView(ws.TeamID, user)
			return ok && v.Hash != before.Hash
		})
		return string(v.JSON)
	}
	a, b := wss[0], wss[1]
	if h := home(a); !strings.Contains(h, "Open items: 1") || !strings.Contains(h, "Printer on fire in "+a.Name) || strings.Contains(h, b.Name) {
		t.Errorf("home tab of %s: %s", a.TeamID, h)
	}

	// Take, then Close, in the first workspace.
	ch, user, it := a.Channels[0].ID, a.Users[0].ID, items[a.TeamID]
	message := func() fakeslack.Message {
		for _, m := range srv.History(ch) {
			if m.TS == it.ts {
				return m
			}
		}
		return fakeslack.Message{}
	}
	press := func(action string) {
		t.Helper()
		if _, err := srv.InjectInteraction(app.AppID, fakeslack.Interaction{Team: a.TeamID, Channel: ch, User: user,
			ActionID: action, BlockID: "item:" + it.id, Value: it.id, MessageTS: it.ts}); err != nil {
			t.Fatal(err)
		}
	}
	press(takeID)
	waitUntil(t, "the message updated by Take", func() bool {
		m := message()
		return m.Edited != "" && strings.Contains(m.Text, "taken by <@"+user+">")
	})
	press(closeID)
	waitUntil(t, "the message updated by Close", func() bool { return strings.HasPrefix(message().Text, "Closed by <@"+user+">") })
	if m := message(); strings.Contains(string(m.Raw), takeID) {
		t.Errorf("a closed item still has its buttons: %s", m.Raw)
	}
	if h := home(a); !strings.Contains(h, "Open items: 0") {
		t.Errorf("home tab of %s after Close: %s", a.TeamID, h)
	}
	if h := home(b); !strings.Contains(h, "Open items: 1") || !strings.Contains(h, "Printer on fire in "+b.Name) {
		t.Errorf("home tab of %s: %s", b.TeamID, h)
	}
}

// Without its tokens the bot says which to set.
func TestTriageNeedsTokens(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), config{})
	if err == nil || !strings.Contains(err.Error(), "SLACK_APP_TOKEN") || !strings.Contains(err.Error(), "SLACK_BOT_TOKENS") {
		t.Errorf("run without tokens: %v", err)
	}
}

var itemValue = regexp.MustCompile(`"action_id":"` + takeID + `".*?"value":"([^"]+)"`)

// buttonValue returns the item ID in the Take button of a chat.postMessage's arguments.
func buttonValue(t *testing.T, raw []byte) string {
	t.Helper()
	var args map[string]string
	if err := json.Unmarshal(raw, &args); err != nil {
		t.Fatalf("message arguments %s: %v", raw, err)
	}
	m := itemValue.FindStringSubmatch(args["blocks"])
	if m == nil {
		t.Fatalf("no Take button in %s", args["blocks"])
	}
	return m[1]
}
