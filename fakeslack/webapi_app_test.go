package fakeslack_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/switchboard-go/switchboard/fakeslack"
)

// slackErr is the Slack error string of a slack-go error, "" for nil.
func slackErr(err error) string {
	if err == nil {
		return ""
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return err.Error()
}

func TestChatUpdateDeleteEphemeral(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	ch := ws.Channels[0].ID
	api := slack.New(ws.BotToken, slack.OptionAPIURL(srv.APIURL()))

	_, ts, err := api.PostMessage(ch, slack.MsgOptionText("first", false))
	if err != nil {
		t.Fatal(err)
	}
	gotCh, gotTS, text, err := api.UpdateMessage(ch, ts, slack.MsgOptionText("edited", false))
	if err != nil || gotCh != ch || gotTS != ts || text != "edited" {
		t.Fatalf("UpdateMessage = %q %q %q %v", gotCh, gotTS, text, err)
	}
	if h := srv.History(ch); len(h) != 1 || h[0].Text != "edited" || h[0].Edited == "" {
		t.Errorf("history after update: %+v", h)
	}
	for _, tt := range []struct {
		name, channel, ts, want string
	}{
		{"unknown channel", "C0NOPE", ts, "channel_not_found"},
		{"unknown message", ch, "1.000001", "message_not_found"},
	} {
		if _, _, _, err := api.UpdateMessage(tt.channel, tt.ts, slack.MsgOptionText("x", false)); slackErr(err) != tt.want {
			t.Errorf("update, %s: %v, want %s", tt.name, err, tt.want)
		}
		if _, _, err := api.DeleteMessage(tt.channel, tt.ts); slackErr(err) != tt.want {
			t.Errorf("delete, %s: %v, want %s", tt.name, err, tt.want)
		}
	}
	if _, _, _, err := api.UpdateMessage(ch, ts); slackErr(err) != "no_text" {
		t.Errorf("update without text: %v", err)
	}

	// A user's message is not the bot's to edit or delete.
	user := slack.New(ws.UserToken, slack.OptionAPIURL(srv.APIURL()))
	_, uts, err := user.PostMessage(ch, slack.MsgOptionText("mine", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := api.UpdateMessage(ch, uts, slack.MsgOptionText("x", false)); slackErr(err) != "cant_update_message" {
		t.Errorf("update another's message: %v", err)
	}
	if _, _, err := api.DeleteMessage(ch, uts); slackErr(err) != "cant_delete_message" {
		t.Errorf("delete another's message: %v", err)
	}

	if _, _, err := api.DeleteMessage(ch, ts); err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}
	if h := srv.History(ch); len(h) != 1 || h[0].TS != uts {
		t.Errorf("history after delete: %+v", h)
	}

	mts, err := api.PostEphemeral(ch, ws.Users[1].ID, slack.MsgOptionText("psst", false))
	if err != nil || mts == "" {
		t.Fatalf("PostEphemeral = %q, %v", mts, err)
	}
	if e := srv.Ephemeral(ch); len(e) != 1 || e[0].Text != "psst" || e[0].Via != "chat.postEphemeral:"+ws.Users[1].ID {
		t.Errorf("Ephemeral = %+v", e)
	}
	if h := srv.History(ch); len(h) != 1 {
		t.Errorf("an ephemeral message went into the history: %+v", h)
	}
	if _, err := api.PostEphemeral(ch, "U0NOPE", slack.MsgOptionText("x", false)); slackErr(err) != "user_not_in_channel" {
		t.Errorf("ephemeral to a stranger: %v", err)
	}

	// The bot out of the channel.
	if !srv.SetBotInChannel(ch, false) {
		t.Fatal("SetBotInChannel: unknown channel")
	}
	if _, _, _, err := api.UpdateMessage(ch, uts, slack.MsgOptionText("x", false)); slackErr(err) != "not_in_channel" {
		t.Errorf("update out of the channel: %v", err)
	}
	if _, err := api.PostEphemeral(ch, ws.Users[1].ID, slack.MsgOptionText("x", false)); slackErr(err) != "not_in_channel" {
		t.Errorf("ephemeral out of the channel: %v", err)
	}
	if _, err := api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: ch}); slackErr(err) != "not_in_channel" {
		t.Errorf("history out of the channel: %v", err)
	}
	ids, _, err := api.GetUsersInConversation(&slack.GetUsersInConversationParameters{ChannelID: ch})
	if err != nil || len(ids) != len(ws.Users)-1 {
		t.Errorf("members without the bot = %v, %v", ids, err)
	}
	if info, err := api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: ch}); err != nil || info.IsMember {
		t.Errorf("info out of the channel: %+v, %v", info, err)
	}
}

