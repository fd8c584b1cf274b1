package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"gopkg.in/yaml.v3"

	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/internal/redact"
)

// A script is a list of steps run in order once the server is up. Each step calls one of the
// server's admin routes, so a script can do whatever the admin API can. See the README for the
// format; in short:
//
//	- after: 2s                   # wait since the previous step (Go duration or seconds); default 0
//	  action: inject_rtm_message  # a named action below, or "admin" for any route
//	  team: ${T1}                 # the action's arguments; ${…} placeholders name generated things
//	  channel: general
//	  text: hello
//	  repeat: 3                   # run it 3 times in all, "every" apart (default once)
//	  every: 500ms

// actionSpec says which admin route an action calls and which arguments it takes.
type actionSpec struct {
	method   string   // HTTP method; default POST
	path     string   // under /_admin/; {team} and {app} come from the arguments of that name
	required []string // arguments that must be present
	optional []string // arguments that may be present
	bodyArg  string   // when set, this argument alone is the body; otherwise the remaining arguments
	perConn  string   // for drop, silence, stop_pings: the per-connection route's last segment
}

var actions = map[string]actionSpec{
	"inject_rtm_message": {path: "teams/{team}/rtm/messages", required: []string{"team", "channel", "text"}, optional: []string{"user", "thread_ts"}},
	"inject_rtm_event":   {path: "teams/{team}/rtm/events", required: []string{"team", "event"}, bodyArg: "event"},
	"rtm_stream":         {path: "teams/{team}/rtm/stream", required: []string{"team", "channel", "text", "count"}, optional: []string{"user"}},
	"rtm_goodbye":        {path: "teams/{team}/rtm/goodbye", required: []string{"team"}, optional: []string{"conn"}},
	"rtm_reconnect_url":  {path: "teams/{team}/rtm/reconnect-url", required: []string{"team"}},
	"inject_event":       {path: "apps/{app}/events", required: []string{"app", "team", "event"}},
	"event_stream":       {path: "apps/{app}/events/stream", required: []string{"app", "team", "channel", "text", "count"}, optional: []string{"user"}},
	"slash_command":      {path: "apps/{app}/commands", required: []string{"app", "team", "command"}, optional: []string{"channel", "user", "text"}},
	"interaction": {path: "apps/{app}/interactions", required: []string{"app", "team"},
		optional: []string{"type", "channel", "user", "action_id", "block_id", "value", "callback_id", "message_ts", "values", "private_metadata", "view_id", "is_cleared"}},
	"configure_app":       {path: "apps/{app}/config", required: []string{"app"}, optional: []string{"request_url", "redirect_url", "token_rotation", "signature_fault", "verify"}},
	"install":             {path: "apps/{app}/install", required: []string{"app"}, optional: []string{"team"}},
	"uninstall":           {path: "apps/{app}/uninstall", required: []string{"app", "team"}},
	"revoke_app_tokens":   {path: "apps/{app}/revoke-tokens", required: []string{"app", "team"}},
	"app_home_opened":     {path: "apps/{app}/app-home-opened", required: []string{"app", "team"}, optional: []string{"user"}},
	"reaction_added":      {path: "apps/{app}/reactions", required: []string{"app", "team", "reaction", "ts"}, optional: []string{"channel", "user"}},
	"bot_membership":      {path: "channels/membership", required: []string{"channel"}, optional: []string{"member"}},
	"expire_token":        {path: "tokens/expire", required: []string{"token"}},
	"refresh":             {path: "apps/{app}/refresh", required: []string{"app"}, optional: []string{"connection", "warning"}},
	"disable_socket_mode": {path: "apps/{app}/disable", required: []string{"app"}},
	"enable_socket_mode":  {path: "apps/{app}/enable", required: []string{"app"}},
	"drop":                {perConn: "drop", optional: []string{"subject", "count", "clean"}},
	"silence":             {perConn: "silence", optional: []string{"subject", "count"}},
	"stop_pings":          {perConn: "stop-pings", optional: []string{"subject", "count"}},
	"revoke_token":        {path: "tokens/revoke", required: []string{"token"}},
	"deactivate_token":    {path: "tokens/deactivate", required: []string{"token"}},
	"restore_token":       {path: "tokens/restore", required: []string{"token"}},
	"refuse_opens":        {path: "refuse-opens", required: []string{"subject", "count", "error"}, optional: []string{"retry_after"}},
	"fail_webhook":        {path: "webhooks/fail", required: []string{"url", "count"}, optional: []string{"status", "body"}},
	"archive_channel":     {path: "channels/archive", required: []string{"team", "channel"}, optional: []string{"archived"}},
	"admin":               {required: []string{"path"}, optional: []string{"method", "body"}},
	"replay":              {path: "replay", required: []string{"file"}, optional: []string{"speed", "subject", "conn_wait", "max_gap"}},
}

