package fakeslack_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboard-go/switchboard/fakeslack"
)

const admWait = 5 * time.Second

// admCall calls a Web API method with a Bearer token and form arguments, returning the HTTP status
// and the decoded body.
func admCall(t testing.TB, srv *fakeslack.Server, method, token string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.APIURL()+method, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("%s: body is not JSON: %v", method, err)
	}
	return resp.StatusCode, m
}

// admError returns the error code of a Web API answer, or "" when it is ok.
func admError(m map[string]any) string {
	if m["ok"] == true {
		return ""
	}
	e, _ := m["error"].(string)
	return e
}

// admRTM opens an RTM socket with token and reads its hello.
func admRTM(t testing.TB, srv *fakeslack.Server, token string) *websocket.Conn {
	t.Helper()
	_, m := admCall(t, srv, "rtm.connect", token, nil)
	u, _ := m["url"].(string)
	if u == "" {
		t.Fatalf("rtm.connect: %v", m)
	}
	c := dial(t, u)
	if f := readFrame(t, c, admWait); f["type"] != "hello" {
		t.Fatalf("first RTM frame = %v", f)
	}
	return c
}

// admSocketMode opens a Socket Mode socket for app and reads its hello.
func admSocketMode(t testing.TB, srv *fakeslack.Server, app fakeslack.App) *websocket.Conn {
	t.Helper()
	_, m := admCall(t, srv, "apps.connections.open", app.AppToken, nil)
	u, _ := m["url"].(string)
	if u == "" {
		t.Fatalf("apps.connections.open: %v", m)
	}
	c := dial(t, u)
	if f := readFrame(t, c, admWait); f["type"] != "hello" {
		t.Fatalf("first Socket Mode frame = %v", f)
	}
	return c
}

// admConnections lists the open connections of subject over the admin API.
func admConnections(t testing.TB, srv *fakeslack.Server, subject string) []fakeslack.ConnInfo {
	t.Helper()
	resp, err := http.Get(srv.AdminURL() + "connections?subject=" + url.QueryEscape(subject))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		OK          bool                 `json:"ok"`
		Connections []fakeslack.ConnInfo `json:"connections"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || !body.OK {
		t.Fatalf("connections: %+v %v", body, err)
	}
	return body.Connections
}

func TestAdminWorld(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{Workspaces: 3, Apps: 2, ChannelsPerWorkspace: 3})
	resp, err := http.Get(srv.AdminURL() + "world")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var world struct {
		OK         bool                  `json:"ok"`
		APIURL     string                `json:"api_url"`
		Workspaces []fakeslack.Workspace `json:"workspaces"`
		Apps       []fakeslack.App       `json:"apps"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&world); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !world.OK || world.APIURL != srv.APIURL() || len(world.Workspaces) != 3 || len(world.Apps) != 2 {
		t.Fatalf("world = %d %+v", resp.StatusCode, world)
	}
	want := srv.Workspaces()
	for i, ws := range world.Workspaces {
		if ws.TeamID != want[i].TeamID || ws.ClassicBotToken != want[i].ClassicBotToken || ws.BotToken != want[i].BotToken ||
			ws.UserToken != want[i].UserToken || len(ws.Channels) != 3 || len(ws.Webhooks) != 3 || ws.Webhooks[0].URL != want[i].Webhooks[0].URL {
			t.Errorf("workspace %d = %+v, want %+v", i, ws, want[i])
		}
	}
	for i, a := range world.Apps {
		if want := srv.Apps()[i]; a.AppID != want.AppID || a.AppToken != want.AppToken || len(a.Teams) != 3 {
			t.Errorf("app %d = %+v", i, a)
		}
	}
}

