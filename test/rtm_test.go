package test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/messages"
)

// rtmHarness is a harness whose runtime connects the server's workspaces over RTM.
type rtmHarness struct {
	*harness
}

func newRTMHarness(t *testing.T, so fakeslack.Options, opts ...switchboard.Option) *rtmHarness {
	t.Helper()
	return &rtmHarness{newHarness(t, so, opts...)}
}

// workspace returns the RTM settings of the server's i-th workspace, with its classic bot token.
func (h *rtmHarness) workspace(i int) switchboard.Workspace {
	ws := h.srv.Workspaces()[i]
	return switchboard.Workspace{Team: ws.TeamID, Token: ws.ClassicBotToken}
}

func (h *rtmHarness) add(ws switchboard.Workspace) {
	h.t.Helper()
	if err := h.rt.AddWorkspace(context.Background(), ws); err != nil {
		h.t.Fatal(err)
	}
}

// connID returns the ID of team's only open socket on the server.
func (h *rtmHarness) connID(team string) string {
	h.t.Helper()
	var conns []fakeslack.ConnInfo
	waitFor(h.t, 5*time.Second, "an rtm socket", func() bool {
		conns = h.srv.Connections(team)
		return len(conns) == 1
	})
	return conns[0].ID
}

func rtmConnected(team string) func(messages.Lifecycle) bool {
	return func(ev messages.Lifecycle) bool {
		c, ok := ev.(messages.Connected)
		return ok && c.Link.Team == team
	}
}

// rtmFrame is the part of an RTM message frame the tests read.
type rtmFrame struct {
	Type     string `json:"type"`
	Subtype  string `json:"subtype"`
	Text     string `json:"text"`
	User     string `json:"user"`
	BotID    string `json:"bot_id"`
	Channel  string `json:"channel"`
	TS       string `json:"ts"`
	ThreadTS string `json:"thread_ts"`
}

