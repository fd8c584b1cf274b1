package fakeslack_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-go/switchboard/fakeslack"
)

func modal(callback, ext string) slack.ModalViewRequest {
	return slack.ModalViewRequest{
		Type: slack.VTModal, CallbackID: callback, ExternalID: ext, PrivateMetadata: "meta-" + callback,
		Title:  slack.NewTextBlockObject(slack.PlainTextType, "Deploy", false, false),
		Submit: slack.NewTextBlockObject(slack.PlainTextType, "Go", false, false),
		Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "hi", false, false), nil, nil)}},
	}
}

func TestViewsOpenAndTriggers(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{TriggerLifetime: 300 * time.Millisecond})
	ws, app := srv.Workspaces()[0], srv.Apps()[0]
	api := slack.New(ws.BotToken, slack.OptionAPIURL(srv.APIURL()))
	user := ws.Users[0].ID

	trig := srv.IssueTrigger(app.AppID, ws.TeamID, user)
	resp, err := api.OpenView(trig, modal("deploy", "ext-1"))
	if err != nil {
		t.Fatalf("OpenView: %v", err)
	}
	v := resp.View
	if v.ID == "" || v.CallbackID != "deploy" || v.PrivateMetadata != "meta-deploy" || v.RootViewID != v.ID || v.TeamID != ws.TeamID ||
		v.AppID != app.AppID || v.Hash == "" || v.ExternalID != "ext-1" || len(v.Blocks.BlockSet) != 1 {
		t.Errorf("opened view = %+v", v)
	}
	if got, ok := srv.View(v.ID); !ok || got.User != user || got.CallbackID != "deploy" {
		t.Errorf("View(%s) = %+v, %v", v.ID, got, ok)
	}
	for _, tt := range []struct{ name, trigger, want string }{
		{"used twice", trig, "exchanged_trigger_id"},
		{"unknown", "123.456.789", "invalid_trigger_id"},
	} {
		if _, err := api.OpenView(tt.trigger, modal("x", "")); slackErr(err) != tt.want {
			t.Errorf("%s trigger: %v, want %s", tt.name, err, tt.want)
		}
	}
	other := slack.New(srv.Workspaces()[1].BotToken, slack.OptionAPIURL(srv.APIURL()))
	if _, err := other.OpenView(srv.IssueTrigger(app.AppID, ws.TeamID, user), modal("x", "")); slackErr(err) != "invalid_trigger_id" {
		t.Errorf("another workspace's trigger: %v", err)
	}
	if _, err := api.OpenView(srv.IssueTrigger(app.AppID, ws.TeamID, user), modal("x", "ext-1")); slackErr(err) != "duplicate_external_id" {
		t.Errorf("duplicate external_id: %v", err)
	}
	stale := srv.IssueTrigger(app.AppID, ws.TeamID, user)
	time.Sleep(400 * time.Millisecond) // the trigger's lifetime passing is the point
	if _, err := api.OpenView(stale, modal("x", "")); slackErr(err) != "expired_trigger_id" {
		t.Errorf("expired trigger: %v", err)
	}
	appLevel := slack.New(app.AppToken, slack.OptionAPIURL(srv.APIURL()))
	if _, err := appLevel.OpenView(srv.IssueTrigger(app.AppID, ws.TeamID, user), modal("x", "")); slackErr(err) != "not_allowed_token_type" {
		t.Errorf("views.open with an app-level token: %v", err)
	}
	big := modal("big", "")
	big.PrivateMetadata = strings.Repeat("x", 260<<10)
	if _, err := api.OpenView(srv.IssueTrigger(app.AppID, ws.TeamID, user), big); slackErr(err) != "view_too_large" {
		t.Errorf("a 260 KB view: %v", err)
	}

	// The stack: views.push up to 3 views.
	for i := 2; i <= 3; i++ {
		p, err := api.PushView(srv.IssueTrigger(app.AppID, ws.TeamID, user), modal("step", ""))
		if err != nil || p.View.RootViewID != v.ID || p.View.PreviousViewID == "" {
			t.Fatalf("PushView %d = %+v, %v", i, p, err)
		}
	}
	if _, err := api.PushView(srv.IssueTrigger(app.AppID, ws.TeamID, user), modal("step", "")); slackErr(err) != "push_limit_reached" {
		t.Errorf("4th view: %v", err)
	}

	// views.update by ID, by external_id, with a stale hash, of nothing.
	u, err := api.UpdateView(modal("deploy2", ""), "", v.Hash, v.ID)
	if err != nil || u.View.ID != v.ID || u.View.CallbackID != "deploy2" || u.View.Hash == v.Hash {
		t.Fatalf("UpdateView = %+v, %v", u, err)
	}
	if _, err := api.UpdateView(modal("deploy3", ""), "", v.Hash, v.ID); slackErr(err) != "hash_conflict" {
		t.Errorf("update with a stale hash: %v", err)
	}
	if u, err := api.UpdateView(modal("deploy3", ""), "ext-1", "", ""); err != nil || u.View.ID != v.ID {
		t.Errorf("update by external_id = %+v, %v", u, err)
	}
	if _, err := api.UpdateView(modal("x", ""), "", "", "V0NOPE"); slackErr(err) != "not_found" {
		t.Errorf("update of no view: %v", err)
	}
}