// step is one validated script step.
type step struct {
	n      int // 1-based position in the script, for messages
	after  time.Duration
	action string
	spec   actionSpec
	repeat int
	every  time.Duration
	args   map[string]any
}

// parseScript reads and validates a script (YAML, of which JSON is a subset). Placeholders are
// checked later, by resolve, once the generated world is known.
func parseScript(data []byte) ([]step, error) {
	var raw []map[string]any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		var wrapped struct {
			Steps []map[string]any `yaml:"steps"`
		}
		if err2 := yaml.Unmarshal(data, &wrapped); err2 != nil || wrapped.Steps == nil {
			return nil, fmt.Errorf("script is not a YAML or JSON list of steps: %w", err)
		}
		raw = wrapped.Steps
	}
	steps := make([]step, 0, len(raw))
	for i, m := range raw {
		st, err := parseStep(i+1, m)
		if err != nil {
			return nil, fmt.Errorf("step %d: %w", i+1, err)
		}
		steps = append(steps, st)
	}
	return steps, nil
}

func parseStep(n int, m map[string]any) (step, error) {
	st := step{n: n, repeat: 1, args: map[string]any{}}
	name, ok := m["action"].(string)
	if !ok || name == "" {
		return st, errors.New(`"action" is required (a string)`)
	}
	spec, ok := actions[name]
	if !ok {
		names := make([]string, 0, len(actions))
		for k := range actions {
			names = append(names, k)
		}
		slices.Sort(names)
		return st, fmt.Errorf("unknown action %q (known: %s)", name, strings.Join(names, ", "))
	}
	st.action, st.spec = name, spec
	var err error
	if st.after, err = durationArg(m["after"]); err != nil {
		return st, fmt.Errorf("after: %w", err)
	}
	if st.every, err = durationArg(m["every"]); err != nil {
		return st, fmt.Errorf("every: %w", err)
	}
	if v, ok := m["repeat"]; ok {
		r, isInt := v.(int)
		if !isInt || r < 1 {
			return st, fmt.Errorf("repeat: %v is not a whole number ≥ 1", v)
		}
		st.repeat = r
	}
	for k, v := range m {
		switch {
		case k == "action" || k == "after" || k == "every" || k == "repeat":
		case slices.Contains(spec.required, k) || slices.Contains(spec.optional, k):
			st.args[k] = v
		default:
			return st, fmt.Errorf("%s takes no argument %q (it takes %s)", name, k, strings.Join(append(slices.Clone(spec.required), spec.optional...), ", "))
		}
	}
	for _, k := range spec.required {
		if v, ok := st.args[k]; !ok || v == nil || v == "" {
			return st, fmt.Errorf("%s needs %q", name, k)
		}
	}
	if name == "admin" {
		p, ok := st.args["path"].(string)
		if !ok || strings.Contains(p, "://") {
			return st, errors.New(`admin: "path" must be a path under /_admin/, such as "teams/T…/rtm/events"`)
		}
		if method, ok := st.args["method"]; ok {
			if s, _ := method.(string); s != http.MethodGet && s != http.MethodPost {
				return st, fmt.Errorf("admin: method %v is not GET or POST", method)
			}
		}
	}
	return st, nil
}

// durationArg reads a Go duration ("1.5s") or a number of seconds; absent means zero.
func durationArg(v any) (time.Duration, error) {
	switch x := v.(type) {
	case nil:
		return 0, nil
	case int:
		if x >= 0 {
			return time.Duration(x) * time.Second, nil
		}
	case float64:
		if x >= 0 {
			return time.Duration(x * float64(time.Second)), nil
		}
	case string:
		d, err := time.ParseDuration(x)
		if err != nil {
			return 0, err
		}
		if d >= 0 {
			return d, nil
		}
	}
	return 0, fmt.Errorf("%v is not a duration ≥ 0 (such as 2s or 1.5)", v)
}

var placeholderRE = regexp.MustCompile(`\$\{([^}]*)\}`)

