package fakeslack_test

import (
	"errors"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-go/switchboard/fakeslack"
)

// These tests run slack-go, an independent Slack client, against the stand-in unchanged: if it
// works here, the stand-in speaks Slack closely enough.

const slackGoWait = 10 * time.Second

// startSlackGoRTM runs slack-go's managed RTM connection for token and stops it when the test ends.
func startSlackGoRTM(t *testing.T, srv *fakeslack.Server, token string, opts ...slack.RTMOption) *slack.RTM {
	t.Helper()
	rtm := slack.New(token, slack.OptionAPIURL(srv.APIURL())).NewRTM(opts...)
	done := make(chan struct{})
	go func() { // owner: the test; ManageConnection returns after Disconnect, waited on in Cleanup.
		defer close(done)
		rtm.ManageConnection()
	}()
	t.Cleanup(func() {
		if err := rtm.Disconnect(); err != nil && !errors.Is(err, slack.ErrAlreadyDisconnected) {
			t.Errorf("Disconnect: %v", err)
		}
		// ManageConnection may be blocked handing us an event: keep draining until it returns.
		timeout := time.After(slackGoWait)
		for {
			select {
			case <-rtm.IncomingEvents:
			case <-done:
				return
			case <-timeout:
				t.Errorf("slack-go ManageConnection did not return within %v", slackGoWait)
				return
			}
		}
	})
	return rtm
}

// awaitRTM reads slack-go's events until match accepts one, failing the test after slackGoWait.
func awaitRTM(t *testing.T, rtm *slack.RTM, what string, match func(slack.RTMEvent) bool) slack.RTMEvent {
	t.Helper()
	timeout := time.After(slackGoWait)
	for {
		select {
		case ev := <-rtm.IncomingEvents:
			if match(ev) {
				return ev
			}
		case <-timeout:
			t.Fatalf("slack-go: no %s within %v", what, slackGoWait)
		}
	}
}

func isHello(ev slack.RTMEvent) bool { _, ok := ev.Data.(*slack.HelloEvent); return ok }

func isMessage(text string) func(slack.RTMEvent) bool {
	return func(ev slack.RTMEvent) bool {
		m, ok := ev.Data.(*slack.MessageEvent)
		return ok && m.Text == text
	}
}

func TestSlackGoRTM(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	rtm := startSlackGoRTM(t, srv, ws.ClassicBotToken)

	ev := awaitRTM(t, rtm, "ConnectedEvent", func(ev slack.RTMEvent) bool { _, ok := ev.Data.(*slack.ConnectedEvent); return ok })
	info := ev.Data.(*slack.ConnectedEvent).Info
	if info.Team.ID != ws.TeamID || info.User.ID != ws.BotUserID {
		t.Errorf("connected as %+v in %+v", info.User, info.Team)
	}
	awaitRTM(t, rtm, "HelloEvent", isHello)

	ts, err := srv.InjectRTMMessage(ws.TeamID, fakeslack.RTMMessage{Channel: "general", User: ws.Users[0].ID, Text: "hello slack-go"})
	if err != nil {
		t.Fatal(err)
	}
	m := awaitRTM(t, rtm, "MessageEvent", isMessage("hello slack-go")).Data.(*slack.MessageEvent)
	if m.Timestamp != ts || m.Channel != ws.Channels[0].ID || m.User != ws.Users[0].ID {
		t.Errorf("message = %+v", m.Msg)
	}

	out := rtm.NewOutgoingMessage("sent by slack-go", ws.Channels[0].ID)
	rtm.SendMessage(out)
	ack := awaitRTM(t, rtm, "ack", func(ev slack.RTMEvent) bool {
		a, ok := ev.Data.(*slack.AckMessage)
		return ok && a.ReplyTo == out.ID
	}).Data.(*slack.AckMessage)
	if !ack.Ok || ack.Text != "sent by slack-go" || ack.Timestamp == "" {
		t.Errorf("ack = %+v", ack)
	}
	waitFor(t, slackGoWait, "the message in history", func() bool {
		for _, h := range srv.History(ws.Channels[0].ID) {
			if h.Text == "sent by slack-go" && h.Via == "rtm" && h.TS == ack.Timestamp {
				return true
			}
		}
		return false
	})

	// An abrupt drop: slack-go reconnects through rtm.connect and gets later events.
	if err := srv.DropConnection(onlyConn(t, srv, ws.TeamID), false); err != nil {
		t.Fatal(err)
	}
	awaitRTM(t, rtm, "reconnection", func(ev slack.RTMEvent) bool {
		c, ok := ev.Data.(*slack.ConnectedEvent)
		return ok && c.ConnectionCount == 1
	})
	awaitRTM(t, rtm, "HelloEvent", isHello)
	if _, err := srv.InjectRTMMessage(ws.TeamID, fakeslack.RTMMessage{Channel: "general", Text: "after the drop"}); err != nil {
		t.Fatal(err)
	}
	awaitRTM(t, rtm, "MessageEvent after reconnecting", isMessage("after the drop"))

	// goodbye: slack-go closes and reconnects at once.
	if _, err := srv.SendRTMGoodbye(ws.TeamID, ""); err != nil {
		t.Fatal(err)
	}
	awaitRTM(t, rtm, "reconnection after goodbye", func(ev slack.RTMEvent) bool {
		c, ok := ev.Data.(*slack.ConnectedEvent)
		return ok && c.ConnectionCount == 2
	})
	awaitRTM(t, rtm, "HelloEvent", isHello)
	if _, err := srv.InjectRTMMessage(ws.TeamID, fakeslack.RTMMessage{Channel: "general", Text: "after goodbye"}); err != nil {
		t.Fatal(err)
	}
	awaitRTM(t, rtm, "MessageEvent after goodbye", isMessage("after goodbye"))
}

