package fakeslack_test

import (
	"encoding/json"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"

	"github.com/switchboard-go/switchboard/fakeslack"
)

// skeleton maps each path of a JSON value to its kind ("string", "bool", "number", "null",
// "object", "array"); array elements share the path "[]".
func skeleton(t testing.TB, raw []byte) map[string]string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, raw)
	}
	out := map[string]string{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			out[path] = "object"
			for k, e := range x {
				walk(path+"."+k, e)
			}
		case []any:
			out[path] = "array"
			for _, e := range x {
				walk(path+"[]", e)
			}
		case string:
			out[path] = "string"
		case bool:
			out[path] = "bool"
		case float64:
			out[path] = "number"
		case nil:
			out[path] = "null"
		}
	}
	walk("", v)
	return out
}

// sameSkeleton reports the paths where got and want differ in presence or kind.
func sameSkeleton(t *testing.T, what string, got, want []byte) {
	t.Helper()
	g, w := skeleton(t, got), skeleton(t, want)
	for _, p := range slices.Sorted(maps.Keys(w)) {
		if g[p] != w[p] {
			t.Errorf("%s: %s is %q, Slack's is %q", what, p, g[p], w[p])
		}
	}
	for _, p := range slices.Sorted(maps.Keys(g)) {
		if _, ok := w[p]; !ok {
			t.Errorf("%s: %s (%s) is not in Slack's payload", what, p, g[p])
		}
	}
}