// resolve replaces the ${…} placeholders in every step's arguments with the generated world's
// values, failing on the first unknown one.
func resolve(steps []step, wss []fakeslack.Workspace, apps []fakeslack.App) error {
	for i := range steps {
		var err error
		for k, v := range steps[i].args {
			if steps[i].args[k], err = expand(v, wss, apps); err != nil {
				return fmt.Errorf("step %d: %s: %w", steps[i].n, k, err)
			}
		}
	}
	return nil
}

// expand replaces placeholders in v's strings, recursively.
func expand(v any, wss []fakeslack.Workspace, apps []fakeslack.App) (any, error) {
	switch x := v.(type) {
	case string:
		var err error
		out := placeholderRE.ReplaceAllStringFunc(x, func(m string) string {
			val, e := lookup(m[2:len(m)-1], wss, apps)
			if e != nil && err == nil {
				err = e
			}
			return val
		})
		return out, err
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			var err error
			if out[k], err = expand(e, wss, apps); err != nil {
				return nil, err
			}
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			var err error
			if out[i], err = expand(e, wss, apps); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return v, nil
}

var (
	refRE  = regexp.MustCompile(`^([TA])([0-9]+)(?:\.(.+))?$`)
	itemRE = regexp.MustCompile(`^([CUW])([0-9]+)$`)
)

// lookup resolves one placeholder name (see the README).
func lookup(name string, wss []fakeslack.Workspace, apps []fakeslack.App) (string, error) {
	m := refRE.FindStringSubmatch(name)
	if m == nil {
		return "", fmt.Errorf("unknown placeholder ${%s}: use ${T1}, ${T1.bot_token}, ${T1.C1}, ${A1}, …", name)
	}
	i, _ := strconv.Atoi(m[2])
	field := m[3]
	if m[1] == "A" {
		if i < 1 || i > len(apps) {
			return "", fmt.Errorf("${%s}: there are %d apps", name, len(apps))
		}
		a := apps[i-1]
		switch field {
		case "":
			return a.AppID, nil
		case "app_token":
			return a.AppToken, nil
		}
		return "", fmt.Errorf("${%s}: an app has no %q (use app_token)", name, field)
	}
	if i < 1 || i > len(wss) {
		return "", fmt.Errorf("${%s}: there are %d workspaces", name, len(wss))
	}
	ws := wss[i-1]
	switch field {
	case "":
		return ws.TeamID, nil
	case "classic_bot_token":
		return ws.ClassicBotToken, nil
	case "bot_token":
		return ws.BotToken, nil
	case "user_token":
		return ws.UserToken, nil
	case "bot_user":
		return ws.BotUserID, nil
	}
	if it := itemRE.FindStringSubmatch(field); it != nil {
		k, _ := strconv.Atoi(it[2])
		switch it[1] {
		case "C":
			if k >= 1 && k <= len(ws.Channels) {
				return ws.Channels[k-1].ID, nil
			}
		case "U":
			if k >= 1 && k <= len(ws.Users) {
				return ws.Users[k-1].ID, nil
			}
		case "W":
			if k >= 1 && k <= len(ws.Webhooks) {
				return ws.Webhooks[k-1].URL, nil
			}
		}
		return "", fmt.Errorf("${%s}: workspace %d has no %s", name, i, field)
	}
	return "", fmt.Errorf("${%s}: a workspace has no %q (use classic_bot_token, bot_token, user_token, bot_user, C<n>, U<n> or W<n>)", name, field)
}

// runner runs a script against the admin API at admin (ending in "/_admin/").
type runner struct {
	admin string
	hc    *http.Client
	log   *logrus.Entry
}

// run runs the steps in order until they end or ctx is done. A step the server refuses is logged
// and the script goes on.
func (r *runner) run(ctx context.Context, steps []step) {
	for _, st := range steps {
		for k := range st.repeat {
			wait := st.after
			if k > 0 {
				wait = st.every
			}
			if !sleep(ctx, wait) {
				return
			}
			log := r.log.WithFields(logrus.Fields{"step": st.n, "action": st.action})
			if st.repeat > 1 {
				log = log.WithField("round", k+1)
			}
			answer, err := r.do(ctx, st)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				log.WithError(err).Error("script step failed")
				continue
			}
			log.WithField("answer", redact.String(answer)).Info("script step done")
		}
	}
	r.log.Info("script finished")
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// do performs one step and returns the admin API's answer.
func (r *runner) do(ctx context.Context, st step) (string, error) {
	args := maps.Clone(st.args)
	if st.spec.perConn != "" {
		return r.perConnection(ctx, st.spec.perConn, args)
	}
	if st.action == "replay" {
		return r.replay(ctx, args)
	}
	method, path, body := http.MethodPost, st.spec.path, any(args)
	if st.action == "admin" {
		path = strings.TrimPrefix(args["path"].(string), "/")
		path = strings.TrimPrefix(path, "_admin/")
		if m, ok := args["method"].(string); ok {
			method = m
		}
		body = args["body"]
	} else {
		for _, name := range []string{"team", "app"} {
			if strings.Contains(path, "{"+name+"}") {
				path = strings.ReplaceAll(path, "{"+name+"}", url.PathEscape(fmt.Sprint(args[name])))
				delete(args, name)
			}
		}
		if st.spec.bodyArg != "" {
			body = args[st.spec.bodyArg]
		}
	}
	return r.call(ctx, method, path, body)
}

// perConnection applies a connection fault to the open connections of args["subject"] (all when
// absent), at most args["count"] of them.
func (r *runner) perConnection(ctx context.Context, op string, args map[string]any) (string, error) {
	subject, _ := args["subject"].(string)
	answer, err := r.call(ctx, http.MethodGet, "connections?subject="+url.QueryEscape(subject), nil)
	if err != nil {
		return "", err
	}
	var list struct {
		Connections []fakeslack.ConnInfo `json:"connections"`
	}
	if err := json.Unmarshal([]byte(answer), &list); err != nil {
		return "", fmt.Errorf("connections: %w", err)
	}
	limit := len(list.Connections)
	if c, ok := args["count"].(int); ok && c < limit {
		limit = c
	}
	var body any
	if op == "drop" {
		body = map[string]any{"clean": args["clean"] == true}
	}
	var done []string
	for _, c := range list.Connections[:limit] {
		if _, err := r.call(ctx, http.MethodPost, "connections/"+url.PathEscape(c.ID)+"/"+op, body); err != nil {
			return "", err
		}
		done = append(done, c.ID)
	}
	return fmt.Sprintf(`{"connections":%q}`, done), nil
}

// checkReplays makes each replay step's file relative to dir (the script's directory) unless it is
// absolute, and checks that it reads as a recording, so a bad one stops the command before it
// serves.
func checkReplays(steps []step, dir string) error {
	for i := range steps {
		if steps[i].action != "replay" {
			continue
		}
		name, ok := steps[i].args["file"].(string)
		if !ok || name == "" {
			return fmt.Errorf("step %d: replay: \"file\" must be a path", steps[i].n)
		}
		if !filepath.IsAbs(name) {
			name = filepath.Join(dir, name)
			steps[i].args["file"] = name
		}
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("step %d: replay: %w", steps[i].n, err)
		}
		_, err = fakeslack.ReadRecording(f)
		_ = f.Close()
		if err != nil {
			return fmt.Errorf("step %d: replay %s: %w", steps[i].n, name, err)
		}
	}
	return nil
}