// The seeds' example bot: reply in thread to "Hello" with "Hi <@user>!", in three workspaces at once.
func TestRTMExampleBotThreeWorkspaces(t *testing.T) {
	t.Parallel()
	h := newRTMHarness(t, fakeslack.Options{Workspaces: 3})
	var opens collector
	if err := h.rt.Handle(switchboard.Filter{Kinds: []messages.Kind{messages.KindRTM}, Types: []string{"open"}},
		func(_ context.Context, ev *switchboard.Event) error { opens.add(ev); return nil }); err != nil {
		t.Fatal(err)
	}
	err := h.rt.Handle(switchboard.Filter{Kinds: []messages.Kind{messages.KindRTM}, Types: []string{"message"}},
		func(ctx context.Context, ev *switchboard.Event) error {
			var m rtmFrame
			if err := json.Unmarshal(ev.Raw, &m); err != nil || m.Text != "Hello" || m.BotID != "" {
				return nil
			}
			if c, err := ev.Client(context.Background()); c == nil || err != nil {
				t.Errorf("no web api client for %s", ev.Team)
			}
			if _, err := h.rt.Send(ctx, ev.Team, switchboard.RTMMessage{Channel: ev.Channel, Text: "Hi <@" + m.User + ">!", ThreadTS: m.TS}); err != nil {
				t.Errorf("send in %s: %v", ev.Team, err)
			}
			return nil
		}, switchboard.PerTeam(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		h.add(h.workspace(i))
	}
	h.awaitConnected(3, 10*time.Second)
	waitFor(t, 5*time.Second, "an open event per workspace", func() bool { return opens.len() == 3 })

	workspaces := h.srv.Workspaces()
	hellos := map[string]string{} // channel → ts of the Hello
	for _, ws := range workspaces {
		ch := ws.Channels[0].ID
		ts, err := h.srv.InjectRTMMessage(ws.TeamID, fakeslack.RTMMessage{Channel: ch, User: ws.Users[1].ID, Text: "Hello"})
		if err != nil {
			t.Fatal(err)
		}
		hellos[ch] = ts
	}
	for _, ws := range workspaces {
		ch, user := ws.Channels[0].ID, ws.Users[1].ID
		var replies []fakeslack.Message
		waitFor(t, 10*time.Second, "a threaded reply in "+ws.TeamID, func() bool {
			replies = replies[:0]
			for _, m := range h.srv.History(ch) {
				if m.Via == "rtm" {
					replies = append(replies, m)
				}
			}
			return len(replies) > 0
		})
		time.Sleep(200 * time.Millisecond) // a second reply, if any, would come right after the first
		replies = replies[:0]
		for _, m := range h.srv.History(ch) {
			if m.Via == "rtm" {
				replies = append(replies, m)
			}
		}
		if len(replies) != 1 {
			t.Fatalf("%s: %d replies, want exactly one: %+v", ws.TeamID, len(replies), replies)
		}
		r := replies[0]
		if r.ThreadTS != hellos[ch] || r.Text != "Hi <@"+user+">!" || r.BotID != ws.BotID {
			t.Errorf("%s: reply %+v, want %q in thread %s from bot %s", ws.TeamID, r, "Hi <@"+user+">!", hellos[ch], ws.BotID)
		}
	}
	for _, ev := range opens.all() {
		var body struct {
			OK   bool                `json:"ok"`
			Self struct{ ID string } `json:"self"`
		}
		if err := json.Unmarshal(ev.Raw, &body); err != nil || !body.OK || body.Self.ID == "" || ev.Link.Transport != messages.RTM {
			t.Errorf("open event %+v: raw %s (%v)", ev.Link, ev.Raw, err)
		}
	}
	for _, st := range h.rt.Status() {
		if st.State != "connected" || st.Link.Transport != messages.RTM {
			t.Errorf("status %+v", st)
		}
	}
}

func TestRTMStartDeliversInitialStateAsOpenEvent(t *testing.T) {
	t.Parallel()
	h := newRTMHarness(t, fakeslack.Options{Workspaces: 1})
	opened := make(chan *switchboard.Event, 1)
	if err := h.rt.Handle(switchboard.Filter{Types: []string{"open"}}, func(_ context.Context, ev *switchboard.Event) error { opened <- ev; return nil }); err != nil {
		t.Fatal(err)
	}
	ws := h.workspace(0)
	ws.ConnectMethod = switchboard.RTMStart
	h.add(ws)
	select {
	case ev := <-opened:
		var body struct {
			Users    []json.RawMessage `json:"users"`
			Channels []json.RawMessage `json:"channels"`
		}
		if err := json.Unmarshal(ev.Raw, &body); err != nil || len(body.Users) == 0 || len(body.Channels) == 0 {
			t.Errorf("rtm.start open event raw %s: want users and channels (%v)", ev.Raw, err)
		}
		if ev.Kind != messages.KindRTM || ev.Team != ws.Team {
			t.Errorf("open event kind %q team %q", ev.Kind, ev.Team)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no open event")
	}
}

func TestRTMEventsRoutedToSubscribers(t *testing.T) {
	t.Parallel()
	h := newRTMHarness(t, fakeslack.Options{Workspaces: 1})
	var got collector
	if err := h.rt.Handle(switchboard.Filter{Kinds: []messages.Kind{messages.KindRTM}, Types: []string{"message", "reaction_added"}},
		func(_ context.Context, ev *switchboard.Event) error { got.add(ev); return nil }, switchboard.PerChannel(time.Minute)); err != nil {
		t.Fatal(err)
	}
	ws := h.workspace(0)
	fws := h.srv.Workspaces()[0]
	h.add(ws)
	h.awaitConnected(1, 10*time.Second)
	ch := fws.Channels[1].ID
	if _, err := h.srv.InjectRTMMessage(ws.Team, fakeslack.RTMMessage{Channel: ch, User: fws.Users[2].ID, Text: "in a thread", ThreadTS: "1.000001"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.srv.InjectRTMEvent(ws.Team, map[string]any{"type": "reaction_added", "user": fws.Users[0].ID, "reaction": "thumbsup",
		"item": map[string]string{"type": "message", "channel": ch, "ts": "1.000001"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.srv.SendRTMReconnectURL(ws.Team); err != nil { // ignored
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "two events", func() bool { return got.len() == 2 })
	evs := got.all()
	if m := evs[0]; m.Type != "message" || m.Channel != ch || m.User != fws.Users[2].ID || m.ThreadTS != "1.000001" || m.Team != ws.Team || !hasClient(m) {
		t.Errorf("message routed as %+v", m)
	}
	if r := evs[1]; r.Type != "reaction_added" || r.Channel != ch || r.User != fws.Users[0].ID {
		t.Errorf("reaction routed as type %q channel %q user %q", r.Type, r.Channel, r.User)
	}
}

func TestRTMSendOutcomes(t *testing.T) {
	t.Parallel()
	h := newRTMHarness(t, fakeslack.Options{Workspaces: 1})
	ctx := context.Background()
	ws := h.workspace(0)
	ch := h.srv.Workspaces()[0].Channels[0].ID
	if _, err := h.rt.Send(ctx, ws.Team, switchboard.RTMMessage{Channel: ch, Text: "x"}); !errors.Is(err, switchboard.ErrUnknownWorkspace) {
		t.Errorf("send before AddWorkspace: %v, want ErrUnknownWorkspace", err)
	}
	h.add(ws)
	h.awaitConnected(1, 10*time.Second)

	r, err := h.rt.Send(ctx, ws.Team, switchboard.RTMMessage{Channel: ch, Text: "hello world"})
	if err != nil || r.TS == "" || r.Text != "hello world" || r.ID <= 0 {
		t.Fatalf("Send = %+v, %v", r, err)
	}
	if hist := h.srv.History(ch); len(hist) != 1 || hist[0].TS != r.TS {
		t.Errorf("history %+v, want the message with ts %s", hist, r.TS)
	}
	_, err = h.rt.Send(ctx, ws.Team, switchboard.RTMMessage{Channel: "CNOSUCH", Text: "lost"})
	var re *messages.RTMReplyError
	if !errors.As(err, &re) || re.Code != 4 || errors.Is(err, switchboard.ErrSlowDown) {
		t.Errorf("send to an unknown channel: %v, want the server's error reply", err)
	}
	if _, err := h.rt.Send(ctx, ws.Team, switchboard.RTMMessage{Channel: ch, Text: strings.Repeat("é", 4001)}); !errors.Is(err, switchboard.ErrTextTooLong) {
		t.Errorf("4001 chars: %v, want ErrTextTooLong", err)
	}
	if _, err := h.rt.Send(ctx, ws.Team, switchboard.RTMMessage{Channel: ch, Text: strings.Repeat("\x01", 3000)}); !errors.Is(err, switchboard.ErrFrameTooLarge) {
		t.Errorf("3000 control chars (18 KB escaped): %v, want ErrFrameTooLarge", err)
	}
	if err := h.rt.Typing(ctx, ws.Team, ch); err != nil {
		t.Errorf("Typing: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := h.rt.Send(cctx, ws.Team, switchboard.RTMMessage{Channel: ch, Text: "x"}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: %v", err)
	}
	if n := len(h.srv.History(ch)); n != 1 {
		t.Errorf("%d messages posted, want 1: refused sends must not be written", n)
	}
	stopCtx, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	if err := h.rt.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	if _, err := h.rt.Send(ctx, ws.Team, switchboard.RTMMessage{Channel: ch, Text: "x"}); !errors.Is(err, switchboard.ErrStopped) {
		t.Errorf("send after Stop: %v, want ErrStopped", err)
	}
}

func TestRTMSlowDownReply(t *testing.T) {
	t.Parallel()
	h := newRTMHarness(t, fakeslack.Options{Workspaces: 1, RTM: fakeslack.RTMOptions{WriteBurst: 1, WriteRefill: time.Hour}})
	ws := h.workspace(0)
	ws.WriteBurst = 10 // more than the server allows: its slow-down replies come back
	h.add(ws)
	h.awaitConnected(1, 10*time.Second)
	ch := h.srv.Workspaces()[0].Channels[0].ID
	type result struct {
		r   switchboard.Reply
		err error
	}
	results := make(chan result, 3)
	for i := range 3 {
		go func() {
			r, err := h.rt.Send(context.Background(), ws.Team, switchboard.RTMMessage{Channel: ch, Text: "burst " + string(rune('a'+i))})
			results <- result{r, err}
		}()
	}
	ok, slow := 0, 0
	for range 3 {
		res := <-results
		var re *messages.RTMReplyError
		switch {
		case res.err == nil:
			ok++
		case errors.Is(res.err, switchboard.ErrSlowDown) && errors.As(res.err, &re) && re.Code == -1:
			slow++
		default:
			t.Errorf("send: %v", res.err)
		}
	}
	if ok != 1 || slow != 2 {
		t.Errorf("%d ok and %d slow-down replies, want 1 and 2", ok, slow)
	}
}

func TestRTMRateLimitQueuesThenFailsWhenFull(t *testing.T) {
	t.Parallel()
	h := newRTMHarness(t, fakeslack.Options{Workspaces: 2})
	ws := h.workspace(0)
	ws.WriteBurst, ws.WriteRefill, ws.SendQueue = 1, 150*time.Millisecond, 2
	h.add(ws)
	h.awaitConnected(1, 10*time.Second)
	ch := h.srv.Workspaces()[0].Channels[0].ID
	start := time.Now()
	errs := make(chan error, 4)
	for range 3 {
		go func() {
			_, err := h.rt.Send(context.Background(), ws.Team, switchboard.RTMMessage{Channel: ch, Text: "paced"})
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Errorf("paced send: %v", err)
		}
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("3 sends at burst 1, 1 per 150ms took %v, want >= 300ms", d)
	}
	// A long refill: the 1st goes, the next 2 wait, the 4th finds the queue full.
	ws2 := h.workspace(1)
	ws2.WriteBurst, ws2.WriteRefill, ws2.SendQueue = 1, time.Hour, 2
	h.add(ws2)
	h.await(10*time.Second, "second workspace", rtmConnected(ws2.Team))
	ch2 := h.srv.Workspaces()[1].Channels[0].ID
	for range 3 {
		go func() {
			_, err := h.rt.Send(context.Background(), ws2.Team, switchboard.RTMMessage{Channel: ch2, Text: "held"})
			errs <- err
		}()
	}
	waitFor(t, 5*time.Second, "the first held send written", func() bool { return len(h.srv.History(ch2)) == 1 })
	// The writer's queue is not observable from outside, and a probe send would join it: this
	// sleep only gives the other two sends time to reach it.
	time.Sleep(100 * time.Millisecond)
	if _, err := h.rt.Send(context.Background(), ws2.Team, switchboard.RTMMessage{Channel: ch2, Text: "overflow"}); !errors.Is(err, switchboard.ErrSendQueueFull) {
		t.Errorf("4th send: %v, want ErrSendQueueFull", err)
	}
	if err := h.rt.RemoveWorkspace(context.Background(), ws2.Team); err != nil {
		t.Fatal(err)
	}
	var sent, unsent int
	for range 3 {
		err := <-errs
		var se *messages.SessionEndedError
		switch {
		case err == nil:
			sent++
		case errors.As(err, &se) && !se.MaybeSent:
			unsent++
		default:
			t.Errorf("held send after RemoveWorkspace: %v", err)
		}
	}
	if sent != 1 || unsent != 2 {
		t.Errorf("%d sent, %d reported not sent; want 1 and 2", sent, unsent)
	}
}

func TestRTMSessionEndsWithSendsInFlight(t *testing.T) {
	t.Parallel()
	h := newRTMHarness(t, fakeslack.Options{Workspaces: 1})
	ws := h.workspace(0)
	ws.WriteBurst, ws.WriteRefill = 1, time.Hour
	h.add(ws)
	h.awaitConnected(1, 10*time.Second)
	ch := h.srv.Workspaces()[0].Channels[0].ID
	id := h.connID(ws.Team)
	if err := h.srv.SilenceConnection(id); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	go func() {
		_, err := h.rt.Send(context.Background(), ws.Team, switchboard.RTMMessage{Channel: ch, Text: "written, never answered"})
		errs <- err
	}()
	waitFor(t, 5*time.Second, "the first send written", func() bool {
		return len(h.srv.Transcript().Entries(func(e fakeslack.Entry) bool {
			return e.Kind == fakeslack.KindFrameIn && e.Conn == id && bytes.Contains(e.Data, []byte("written, never answered"))
		})) == 1
	})
	go func() {
		_, err := h.rt.Send(context.Background(), ws.Team, switchboard.RTMMessage{Channel: ch, Text: "held by the rate"})
		errs <- err
	}()
	// A send held by the rate is in the writer's queue only, which nothing outside shows: this
	// sleep gives it time to get there before the drop.
	time.Sleep(100 * time.Millisecond)
	if err := h.srv.DropConnection(id, false); err != nil {
		t.Fatal(err)
	}
	var maybe, not int
	for range 2 {
		select {
		case err := <-errs:
			var se *messages.SessionEndedError
			if !errors.As(err, &se) || !errors.Is(err, switchboard.ErrSessionEnded) {
				t.Fatalf("send in flight at drop: %v, want a SessionEndedError", err)
			}
			if se.MaybeSent {
				maybe++
			} else {
				not++
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a send in flight was never answered")
		}
	}
	if maybe != 1 || not != 1 {
		t.Errorf("%d may-have-been-sent and %d not-sent, want 1 and 1", maybe, not)
	}
	h.await(10*time.Second, "reconnected", rtmConnected(ws.Team))
	if _, err := h.rt.Send(context.Background(), ws.Team, switchboard.RTMMessage{Channel: ch, Text: "after"}); err != nil {
		t.Errorf("send on the new session: %v", err)
	}
}