func TestReactionsAndHistory(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	ch := ws.Channels[0].ID
	api := slack.New(ws.BotToken, slack.OptionAPIURL(srv.APIURL()))

	var tss []string
	for _, text := range []string{"one", "two", "three"} {
		_, ts, err := api.PostMessage(ch, slack.MsgOptionText(text, false))
		if err != nil {
			t.Fatal(err)
		}
		tss = append(tss, ts)
	}
	for _, reply := range []string{"r1", "r2"} {
		if _, _, err := api.PostMessage(ch, slack.MsgOptionText(reply, false), slack.MsgOptionTS(tss[0])); err != nil {
			t.Fatal(err)
		}
	}
	ref := slack.NewRefToMessage(ch, tss[1])
	if err := api.AddReaction("tada", ref); err != nil {
		t.Fatalf("AddReaction: %v", err)
	}
	if err := api.AddReaction("tada", ref); slackErr(err) != "already_reacted" {
		t.Errorf("second reaction: %v", err)
	}
	if err := api.AddReaction("tada", slack.NewRefToMessage(ch, "1.000001")); slackErr(err) != "message_not_found" {
		t.Errorf("reaction to nothing: %v", err)
	}
	if err := api.AddReaction("tada", slack.NewRefToMessage("C0NOPE", tss[1])); slackErr(err) != "channel_not_found" {
		t.Errorf("reaction in no channel: %v", err)
	}

	h, err := api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: ch, Limit: 2})
	if err != nil {
		t.Fatalf("GetConversationHistory: %v", err)
	}
	if len(h.Messages) != 2 || h.Messages[0].Text != "three" || h.Messages[1].Text != "two" || !h.HasMore || h.ResponseMetaData.NextCursor == "" {
		t.Fatalf("first page = %+v", h)
	}
	if r := h.Messages[1].Reactions; len(r) != 1 || r[0].Name != "tada" || r[0].Count != 1 || r[0].Users[0] != ws.BotUserID {
		t.Errorf("reactions = %+v", r)
	}
	h, err = api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: ch, Limit: 2, Cursor: h.ResponseMetaData.NextCursor})
	if err != nil || len(h.Messages) != 1 || h.Messages[0].Text != "one" || h.HasMore || h.Messages[0].ReplyCount != 2 {
		t.Fatalf("second page = %+v, %v (thread replies stay out of the history)", h, err)
	}

	msgs, more, _, err := api.GetConversationReplies(&slack.GetConversationRepliesParameters{ChannelID: ch, Timestamp: tss[0]})
	if err != nil || more || len(msgs) != 3 || msgs[0].Text != "one" || msgs[2].Text != "r2" {
		t.Fatalf("GetConversationReplies = %+v %v %v", msgs, more, err)
	}
	if _, _, _, err := api.GetConversationReplies(&slack.GetConversationRepliesParameters{ChannelID: ch, Timestamp: "1.000001"}); slackErr(err) != "thread_not_found" {
		t.Errorf("replies of nothing: %v", err)
	}

	info, err := api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: ch})
	if err != nil || info.ID != ch || info.Name != "general" || !info.IsMember {
		t.Errorf("GetConversationInfo = %+v, %v", info, err)
	}
	if _, err := api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: "C0NOPE"}); slackErr(err) != "channel_not_found" {
		t.Errorf("info of no channel: %v", err)
	}
	ids, _, err := api.GetUsersInConversation(&slack.GetUsersInConversationParameters{ChannelID: ch})
	if err != nil || len(ids) != len(ws.Users) {
		t.Errorf("GetUsersInConversation = %v, %v", ids, err)
	}
	users, err := api.GetUsers()
	if err != nil || len(users) != len(ws.Users) || users[0].ID != ws.Users[0].ID {
		t.Errorf("GetUsers = %d users, %v", len(users), err)
	}
}

