package fakeslack

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// adminRoutes are the admin routes with {placeholders} the fuzz target fills with IDs of the
// server's world: {team}, {app}, {channel}, {token}, {conn}.
var adminRoutes = []struct{ method, path string }{
	{"GET", "/_admin/world"}, {"GET", "/_admin/stats"}, {"GET", "/_admin/transcript?since={x}&kind={x}"},
	{"GET", "/_admin/history/{channel}"}, {"GET", "/_admin/connections?subject={team}"},
	{"POST", "/_admin/connections/{conn}/drop"}, {"POST", "/_admin/connections/{conn}/silence"},
	{"POST", "/_admin/connections/{conn}/stop-pings"},
	{"POST", "/_admin/tokens/revoke"}, {"POST", "/_admin/tokens/deactivate"}, {"POST", "/_admin/tokens/restore"},
	{"POST", "/_admin/refuse-opens"},
	{"POST", "/_admin/teams/{team}/rtm/events"}, {"POST", "/_admin/teams/{team}/rtm/messages"},
	{"POST", "/_admin/teams/{team}/rtm/stream"}, {"POST", "/_admin/teams/{team}/rtm/goodbye"},
	{"POST", "/_admin/teams/{team}/rtm/reconnect-url"},
	{"POST", "/_admin/apps/{app}/events"}, {"POST", "/_admin/apps/{app}/events/stream"},
	{"POST", "/_admin/apps/{app}/commands"}, {"POST", "/_admin/apps/{app}/interactions"},
	{"POST", "/_admin/apps/{app}/refresh"}, {"POST", "/_admin/apps/{app}/disable"},
	{"POST", "/_admin/apps/{app}/enable"}, {"GET", "/_admin/apps/{app}/acks/{x}"},
	{"POST", "/_admin/webhooks/fail"}, {"GET", "/_admin/webhooks/posts?url={x}"},
	{"POST", "/_admin/response-urls"}, {"POST", "/_admin/channels/archive"},
	{"POST", "/_admin/apps/{app}/config"}, {"POST", "/_admin/apps/{app}/install"},
	{"POST", "/_admin/apps/{app}/uninstall"}, {"POST", "/_admin/apps/{app}/revoke-tokens"},
	{"GET", "/_admin/apps/{app}/deliveries"}, {"POST", "/_admin/apps/{app}/app-home-opened"},
	{"POST", "/_admin/apps/{app}/reactions"}, {"POST", "/_admin/apps/{app}/triggers"},
	{"GET", "/_admin/views/{x}"}, {"GET", "/_admin/channels/{channel}/ephemeral"},
	{"POST", "/_admin/channels/membership"}, {"POST", "/_admin/tokens/expire"},
}

// adminBodySeeds are request bodies from the admin API's documentation, with {placeholders}.
var adminBodySeeds = []string{
	``, `{}`, `null`, `[]`, `{`, `"x"`,
	`{"clean":true}`, `{"token":"{token}"}`,
	`{"subject":"{team}","count":2,"error":"ratelimited","retry_after":1}`,
	`{"type":"reaction_added","user":"U1","reaction":"+1"}`,
	`{"channel":"{channel}","text":"hello","user":"U1"}`,
	`{"channel":"{channel}","text":"m","count":3}`,
	`{"channel":"{channel}","text":"m","count":2000000000}`, // was: a 2e9-message allocation
	`{"team":"{team}","channel":"{channel}","text":"m","count":2000000000}`,
	`{"conn":"{conn}"}`,
	`{"team":"{team}","event":{"type":"message","channel":"{channel}","text":"hi"}}`,
	`{"team":"{team}","channel":"{channel}","text":"m","count":3}`,
	`{"team":"{team}","channel":"{channel}","command":"/deploy","text":"now"}`,
	`{"type":"block_actions","team":"{team}","channel":"{channel}","action_id":"a","value":"v"}`,
	`{"type":"view_submission","team":"{team}","values":{"b":{"a":{"type":"plain_text_input","value":"x"}}}}`,
	`{"connection":"{conn}","warning":true}`,
	`{"url":"{x}","count":1,"status":500,"body":"rollup_error"}`,
	`{"kind":"commands","team":"{team}","channel":"{channel}"}`,
	`{"team":"{team}","channel":"{channel}","archived":true}`,
	`{"request_url":"http://127.0.0.1:1/","token_rotation":true}`, `{"team":"new"}`, `{"team":"T0NEW00001"}`,
	`{"team":"{team}","reaction":"eyes","ts":"1.2","channel":"{channel}"}`, `{"channel":"{channel}","member":false}`,
	`{"type":"view_closed","team":"{team}","view_id":"V1"}`,
}

// FuzzAdmin sends arbitrary bodies (and, past the known routes, arbitrary paths) to the admin API
// of a fresh server: no panic, no 5xx, and every answer of an admin route is a JSON object whose
// "ok" is true exactly when the status is 2xx. Unknown paths get the mux's 404 or 405.
func FuzzAdmin(f *testing.F) {
	for i := range adminRoutes {
		for _, b := range adminBodySeeds {
			f.Add(uint8(i), "", []byte(b))
		}
	}
	f.Add(uint8(255), "teams/T1/rtm/stream", []byte(`{"count":1}`))
	f.Add(uint8(255), "../../api/auth.test", []byte(``))
	f.Fuzz(func(t *testing.T, route uint8, rawPath string, body []byte) {
		s, err := New(Options{Workspaces: 1, TranscriptSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ws, app := s.Workspaces()[0], s.Apps()[0]
		fill := strings.NewReplacer("{team}", ws.TeamID, "{app}", app.AppID, "{channel}", ws.Channels[0].ID,
			"{token}", ws.BotToken, "{conn}", "rtm-"+ws.TeamID+"-1", "{x}", rawPath)
		method, path := http.MethodPost, "/_admin/"+rawPath
		known := int(route) < len(adminRoutes) // a path the mux must route to an admin handler
		if int(route) < len(adminRoutes) {
			known = !strings.Contains(adminRoutes[route].path, "{x}") // rawPath may make it unroutable
			method, path = adminRoutes[route].method, fill.Replace(adminRoutes[route].path)
		}
		body = []byte(fill.Replace(string(body)))
		req, err := http.NewRequest(method, "http://fakeslack.test"+path, bytes.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		rec := httptest.NewRecorder()
		s.mux.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: status %d: %s", method, path, body, rec.Code, rec.Body.Bytes())
		}
		if !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			if known || (rec.Code != http.StatusNotFound && rec.Code != http.StatusMethodNotAllowed && rec.Code/100 != 3) {
				t.Fatalf("%s %s: status %d with %q: %.200s", method, path, rec.Code, rec.Header().Get("Content-Type"), rec.Body.Bytes())
			}
			return
		}
		var ans struct {
			OK *bool `json:"ok"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil || ans.OK == nil {
			t.Fatalf("%s %s: answer is not {\"ok\":…}: %v: %.200s", method, path, err, rec.Body.Bytes())
		}
		if *ans.OK != (rec.Code/100 == 2) {
			t.Fatalf("%s %s: ok %v with status %d", method, path, *ans.OK, rec.Code)
		}
	})
}
