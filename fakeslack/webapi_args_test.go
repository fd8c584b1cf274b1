package fakeslack_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard-go/switchboard/fakeslack"
)

// rawCall is one hand-made Web API request.
type rawCall struct {
	verb, path, ctype, auth, body string
}

func (c rawCall) do(t *testing.T, srv *fakeslack.Server) apiResult {
	t.Helper()
	verb := c.verb
	if verb == "" {
		verb = http.MethodPost
	}
	req, err := http.NewRequest(verb, srv.URL()+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.ctype != "" {
		req.Header.Set("Content-Type", c.ctype)
	}
	if c.auth != "" {
		req.Header.Set("Authorization", "Bearer "+c.auth)
	}
	return apiDo(t, req)
}

// TestWebAPIAcceptRefuse checks each rule of how Slack reads a call's arguments and token
// (webapi_args.go), for the methods fakeslack serves.
func TestWebAPIAcceptRefuse(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{})
	ws := srv.Workspaces()[0]
	bot, classic, app := ws.BotToken, ws.ClassicBotToken, srv.Apps()[0].AppToken
	const (
		form    = "application/x-www-form-urlencoded"
		jsonCT  = "application/json; charset=utf-8"
		jsonPy  = "application/json;charset=utf-8" // python-slack-sdk's spelling
		jsonBad = "application/json; charset=koi8-r"
	)
	post := "channel=general&text=hi"
	for _, tt := range []struct {
		name     string
		call     rawCall
		err      string // "" means ok
		warnings string // the answer's "warning", "" for none
	}{
		// Empty-body JSON POSTs: every method accepts them (python-slack-sdk's calls without arguments).
		{"rtm.connect empty json", rawCall{path: "/api/rtm.connect", ctype: jsonPy, auth: classic}, "", ""},
		{"rtm.start empty json", rawCall{path: "/api/rtm.start", ctype: jsonPy, auth: classic}, "", "method_deprecated"},
		{"auth.test empty json", rawCall{path: "/api/auth.test", ctype: jsonPy, auth: bot}, "", ""},
		{"apps.connections.open empty json", rawCall{path: "/api/apps.connections.open", ctype: jsonPy, auth: app}, "", ""},
		{"conversations.list empty json", rawCall{path: "/api/conversations.list", ctype: jsonCT, auth: bot}, "", ""},
		{"json without charset warns", rawCall{path: "/api/auth.test", ctype: "application/json", auth: bot, body: `{}`}, "", "missing_charset"},
		{"json charset UTF-8", rawCall{path: "/api/auth.test", ctype: "application/json; charset=UTF-8", auth: bot, body: `{}`}, "", ""},
		{"json bad charset", rawCall{path: "/api/auth.test", ctype: jsonBad, auth: bot, body: `{}`}, "invalid_charset", ""},

		// JSON bodies: read by auth.test, chat.postMessage, apps.connections.open; ignored by the others.
		{"chat.postMessage json", rawCall{path: "/api/chat.postMessage", ctype: jsonCT, auth: bot, body: `{"channel":"general","text":"hi"}`}, "", ""},
		{"users.info json not read", rawCall{path: "/api/users.info", ctype: jsonCT, auth: bot, body: `{"user":"` + ws.BotUserID + `"}`}, "invalid_arguments", ""},
		{"rtm.connect json not read", rawCall{path: "/api/rtm.connect", ctype: jsonCT, auth: classic, body: `{"batch_presence_aware":true}`}, "", ""},
		{"json token attribute not read", rawCall{path: "/api/auth.test", ctype: jsonCT, body: `{"token":"` + bot + `"}`}, "not_authed", ""},
		{"json invalid", rawCall{path: "/api/chat.postMessage", ctype: jsonCT, auth: bot, body: `{"channel":`}, "invalid_json", ""},
		{"json array", rawCall{path: "/api/chat.postMessage", ctype: jsonCT, auth: bot, body: `[1]`}, "json_not_object", ""},
		{"json query args not read", rawCall{path: "/api/chat.postMessage?channel=general&text=hi", ctype: jsonCT, auth: bot, body: `{}`}, "invalid_arguments", ""},

		// Forms, queries and their mix.
		{"form", rawCall{path: "/api/chat.postMessage", ctype: form, auth: bot, body: post}, "", ""},
		{"form charset superfluous", rawCall{path: "/api/chat.postMessage", ctype: form + "; charset=utf-8", auth: bot, body: post}, "", "superfluous_charset"},
		{"form latin-1 charset", rawCall{path: "/api/chat.postMessage", ctype: form + "; charset=ISO-8859-1", auth: bot, body: post}, "", "superfluous_charset"},
		{"broken multipart", rawCall{path: "/api/chat.postMessage", ctype: "multipart/form-data; boundary=xyz", auth: bot, body: "garbage"}, "invalid_form_data", ""},
		{"form bad charset", rawCall{path: "/api/chat.postMessage", ctype: form + "; charset=ebcdic", auth: bot, body: post}, "invalid_charset", ""},
		{"form token", rawCall{path: "/api/chat.postMessage", ctype: form, body: post + "&token=" + bot}, "", ""},
		{"text/plain read as form", rawCall{path: "/api/chat.postMessage", ctype: "text/plain", auth: bot, body: post}, "", ""},
		{"query and form mixed", rawCall{path: "/api/chat.postMessage?channel=general", ctype: form, auth: bot, body: "text=hi"}, "", ""},
		{"get with query args", rawCall{verb: "GET", path: "/api/users.info?user=" + ws.BotUserID, auth: bot}, "", ""},
		{"get query token refused", rawCall{verb: "GET", path: "/api/auth.test?token=" + bot}, "not_authed", ""},
		{"post query token refused", rawCall{path: "/api/auth.test?token=" + bot, ctype: form}, "not_authed", ""},
		{"post body without type", rawCall{path: "/api/auth.test", auth: bot, body: "x=1"}, "missing_post_type", ""},
		{"post no body no type", rawCall{path: "/api/auth.test", auth: bot}, "", ""},
		{"post xml", rawCall{path: "/api/auth.test", ctype: "application/xml", auth: bot, body: "<a/>"}, "invalid_post_type", ""},
		{"array arg", rawCall{path: "/api/chat.postMessage", ctype: form, auth: bot, body: post + "&foo[0]=1"}, "invalid_array_arg", ""},
		{"bad arg name", rawCall{path: "/api/chat.postMessage", ctype: form, auth: bot, body: post + "&f%21o=1"}, "invalid_arg_name", ""},

		// apps.connections.open: the app token in the header, by POST.
		{"app token in form", rawCall{path: "/api/apps.connections.open", ctype: form, body: "token=" + app}, "invalid_auth", ""},
		{"app open by GET", rawCall{verb: "GET", path: "/api/apps.connections.open", auth: app}, "insecure_request", ""},
		{"app open json", rawCall{path: "/api/apps.connections.open", ctype: jsonCT, auth: app, body: `{}`}, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.call.do(t, srv)
			if tt.err == "" {
				wantOK(t, r)
			} else {
				wantError(t, r, http.StatusOK, tt.err)
			}
			if got, _ := r.Body["warning"].(string); tt.err == "" && got != tt.warnings {
				t.Errorf("warning = %q, want %q (%v)", got, tt.warnings, r.Body)
			}
			if tt.warnings != "" && tt.err == "" {
				md, _ := r.Body["response_metadata"].(map[string]any)
				if ws, _ := md["warnings"].([]any); len(ws) == 0 {
					t.Errorf("response_metadata.warnings missing: %v", r.Body)
				}
			}
		})
	}

	t.Run("multipart form", func(t *testing.T) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		_ = mw.WriteField("channel", "general")
		_ = mw.WriteField("text", "hi")
		_ = mw.WriteField("token", bot)
		_ = mw.Close()
		wantOK(t, rawCall{path: "/api/chat.postMessage", ctype: mw.FormDataContentType(), body: b.String()}.do(t, srv))
	})
	t.Run("only /api/", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/auth.test", nil)
		req.Header.Set("Authorization", "Bearer "+bot)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST /auth.test = %d, want 404", resp.StatusCode)
		}
	})
}

// TestWebAPILenientOptions checks the named options that relax Slack's rules.
func TestWebAPILenientOptions(t *testing.T) {
	t.Parallel()
	srv := start(t, fakeslack.Options{QueryTokens: true, BarePaths: true})
	bot := srv.Workspaces()[0].BotToken
	wantOK(t, rawCall{verb: "GET", path: "/api/auth.test?token=" + bot}.do(t, srv))
	wantError(t, rawCall{path: "/api/auth.test?token=" + bot, ctype: "application/x-www-form-urlencoded"}.do(t, srv), 200, "not_authed")
	wantOK(t, rawCall{path: "/auth.test", auth: bot}.do(t, srv))
	wantError(t, rawCall{verb: "GET", path: "/nope.nothing"}.do(t, srv), 200, "unknown_method")
}