func TestViewsPublishAndAppHome(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws, app := srv.Workspaces()[0], srv.Apps()[0]
	api := slack.New(ws.BotToken, slack.OptionAPIURL(srv.APIURL()))
	user := ws.Users[1].ID
	home := slack.HomeTabViewRequest{Type: slack.VTHomeTab, CallbackID: "home",
		Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewDividerBlock()}}}
	resp, err := api.PublishView(user, home, "")
	if err != nil || resp.View.Type != slack.VTHomeTab || resp.View.CallbackID != "home" {
		t.Fatalf("PublishView = %+v, %v", resp, err)
	}
	again, err := api.PublishView(user, home, resp.View.Hash)
	if err != nil || again.View.ID != resp.View.ID {
		t.Fatalf("second PublishView = %+v, %v", again, err)
	}
	if _, err := api.PublishView(user, home, resp.View.Hash); slackErr(err) != "hash_conflict" {
		t.Errorf("publish with a stale hash: %v", err)
	}
	if _, err := api.PublishView("U0NOPE", home, ""); slackErr(err) != "user_not_found" {
		t.Errorf("publish for nobody: %v", err)
	}

	// app_home_opened carries the published view.
	c := smDial(t, srv, app)
	if _, err := srv.InjectAppHomeOpened(app.AppID, ws.TeamID, user); err != nil {
		t.Fatal(err)
	}
	ev := nextOf(c, "events_api")["payload"].(map[string]any)["event"].(map[string]any)
	view, _ := ev["view"].(map[string]any)
	if ev["type"] != "app_home_opened" || ev["user"] != user || ev["tab"] != "home" || view["id"] != resp.View.ID {
		t.Errorf("app_home_opened = %v", ev)
	}
}