// TestPayloadShapes checks the slash command and interaction payloads, built from slack-go types,
// key by key and kind by kind against Slack's (SLACK_PROTOCOL.md §4.6 and the capture in
// slack-go#1265), and that slack-go reads them back.
func TestPayloadShapes(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	app, ws := firstApp(srv)
	cl, _ := smConnect(t, srv, app, "")

	// The examples' values; only keys and kinds are compared. Deviations from the cited
	// examples: no enterprise_id/enterprise_name in team (not an Enterprise Grid workspace), an
	// empty view (blocks [] and state.values {}), a block_actions message of one button, and
	// is_enterprise_install/enterprise on block_actions as on shortcut.
	slash := `{"token":"verification-token","team_id":"T111","team_domain":"xxx","channel_id":"C111","channel_name":"random",
		"user_id":"U111","user_name":"testxyz","command":"/hello-socket-mode","text":"","api_app_id":"A111",
		"is_enterprise_install":"false","response_url":"https://hooks.slack.com/commands/T111/111/xxx","trigger_id":"111.222.xxx"}`
	blockActions := `{"type":"block_actions","user":{"id":"U111","username":"u","name":"u","team_id":"T111"},"api_app_id":"A111",
		"token":"x","container":{"type":"message","message_ts":"1.2","channel_id":"C111","is_ephemeral":false},
		"trigger_id":"1.2.x","team":{"id":"T111","domain":"d"},"enterprise":null,"is_enterprise_install":false,
		"channel":{"id":"C111","name":"random"},"state":{"values":{}},
		"message":{"bot_id":"B111","type":"message","text":"t","user":"U222","ts":"1.2","team":"T111",
			"blocks":[{"type":"actions","block_id":"b","elements":[{"type":"button","action_id":"a","text":{"type":"plain_text","text":"Click Me!","emoji":true},"value":"v"}]}]},
		"response_url":"https://hooks.slack.com/actions/T111/111/xxx",
		"actions":[{"action_id":"a","block_id":"b","text":{"type":"plain_text","text":"Click Me!","emoji":true},"value":"v","type":"button","action_ts":"1.2"}]}`
	viewSubmission := `{"type":"view_submission","team":{"id":"T111","domain":"d"},
		"user":{"id":"W111","username":"u","name":"u","team_id":"T111"},"api_app_id":"A111","token":"x","trigger_id":"1.2.x",
		"is_enterprise_install":false,"enterprise":null,
		"view":{"id":"V111","team_id":"T111","type":"modal","blocks":[],"private_metadata":"p","callback_id":"view-id",
			"state":{"values":{}},"hash":"1.x","title":{"type":"plain_text","text":"My App"},"clear_on_close":false,
			"notify_on_close":false,"close":{"type":"plain_text","text":"Cancel"},"submit":{"type":"plain_text","text":"Submit"},
			"previous_view_id":null,"root_view_id":"V111","app_id":"A111","external_id":"","app_installed_team_id":"T111","bot_id":"B111"},
		"response_urls":[]}`
	shortcut := `{"type":"shortcut","token":"verification-token","action_ts":"1610198080.300836","team":{"id":"T111","domain":"testxyz"},
		"user":{"id":"U111","username":"testxyz","team_id":"T111"},"is_enterprise_install":false,"enterprise":null,
		"callback_id":"do-something","trigger_id":"111.222.xxx"}`
	messageAction := `{"type":"message_action","token":"x","action_ts":"1.2","team":{"id":"T111","domain":"d"},
		"user":{"id":"W111","name":"u"},"channel":{"id":"C111","name":"dev"},"is_enterprise_install":false,"enterprise":null,
		"callback_id":"c","trigger_id":"1.2.x","message_ts":"1.2","message":{"type":"message","text":"t","user":"W111","ts":"1.2","team":"T111"},
		"response_url":"https://hooks.slack.com/app/T111/111/xxx"}`
	blockSuggestion := `{"type":"block_suggestion","user":{"id":"U1","name":"panther"},"team":{"id":"T1","domain":"rilke"},
		"api_app_id":"A1","token":"x","block_id":"search-block","action_id":"seach-action","value":"an",
		"view":{"id":"V111","type":"modal","callback_id":"view-id"}}`

	if _, err := srv.InjectSlashCommand(app.AppID, fakeslack.SlashCommand{Team: ws.TeamID, Command: "/x"}); err != nil {
		t.Fatal(err)
	}
	raw := rawPayload(t, cl)
	sameSkeleton(t, "slash_commands", raw, []byte(slash))
	var cmd slack.SlashCommand
	if err := json.Unmarshal(raw, &cmd); err != nil || cmd.Command != "/x" || cmd.TeamID != ws.TeamID || cmd.IsEnterpriseInstall {
		t.Errorf("slack.SlashCommand = %+v, %v", cmd, err)
	}

	for _, tt := range []struct {
		typ  string
		want string
	}{
		{"block_actions", blockActions}, {"view_submission", viewSubmission}, {"shortcut", shortcut},
		{"message_action", messageAction}, {"block_suggestion", blockSuggestion},
	} {
		in := fakeslack.Interaction{Type: tt.typ, Team: ws.TeamID, ActionID: "a", BlockID: "b", Value: "v", CallbackID: "c"}
		if _, err := srv.InjectInteraction(app.AppID, in); err != nil {
			t.Fatalf("%s: %v", tt.typ, err)
		}
		raw := rawPayload(t, cl)
		sameSkeleton(t, tt.typ, raw, []byte(tt.want))
		var ic slack.InteractionCallback
		if err := json.Unmarshal(raw, &ic); err != nil || string(ic.Type) != tt.typ || ic.Team.ID != ws.TeamID || ic.User.ID != ws.Users[0].ID {
			t.Errorf("%s: slack.InteractionCallback = %+v, %v", tt.typ, ic, err)
		}
		if tt.typ == "block_actions" {
			if len(ic.ActionCallback.BlockActions) != 1 || ic.ActionCallback.BlockActions[0].ActionID != "a" || ic.Container.ChannelID != ws.Channels[0].ID {
				t.Errorf("block_actions: actions %+v, container %+v", ic.ActionCallback.BlockActions, ic.Container)
			}
		}
	}
}