func TestAdminStatsAndTranscript(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws1, ws2 := srv.Workspaces()[0], srv.Workspaces()[1]
	for _, ws := range []fakeslack.Workspace{ws1, ws2, ws1} {
		if _, m := admCall(t, srv, "auth.test", ws.BotToken, nil); admError(m) != "" {
			t.Fatalf("auth.test: %v", m)
		}
	}
	wantHook(t, "webhook", hookJSON(t, ws2.Webhooks[0].URL, `{"text":"w"}`), 200, "ok")

	// Stats is a struct, so the answer carries it under "result".
	status, body := hookAdmin(t, srv, http.MethodGet, "stats", "")
	stats, _ := body["result"].(map[string]any)
	if status != 200 || body["ok"] != true || stats["api_calls"] != float64(3) || stats["webhook_posts"] != float64(1) {
		t.Fatalf("stats: %d %v", status, body)
	}

	transcript := func(query string) []fakeslack.Entry {
		t.Helper()
		resp, err := http.Get(srv.AdminURL() + "transcript" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			OK      bool `json:"ok"`
			Entries []struct {
				fakeslack.Entry
				Data string `json:"data"`
			} `json:"entries"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 || !body.OK {
			t.Fatalf("transcript%s: %d %v", query, resp.StatusCode, err)
		}
		out := make([]fakeslack.Entry, len(body.Entries))
		for i, e := range body.Entries {
			out[i] = e.Entry
			out[i].Data = []byte(e.Data)
		}
		return out
	}
	all := transcript("")
	if len(all) != 4 {
		t.Fatalf("transcript = %+v", all)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq <= all[i-1].Seq {
			t.Errorf("entries out of order: %+v", all)
		}
	}
	if api := transcript("?kind=api"); len(api) != 3 || api[0].Method != "auth.test" || api[0].Status != "ok" {
		t.Errorf("kind=api: %+v", api)
	}
	if team := transcript("?kind=api&team=" + ws1.TeamID); len(team) != 2 {
		t.Errorf("team filter: %+v", team)
	}
	if hooks := transcript("?kind=webhook"); len(hooks) != 1 || string(hooks[0].Data) != `{"text":"w"}` || hooks[0].Team != ws2.TeamID {
		t.Errorf("kind=webhook: %+v", hooks)
	}
	if since := transcript("?since=" + strconv.FormatUint(all[1].Seq, 10)); len(since) != 2 || since[0].Seq != all[2].Seq {
		t.Errorf("since: %+v", since)
	}
	if none := transcript("?conn=nope"); len(none) != 0 {
		t.Errorf("conn=nope: %+v", none)
	}
	if status, body := hookAdmin(t, srv, http.MethodGet, "transcript?since=x", ""); status != 400 || body["ok"] != false {
		t.Errorf("since=x: %d %v", status, body)
	}
	for _, e := range all {
		if strings.Contains(string(e.Data), ws1.BotToken) || strings.Contains(string(e.Data), ws2.BotToken) {
			t.Errorf("entry %+v holds a token", e)
		}
	}
}

func TestAdminHistory(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	ch := ws.Channels[0].ID
	if _, m := admCall(t, srv, "chat.postMessage", ws.BotToken, url.Values{"channel": {ch}, "text": {"one"}}); admError(m) != "" {
		t.Fatalf("chat.postMessage: %v", m)
	}
	wantHook(t, "webhook", hookJSON(t, ws.Webhooks[0].URL, `{"text":"two"}`), 200, "ok")

	status, body := hookAdmin(t, srv, http.MethodGet, "history/"+ch, "")
	msgs, _ := body["messages"].([]any)
	if status != 200 || len(msgs) != 2 {
		t.Fatalf("history: %d %v", status, body)
	}
	first, _ := msgs[0].(map[string]any)
	second, _ := msgs[1].(map[string]any)
	if first["text"] != "one" || first["via"] != "chat.postMessage" || second["text"] != "two" || second["via"] != "webhook" {
		t.Errorf("messages = %v", msgs)
	}
	if status, body := hookAdmin(t, srv, http.MethodGet, "history/C0NOPE", ""); status != 404 || body["ok"] != false {
		t.Errorf("unknown channel's history: %d %v", status, body)
	}
	if status, body := hookAdmin(t, srv, http.MethodGet, "history/"+ws.Channels[1].ID, ""); status != 200 || body["messages"] == nil {
		t.Errorf("empty history must be [], not null: %d %v", status, body)
	}
}

func TestAdminConnections(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws1, ws2, app := srv.Workspaces()[0], srv.Workspaces()[1], srv.Apps()[0]
	r1 := admRTM(t, srv, ws1.ClassicBotToken)
	admRTM(t, srv, ws2.ClassicBotToken)
	sm := admSocketMode(t, srv, app)

	if all := admConnections(t, srv, ""); len(all) != 3 {
		t.Fatalf("connections = %+v", all)
	}
	team := admConnections(t, srv, ws1.TeamID)
	if len(team) != 1 || team[0].Team != ws1.TeamID || team[0].ID == "" {
		t.Fatalf("connections of %s = %+v", ws1.TeamID, team)
	}
	apps := admConnections(t, srv, app.AppID)
	if len(apps) != 1 || apps[0].App != app.AppID {
		t.Fatalf("connections of %s = %+v", app.AppID, apps)
	}
	rtmID, smID := team[0].ID, apps[0].ID

	// silence and stop-pings show in the list.
	for _, path := range []string{"connections/" + rtmID + "/silence", "connections/" + smID + "/stop-pings"} {
		if status, body := hookAdmin(t, srv, http.MethodPost, path, ""); status != 200 || body["ok"] != true {
			t.Fatalf("%s: %d %v", path, status, body)
		}
	}
	if c := admConnections(t, srv, ws1.TeamID); !c[0].Silent {
		t.Errorf("after silence: %+v", c)
	}
	if c := admConnections(t, srv, app.AppID); !c[0].Deaf {
		t.Errorf("after stop-pings: %+v", c)
	}

	// A clean drop closes with 1000; an abrupt one without a close frame.
	if status, body := hookAdmin(t, srv, http.MethodPost, "connections/"+smID+"/drop", `{"clean":true}`); status != 200 || body["ok"] != true {
		t.Fatalf("drop clean: %d %v", status, body)
	}
	admWantClosed(t, sm, websocket.CloseNormalClosure)
	if status, body := hookAdmin(t, srv, http.MethodPost, "connections/"+rtmID+"/drop", ``); status != 200 || body["ok"] != true {
		t.Fatalf("drop: %d %v", status, body)
	}
	admWantClosed(t, r1, websocket.CloseAbnormalClosure)
	waitFor(t, admWait, "the dropped sockets to leave the list", func() bool {
		return len(admConnections(t, srv, "")) == 1
	})

	for _, tt := range []struct {
		path, body string
		status     int
	}{
		{"connections/nope/drop", `{}`, 404},
		{"connections/nope/silence", ``, 404},
		{"connections/nope/stop-pings", ``, 404},
		{"connections/" + rtmID + "/drop", `{"clean":`, 400},
		{"connections/x/drop", `{"clean":"yes"}`, 400},
	} {
		if status, body := hookAdmin(t, srv, http.MethodPost, tt.path, tt.body); status != tt.status || body["ok"] != false || body["error"] == "" {
			t.Errorf("POST %s %s: %d %v, want %d", tt.path, tt.body, status, body, tt.status)
		}
	}
}

// admWantClosed reads from c until it fails, and checks the close code (1006 for an abrupt close).
func admWantClosed(t testing.TB, c *websocket.Conn, code int) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(admWait))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		if !websocket.IsCloseError(err, code) {
			if code == websocket.CloseAbnormalClosure && !websocket.IsCloseError(err, websocket.CloseNormalClosure) && !isTimeout(err) {
				return // an abrupt close surfaces as EOF or a reset
			}
			t.Fatalf("socket ended with %v, want close code %d", err, code)
		}
		return
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(interface{ Timeout() bool })
	return ok && ne.Timeout()
}

func TestAdminTokens(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	tok := ws.ClassicBotToken
	c := admRTM(t, srv, tok)
	authTest := func() string {
		t.Helper()
		_, m := admCall(t, srv, "auth.test", tok, nil)
		return admError(m)
	}

	if status, body := hookAdmin(t, srv, http.MethodPost, "tokens/revoke", `{"token":"`+tok+`"}`); status != 200 || body["ok"] != true {
		t.Fatalf("revoke: %d %v", status, body)
	}
	if e := authTest(); e != "token_revoked" {
		t.Errorf("auth.test after revoke = %q", e)
	}
	admWantClosed(t, c, websocket.CloseAbnormalClosure)

	if status, _ := hookAdmin(t, srv, http.MethodPost, "tokens/restore", `{"token":"`+tok+`"}`); status != 200 {
		t.Fatalf("restore: %d", status)
	}
	if e := authTest(); e != "" {
		t.Errorf("auth.test after restore = %q", e)
	}
	if status, _ := hookAdmin(t, srv, http.MethodPost, "tokens/deactivate", `{"token":"`+tok+`"}`); status != 200 {
		t.Fatalf("deactivate: %d", status)
	}
	if e := authTest(); e != "account_inactive" {
		t.Errorf("auth.test after deactivate = %q", e)
	}
	hookAdmin(t, srv, http.MethodPost, "tokens/restore", `{"token":"`+tok+`"}`)
	if e := authTest(); e != "" {
		t.Errorf("auth.test after the second restore = %q", e)
	}

	for _, action := range []string{"revoke", "deactivate", "restore"} {
		for _, tt := range []struct {
			body   string
			status int
		}{
			{`{"token":"xoxb-unknown"}`, 404},
			{`{}`, 400},
			{``, 400},
			{`{"token":`, 400},
			{`{"token":7}`, 400},
		} {
			status, body := hookAdmin(t, srv, http.MethodPost, "tokens/"+action, tt.body)
			if status != tt.status || body["ok"] != false {
				t.Errorf("tokens/%s %s: %d %v, want %d", action, tt.body, status, body, tt.status)
			}
		}
	}
	if e := authTest(); e != "" {
		t.Errorf("auth.test after refused admin calls = %q", e)
	}
}

func TestAdminRefuseOpens(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws, app := srv.Workspaces()[0], srv.Apps()[0]

	body := fmt.Sprintf(`{"subject":%q,"count":2,"error":"ratelimited","retry_after":3}`, ws.TeamID)
	if status, m := hookAdmin(t, srv, http.MethodPost, "refuse-opens", body); status != 200 || m["ok"] != true {
		t.Fatalf("refuse-opens: %d %v", status, m)
	}
	for i := range 2 {
		status, m := admCall(t, srv, "rtm.connect", ws.ClassicBotToken, nil)
		if status != 429 || admError(m) != "ratelimited" {
			t.Fatalf("rtm.connect %d: %d %v", i, status, m)
		}
	}
	if _, m := admCall(t, srv, "rtm.connect", ws.ClassicBotToken, nil); admError(m) != "" {
		t.Fatalf("rtm.connect after the refusals: %v", m)
	}

	body = fmt.Sprintf(`{"subject":%q,"count":1,"error":"internal_error"}`, app.AppID)
	if status, _ := hookAdmin(t, srv, http.MethodPost, "refuse-opens", body); status != 200 {
		t.Fatalf("refuse-opens app: %d", status)
	}
	if status, m := admCall(t, srv, "apps.connections.open", app.AppToken, nil); status != 200 || admError(m) != "internal_error" {
		t.Fatalf("apps.connections.open: %d %v", status, m)
	}
	if _, m := admCall(t, srv, "apps.connections.open", app.AppToken, nil); admError(m) != "" {
		t.Fatalf("apps.connections.open after the refusal: %v", m)
	}

	for _, tt := range []struct {
		body   string
		status int
	}{
		{`{"subject":"T0NOPE","count":1,"error":"x"}`, 404},
		{fmt.Sprintf(`{"subject":%q,"count":0,"error":"x"}`, ws.TeamID), 400},
		{fmt.Sprintf(`{"subject":%q,"count":1}`, ws.TeamID), 400},
		{`{"count":1,"error":"x"}`, 400},
		{`{"subject":`, 400},
	} {
		if status, m := hookAdmin(t, srv, http.MethodPost, "refuse-opens", tt.body); status != tt.status || m["ok"] != false {
			t.Errorf("refuse-opens %s: %d %v, want %d", tt.body, status, m, tt.status)
		}
	}
}

func TestAdminUnknownRoutes(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	for _, tt := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "nope", 404},
		{http.MethodPost, "nope/at/all", 404},
		{http.MethodPost, "world", 405},
		{http.MethodGet, "tokens/revoke", 405},
	} {
		req, err := http.NewRequest(tt.method, srv.AdminURL()+tt.path, strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s /_admin/%s: %d, want %d", tt.method, tt.path, resp.StatusCode, tt.status)
		}
	}
}