func TestViewSubmissionOfOpenedView(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws, app := srv.Workspaces()[0], srv.Apps()[0]
	api := slack.New(ws.BotToken, slack.OptionAPIURL(srv.APIURL()))
	c := smDial(t, srv, app)

	// A slash command's trigger opens the modal; the user submits it, then another is closed.
	inj, err := srv.InjectSlashCommand(app.AppID, fakeslack.SlashCommand{Team: ws.TeamID, Command: "/deploy"})
	if err != nil {
		t.Fatal(err)
	}
	nextOf(c, "slash_commands")
	resp, err := api.OpenView(inj.TriggerID, modal("deploy", ""))
	if err != nil {
		t.Fatalf("OpenView with the command's trigger: %v", err)
	}
	values := json.RawMessage(`{"b1":{"a1":{"type":"plain_text_input","value":"prod"}}}`)
	if _, err := srv.InjectInteraction(app.AppID, fakeslack.Interaction{Type: "view_submission", Team: ws.TeamID, ViewID: resp.View.ID, Values: values}); err != nil {
		t.Fatal(err)
	}
	env := nextOf(c, "interactive")
	var ic slack.InteractionCallback
	b, _ := json.Marshal(env["payload"])
	if err := json.Unmarshal(b, &ic); err != nil {
		t.Fatal(err)
	}
	if ic.Type != slack.InteractionTypeViewSubmission || ic.View.ID != resp.View.ID || ic.View.CallbackID != "deploy" ||
		ic.View.PrivateMetadata != "meta-deploy" || ic.View.State.Values["b1"]["a1"].Value != "prod" || env["accepts_response_payload"] != true {
		t.Errorf("view_submission = %+v", ic)
	}
	if _, err := srv.InjectInteraction(app.AppID, fakeslack.Interaction{Type: "view_closed", Team: ws.TeamID, ViewID: resp.View.ID, IsCleared: true}); err != nil {
		t.Fatal(err)
	}
	env = nextOf(c, "interactive")
	p := env["payload"].(map[string]any)
	if p["type"] != "view_closed" || p["is_cleared"] != true || p["view"].(map[string]any)["id"] != resp.View.ID || env["accepts_response_payload"] != false {
		t.Errorf("view_closed = %v", env)
	}
	if _, err := srv.InjectInteraction(app.AppID, fakeslack.Interaction{Type: "view_closed", Team: ws.TeamID, ViewID: "V0NOPE"}); err == nil {
		t.Error("view_closed of no view injected")
	}
}

func TestMessageShortcutAndReactionAdded(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws, app := srv.Workspaces()[0], srv.Apps()[0]
	ch := ws.Channels[0].ID
	user := slack.New(ws.UserToken, slack.OptionAPIURL(srv.APIURL()))
	_, ts, err := user.PostMessage(ch, slack.MsgOptionText("ship it", false))
	if err != nil {
		t.Fatal(err)
	}
	c := smDial(t, srv, app)
	if _, err := srv.InjectInteraction(app.AppID, fakeslack.Interaction{Type: "message_action", Team: ws.TeamID, Channel: ch, MessageTS: ts, CallbackID: "triage"}); err != nil {
		t.Fatal(err)
	}
	p := nextOf(c, "interactive")["payload"].(map[string]any)
	msg := p["message"].(map[string]any)
	if p["type"] != "message_action" || p["callback_id"] != "triage" || msg["text"] != "ship it" || msg["user"] != ws.Users[0].ID || p["trigger_id"] == "" {
		t.Errorf("message shortcut = %v", p)
	}

	if _, err := srv.InjectReactionAdded(app.AppID, fakeslack.ReactionAdded{Team: ws.TeamID, Channel: ch, User: ws.Users[1].ID, Reaction: "eyes", TS: ts}); err != nil {
		t.Fatal(err)
	}
	ev := nextOf(c, "events_api")["payload"].(map[string]any)["event"].(map[string]any)
	item := ev["item"].(map[string]any)
	if ev["type"] != "reaction_added" || ev["reaction"] != "eyes" || ev["item_user"] != ws.Users[0].ID || item["ts"] != ts || item["channel"] != ch {
		t.Errorf("reaction_added = %v", ev)
	}
	if h := srv.History(ch); len(h[0].Reactions) != 1 || h[0].Reactions[0].Users[0] != ws.Users[1].ID {
		t.Errorf("history's reactions = %+v", h[0].Reactions)
	}
	if _, err := srv.InjectReactionAdded(app.AppID, fakeslack.ReactionAdded{Team: ws.TeamID}); err == nil {
		t.Error("reaction without a name injected")
	}
}

// smDial opens a Socket Mode socket for app and reads its hello.
func smDial(t *testing.T, srv *fakeslack.Server, app fakeslack.App) *smClient {
	t.Helper()
	c, _ := smConnect(t, srv, app, "")
	return c
}

// nextOf reads the next envelope, which must be of type typ, and acks it.
func nextOf(c *smClient, typ string) map[string]any {
	c.t.Helper()
	env := c.nextEnvelope(smWait)
	if env["type"] != typ {
		c.t.Fatalf("envelope %v, want type %s", env, typ)
	}
	c.ack(env["envelope_id"].(string), nil)
	return env
}