// rawPayload reads the next envelope from cl, acks it and returns its payload as sent.
func rawPayload(t *testing.T, cl *smClient) []byte {
	t.Helper()
	env := cl.nextEnvelope(smWait)
	cl.ack(env["envelope_id"].(string), nil)
	raw, err := json.Marshal(env["payload"])
	if err != nil || !strings.HasPrefix(string(raw), "{") {
		t.Fatalf("payload %v: %v", env["payload"], err)
	}
	return raw
}

// TestWebAPIObjectShapes checks the channel and user objects, built from slack.Channel and
// slack.User, against Slack's: a captured conversations.info answer for a public channel and the
// users.info example of Slack's documentation (less email, image_original, status_text,
// status_emoji and has_2fa, which need scopes or a profile the generated users lack). slack-go
// reads them back.
func TestWebAPIObjectShapes(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	channel := `{"id":"C07R1A2DAS0","name":"general","is_channel":true,"is_group":false,"is_im":false,"is_mpim":false,
		"is_private":false,"created":1728409452,"is_archived":false,"is_general":true,"unlinked":0,"name_normalized":"general",
		"is_shared":false,"is_org_shared":false,"is_pending_ext_shared":false,"pending_shared":[],"context_team_id":"T06UD92BS3C",
		"updated":1728409453555,"parent_conversation":null,"creator":"U06UG1CAYH2","is_ext_shared":false,
		"shared_team_ids":["T06UD92BS3C"],"pending_connected_team_ids":[],"is_member":true,
		"topic":{"value":"","creator":"","last_set":0},"purpose":{"value":"","creator":"","last_set":0},
		"previous_names":[],"num_members":4}`
	user := `{"id":"W012A3CDE","team_id":"T012AB3C4","name":"spengler","deleted":false,"color":"9f69e7",
		"real_name":"Egon Spengler","tz":"America/Los_Angeles","tz_label":"Pacific Daylight Time","tz_offset":-25200,
		"profile":{"avatar_hash":"ge3b51ca72de","real_name":"Egon Spengler","display_name":"spengler",
			"real_name_normalized":"Egon Spengler","display_name_normalized":"spengler",
			"image_24":"https://.../a.jpg","image_32":"https://.../a.jpg","image_48":"https://.../a.jpg",
			"image_72":"https://.../a.jpg","image_192":"https://.../a.jpg","image_512":"https://.../a.jpg","team":"T012AB3C4"},
		"is_admin":true,"is_owner":false,"is_primary_owner":false,"is_restricted":false,"is_ultra_restricted":false,
		"is_bot":false,"updated":1502138686,"is_app_user":false}`

	r := apiForm(t, srv, "conversations.list", ws.BotToken, nil)
	wantOK(t, r)
	first, _ := json.Marshal(r.Body["channels"].([]any)[0])
	sameSkeleton(t, "conversations.list channel", first, []byte(channel))
	r = apiForm(t, srv, "users.info", ws.BotToken, url.Values{"user": {ws.Users[0].ID}})
	wantOK(t, r)
	got, _ := json.Marshal(r.Body["user"])
	sameSkeleton(t, "users.info user", got, []byte(user))

	api := slack.New(ws.BotToken, slack.OptionAPIURL(srv.APIURL()))
	chans, _, err := api.GetConversations(&slack.GetConversationsParameters{})
	if err != nil || len(chans) != len(ws.Channels) || chans[0].ID != ws.Channels[0].ID || chans[0].Name != "general" ||
		!chans[0].IsGeneral || chans[0].ContextTeamID != ws.TeamID || chans[0].NumMembers != len(ws.Users) {
		t.Errorf("GetConversations = %+v, %v", chans, err)
	}
	u, err := api.GetUserInfo(ws.BotUserID)
	if err != nil || u.ID != ws.BotUserID || !u.IsBot || u.Profile.BotID != ws.BotID || u.TeamID != ws.TeamID || u.Profile.Image48 == "" {
		t.Errorf("GetUserInfo = %+v, %v", u, err)
	}
}