// postRaw calls a Web API method with a form and returns the raw body.
func postRaw(t *testing.T, srv *fakeslack.Server, method, token string, form url.Values) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.APIURL()+method, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestEmptyListsAreArrays(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	ch := ws.Channels[1].ID
	body := postRaw(t, srv, "conversations.history", ws.BotToken, url.Values{"channel": {ch}})
	if !strings.Contains(body, `"messages":[]`) {
		t.Errorf("empty history = %s", body)
	}
	body = postRaw(t, srv, "conversations.members", ws.BotToken, url.Values{"channel": {ch}, "cursor": {"b2Zmc2V0Ojk5"}})
	if !strings.Contains(body, `"members":[]`) {
		t.Errorf("members past the end = %s", body)
	}
	if e := srv.Ephemeral(ch); e == nil {
		t.Error("Ephemeral of a quiet channel is nil, want []")
	}
	b, _ := json.Marshal(srv.History(ch))
	if string(b) != "[]" {
		t.Errorf("History of a quiet channel = %s", b)
	}
	app := srv.Apps()[0]
	for _, p := range []string{"connections", "connections?subject=T0", "transcript?since=999999", "webhooks/posts",
		"apps/" + app.AppID + "/deliveries", "history/" + ch, "channels/" + ch + "/ephemeral"} {
		resp, err := http.Get(srv.AdminURL() + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if strings.Contains(string(b), "null") {
			t.Errorf("admin %s = %s, want [] for an empty list", p, b)
		}
	}
}

func TestHandleMethod(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	var got fakeslack.Call
	srv.HandleMethod("pins.add", func(c fakeslack.Call) (map[string]any, error) {
		got = c
		if c.Arg("channel") == "C0NOPE" {
			return nil, &fakeslack.MethodError{Code: "channel_not_found"}
		}
		return nil, nil
	})
	api := slack.New(ws.BotToken, slack.OptionAPIURL(srv.APIURL()))
	if err := api.AddPin(ws.Channels[0].ID, slack.NewRefToMessage(ws.Channels[0].ID, "1.2")); err != nil {
		t.Fatalf("AddPin: %v", err)
	}
	if got.Method != "pins.add" || got.Team != ws.TeamID || got.User != ws.BotUserID || got.Kind != "bot" || got.Arg("timestamp") != "1.2" {
		t.Errorf("call = %+v", got)
	}
	if err := api.AddPin("C0NOPE", slack.NewRefToMessage("C0NOPE", "1.2")); slackErr(err) != "channel_not_found" {
		t.Errorf("refused pin: %v", err)
	}
	bad := slack.New("xoxb-nope", slack.OptionAPIURL(srv.APIURL()))
	if err := bad.AddPin("C1", slack.NewRefToMessage("C1", "1.2")); slackErr(err) != "invalid_auth" {
		t.Errorf("pin with a bad token: %v", err)
	}
}

func TestChatUpdateAndDeleteOverRTM(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	ch := ws.Channels[0].ID
	c := rtmDial(t, srv, ws.ClassicBotToken)
	api := slack.New(ws.BotToken, slack.OptionAPIURL(srv.APIURL()))
	_, ts, err := api.PostMessage(ch, slack.MsgOptionText("v1", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := api.UpdateMessage(ch, ts, slack.MsgOptionText("v2", false)); err != nil {
		t.Fatal(err)
	}
	ev := readUntil(t, c, "message_changed", func(m map[string]any) bool { return m["subtype"] == "message_changed" })
	if msg, _ := ev["message"].(map[string]any); msg["text"] != "v2" || msg["ts"] != ts || ev["previous_message"].(map[string]any)["text"] != "v1" || ev["channel"] != ch {
		t.Errorf("message_changed = %v", ev)
	}
	if _, _, err := api.DeleteMessage(ch, ts); err != nil {
		t.Fatal(err)
	}
	ev = readUntil(t, c, "message_deleted", func(m map[string]any) bool { return m["subtype"] == "message_deleted" })
	if ev["deleted_ts"] != ts || ev["channel"] != ch || ev["hidden"] != true {
		t.Errorf("message_deleted = %v", ev)
	}
}