// replay posts the recording in args["file"] (written by -record) to the replay route, which
// answers once it has played it; only ctx bounds the wait.
func (r *runner) replay(ctx context.Context, args map[string]any) (string, error) {
	name := fmt.Sprint(args["file"])
	data, err := os.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("replay: %w", err)
	}
	if _, err := fakeslack.ReadRecording(bytes.NewReader(data)); err != nil {
		return "", fmt.Errorf("replay %s: %w", name, err)
	}
	delete(args, "file")
	args["entries"] = string(data)
	for _, k := range []string{"conn_wait", "max_gap"} {
		if v, ok := args[k]; ok {
			d, err := durationArg(v)
			if err != nil {
				return "", fmt.Errorf("replay %s: %w", k, err)
			}
			args[k] = d.String()
		}
	}
	long := *r.hc
	long.Timeout = 0
	return (&runner{admin: r.admin, hc: &long, log: r.log}).call(ctx, http.MethodPost, "replay", args)
}

// call sends one admin request and returns the answer's body; a status other than 200 is an error.
func (r *runner) call(ctx context.Context, method, path string, body any) (string, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return "", fmt.Errorf("encode body: %w", err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.admin+path, rd)
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	answer := strings.TrimSpace(string(data))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s /_admin/%s: %s: %s", method, redact.String(path), resp.Status, redact.String(answer))
	}
	return answer, nil
}