// TestRTMFrameShapes checks the RTM replies and events built from slack-go types
// (slack.AckMessage, slack.UserTypingEvent, slack.PresenceChangeEvent) and the message event,
// key by key and kind by kind, against SLACK_PROTOCOL.md §3.3–§3.7 (the captured message frame
// less client_msg_id, which only a user's client sets).
func TestRTMFrameShapes(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	a := rtmDial(t, srv, ws.ClassicBotToken)
	b := rtmDial(t, srv, ws.UserToken) // a user writes: a bot's message would carry bot_id
	frame := func(c *websocket.Conn, keep func(map[string]any) bool) []byte {
		t.Helper()
		data, _ := json.Marshal(readUntil(t, c, "frame", keep))
		return data
	}
	ofType := func(typ string) func(map[string]any) bool {
		return func(f map[string]any) bool { return f["type"] == typ }
	}

	rtmSend(t, b, map[string]any{"id": 1, "type": "message", "channel": ws.Channels[0].ID, "text": "Hello world"})
	sameSkeleton(t, "ok reply", frame(b, replyTo(1)), []byte(`{"ok":true,"reply_to":1,"ts":"1355517523.000005","text":"Hello world"}`))
	sameSkeleton(t, "message event", frame(a, ofType("message")), []byte(`{"suppress_notification":false,"type":"message",
		"text":"bot ping","user":"U01234567","team":"T01234567","user_team":"T01234567","source_team":"T01234567",
		"channel":"C01234567","event_ts":"1563179412.003900","ts":"1563179412.003900"}`))
	rtmSend(t, b, map[string]any{"id": 2, "type": "message", "channel": ws.Channels[0].ID})
	sameSkeleton(t, "error reply", frame(b, replyTo(2)), []byte(`{"ok":false,"reply_to":2,"error":{"code":2,"msg":"message text is missing"}}`))
	rtmSend(t, b, map[string]any{"id": 3, "type": "typing", "channel": ws.Channels[0].ID})
	sameSkeleton(t, "user_typing", frame(a, ofType("user_typing")), []byte(`{"type":"user_typing","channel":"C01234567","user":"U01234567"}`))
	rtmSend(t, a, map[string]any{"type": "presence_query", "ids": []string{ws.Users[1].ID}})
	sameSkeleton(t, "presence_change", frame(a, ofType("presence_change")), []byte(`{"type":"presence_change","user":"U024BE7LH","presence":"away"}`))

	r := apiForm(t, srv, "rtm.connect", ws.ClassicBotToken, url.Values{"batch_presence_aware": {"1"}})
	wantOK(t, r)
	c := dial(t, r.Body["url"].(string))
	readFrame(t, c, rtmWait) // hello
	rtmSend(t, c, map[string]any{"type": "presence_query", "ids": []string{ws.Users[0].ID, ws.Users[1].ID}})
	sameSkeleton(t, "batched presence_change", frame(c, ofType("presence_change")),
		[]byte(`{"type":"presence_change","users":["U024BE7LH","U012EA2U1"],"presence":"away"}`))
}

// TestSocketModeFrameShapes checks hello and disconnect, built from socketmode.Request, against
// the captured frames of SLACK_PROTOCOL.md §4.3 and §4.4.
func TestSocketModeFrameShapes(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	app, _ := firstApp(srv)
	cl, hello := smConnect(t, srv, app, "")
	got, _ := json.Marshal(hello)
	sameSkeleton(t, "hello", got, []byte(`{"type":"hello","num_connections":1,"debug_info":{"host":"applink-1","build_number":14,
		"approximate_connection_time":18060},"connection_info":{"app_id":"A0469A3MM9D"}}`))
	if err := srv.DisableSocketMode(app.AppID); err != nil {
		t.Fatal(err)
	}
	got, _ = json.Marshal(cl.next(smWait))
	sameSkeleton(t, "disconnect", got, []byte(`{"type":"disconnect","reason":"link_disabled","debug_info":{"host":"wss-111.slack.com"}}`))
}