func TestSlackGoRTMStart(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[1]
	rtm := startSlackGoRTM(t, srv, ws.UserToken, slack.RTMOptionUseStart(true))
	awaitRTM(t, rtm, "HelloEvent", isHello)
	if info := rtm.GetInfo(); info == nil || info.Team.ID != ws.TeamID || info.User.ID != ws.Users[0].ID {
		t.Fatalf("info = %+v", info)
	}
}

func TestSlackGoRTMRateLimitEvent(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{RTM: fakeslack.RTMOptions{WriteBurst: 1, WriteRefill: time.Hour}})
	ws := srv.Workspaces()[0]
	rtm := startSlackGoRTM(t, srv, ws.ClassicBotToken)
	awaitRTM(t, rtm, "HelloEvent", isHello)
	rtm.SendMessage(rtm.NewOutgoingMessage("one", ws.Channels[0].ID))
	rtm.SendMessage(rtm.NewOutgoingMessage("two", ws.Channels[0].ID))
	awaitRTM(t, rtm, "RateLimitEvent", func(ev slack.RTMEvent) bool { _, ok := ev.Data.(*slack.RateLimitEvent); return ok })
}

func TestSlackGoRTMFatalAuth(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	srv.RevokeToken(ws.ClassicBotToken)
	rtm := startSlackGoRTM(t, srv, ws.ClassicBotToken)
	awaitRTM(t, rtm, "InvalidAuthEvent", func(ev slack.RTMEvent) bool { _, ok := ev.Data.(*slack.InvalidAuthEvent); return ok })
}

func TestSlackGoWebAPI(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{ChannelsPerWorkspace: 3, RateLimits: map[string]fakeslack.Limit{
		"users.info": {PerMinute: 1, Burst: 2},
	}})
	ws := srv.Workspaces()[0]
	api := slack.New(ws.BotToken, slack.OptionAPIURL(srv.APIURL()))

	auth, err := api.AuthTest()
	if err != nil {
		t.Fatal(err)
	}
	if auth.TeamID != ws.TeamID || auth.UserID != ws.BotUserID || auth.BotID != ws.BotID || auth.Team != ws.Name {
		t.Errorf("AuthTest = %+v", auth)
	}

	ch, ts, err := api.PostMessage("general", slack.MsgOptionText("from slack-go", false))
	if err != nil {
		t.Fatal(err)
	}
	if ch != ws.Channels[0].ID || ts == "" {
		t.Errorf("PostMessage = %q, %q", ch, ts)
	}
	if _, _, err := api.PostMessage(ch, slack.MsgOptionText("in thread", false), slack.MsgOptionTS(ts)); err != nil {
		t.Fatal(err)
	}
	if h := srv.History(ch); len(h) != 2 || h[0].TS != ts || h[1].ThreadTS != ts || h[0].Via != "chat.postMessage" {
		t.Errorf("history = %+v", h)
	}
	if _, _, err := api.PostMessage("C0NOPE", slack.MsgOptionText("x", false)); err == nil || err.Error() != "channel_not_found" {
		t.Errorf("PostMessage to an unknown channel: %v", err)
	}

	var ids []string
	params := &slack.GetConversationsParameters{Limit: 2}
	for range 5 {
		chans, next, err := api.GetConversations(params)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range chans {
			ids = append(ids, c.ID)
		}
		if next == "" {
			break
		}
		params.Cursor = next
	}
	if len(ids) != 3 || ids[0] != ws.Channels[0].ID || ids[2] != ws.Channels[2].ID {
		t.Errorf("GetConversations = %v", ids)
	}

	u, err := api.GetUserInfo(ws.Users[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != ws.Users[1].ID || u.Name != ws.Users[1].Name || u.TeamID != ws.TeamID || u.RealName != ws.Users[1].RealName {
		t.Errorf("GetUserInfo = %+v", u)
	}
	if _, err := api.GetUserInfo("U0NOBODY"); err == nil || err.Error() != "user_not_found" {
		t.Errorf("GetUserInfo of an unknown user: %v", err)
	}
	// The burst of two users.info calls is spent: the third is refused with a 429.
	_, err = api.GetUserInfo(ws.Users[0].ID)
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter < time.Second {
		t.Errorf("GetUserInfo over the limit: %v", err)
	}

	srv.RevokeToken(ws.BotToken)
	if _, err := api.AuthTest(); err == nil || err.Error() != "token_revoked" {
		t.Errorf("AuthTest with a revoked token: %v", err)
	}
}