func TestAppAnswersAreActedOn(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws, app := srv.Workspaces()[0], srv.Apps()[0]
	ch := ws.Channels[0].ID
	c := smDial(t, srv, app)
	ackWith := func(typ string, payload any) {
		t.Helper()
		env := c.nextEnvelope(smWait)
		if env["type"] != typ {
			t.Fatalf("envelope %v, want %s", env, typ)
		}
		c.ack(env["envelope_id"].(string), payload)
	}

	// Slash command responses: in_channel into the history, else ephemeral to the user.
	if _, err := srv.InjectSlashCommand(app.AppID, fakeslack.SlashCommand{Team: ws.TeamID, Channel: ch, Command: "/deploy"}); err != nil {
		t.Fatal(err)
	}
	ackWith("slash_commands", map[string]any{"response_type": "in_channel", "text": "deploying"})
	waitFor(t, smWait, "the in_channel response", func() bool {
		h := srv.History(ch)
		return len(h) == 1 && h[0].Text == "deploying" && h[0].Via == "command_response" && h[0].BotID == ws.BotID
	})
	if _, err := srv.InjectSlashCommand(app.AppID, fakeslack.SlashCommand{Team: ws.TeamID, Channel: ch, User: ws.Users[1].ID, Command: "/deploy"}); err != nil {
		t.Fatal(err)
	}
	ackWith("slash_commands", map[string]any{"text": "only you"})
	waitFor(t, smWait, "the ephemeral response", func() bool {
		e := srv.Ephemeral(ch)
		return len(e) == 1 && e[0].Text == "only you" && e[0].Via == "command_response:"+ws.Users[1].ID
	})

	// view_submission's response_action: update, then push, then clear.
	api := slack.New(ws.BotToken, slack.OptionAPIURL(srv.APIURL()))
	opened, err := api.OpenView(srv.IssueTrigger(app.AppID, ws.TeamID, ws.Users[0].ID), modal("step1", ""))
	if err != nil {
		t.Fatal(err)
	}
	id := opened.View.ID
	submit := func(answer any) {
		t.Helper()
		if _, err := srv.InjectInteraction(app.AppID, fakeslack.Interaction{Type: "view_submission", Team: ws.TeamID, ViewID: id}); err != nil {
			t.Fatal(err)
		}
		acked := srv.Stats().Acked
		ackWith("interactive", answer)
		// Acked counts an ack once its answer was acted on.
		waitFor(t, smWait, "the ack", func() bool { return srv.Stats().Acked > acked })
	}
	submit(map[string]any{"response_action": "update", "view": modal("step2", "")})
	waitFor(t, smWait, "the updated view", func() bool { v, _ := srv.View(id); return v.CallbackID == "step2" })
	if v, _ := srv.View(id); v.CallbackID != "step2" {
		t.Errorf("after response_action update: %+v", v)
	}
	submit(map[string]any{"response_action": "push", "view": modal("step3", "")})
	// The stack holds the root and the pushed view: one more fits, then push_limit_reached.
	probe, err := api.PushView(srv.IssueTrigger(app.AppID, ws.TeamID, ws.Users[0].ID), modal("probe", ""))
	if err != nil {
		t.Fatal(err)
	}
	if prev, _ := srv.View(probe.View.PreviousViewID); prev.CallbackID != "step3" {
		t.Errorf("the view under the probe = %+v, want the pushed step3", prev)
	}
	if _, err := api.PushView(srv.IssueTrigger(app.AppID, ws.TeamID, ws.Users[0].ID), modal("x", "")); slackErr(err) != "push_limit_reached" {
		t.Errorf("push after a response_action push: %v", err)
	}
	submit(map[string]any{"response_action": "clear"})
	if _, err := api.PushView(srv.IssueTrigger(app.AppID, ws.TeamID, ws.Users[0].ID), modal("fresh", "")); err != nil {
		t.Errorf("push after clear starts a new stack: %v", err)
	}
}
