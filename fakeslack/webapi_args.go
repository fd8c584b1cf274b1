package fakeslack

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// This file holds how a Web API call's arguments and token are read, method by method, as Slack's
// documentation describes ("Using the Slack Web API", api.slack.com/web, and each method's page):
//
//   - Arguments come as GET query parameters, a POST body of application/x-www-form-urlencoded
//     (or multipart/form-data), or a mix of query and form. A POST with text/plain is read as a
//     form too: Slack lists it among the valid types of invalid_post_type but documents no more.
//   - application/json bodies are read only by the methods documented to take them
//     (auth.test, chat.postMessage, chat.update, chat.delete, chat.postEphemeral, reactions.add,
//     views.*, apps.connections.open, and methods added with HandleMethod). Other methods
//     (rtm.connect, rtm.start, conversations.*, users.info, users.list, oauth.v2.access) "do not
//     currently accept application/json": Slack ignores
//     such a body, so they see no arguments. A JSON POST with an empty body is a call without
//     arguments and every method accepts it (python-slack-sdk sends one for each call without
//     parameters). With JSON, query arguments are not read either ("do not mix arguments").
//   - The token comes from the Authorization: Bearer header; else, in a form body, from its token
//     field; never from a JSON attribute. A token in the query string is refused for apps created
//     after 2021-02-24 (Slack changelog 2020-11, "no more tokens in querystrings"); the
//     Options.QueryTokens switch accepts it on GET, as Slack still does for older apps. Which
//     error Slack gives is not documented: the token is not read, so not_authed.
//   - apps.connections.open takes the app-level token from the header only (a form field answers
//     invalid_auth, as captured in python-slack-sdk#1877) and only by POST (insecure_request,
//     from the method's error list).
//   - Charsets: utf-8 and iso-8859-1 are valid (invalid_charset lists them); any other is
//     invalid_charset. A JSON body without a charset gets the missing_charset warning; a form
//     body with one gets superfluous_charset (python-slack-sdk#692).
//   - A POST with a body but no Content-Type is missing_post_type; a type that is none of the
//     above is invalid_post_type. Argument names of PHP arrays (foo[0]) are invalid_array_arg,
//     names beyond letters, digits and "_" (or over 100 bytes) invalid_arg_name.
//   - Only /api/<method> is served (Options.BarePaths also serves /<method>, as the SDKs' own
//     mock servers do).

// maxArgBody bounds a Web API request body.
const maxArgBody = 1 << 20

// validCharset reports whether Slack accepts a Content-Type charset.
func validCharset(cs string) bool {
	switch strings.ToLower(strings.Trim(cs, `"`)) {
	case "utf-8", "utf8", "iso-8859-1":
		return true
	}
	return false
}

// readArgs fills req's arguments and token from r according to spec, and returns the warnings
// the call earns, or the refusal.
func (s *Server) readArgs(req *apiRequest, spec methodSpec, r *http.Request) ([]string, *apiError) {
	var warnings []string
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		req.Token = strings.TrimSpace(bearer)
	}
	if spec.postOnly && r.Method != http.MethodPost {
		return nil, apiErr("insecure_request")
	}
	body := []byte(nil)
	if r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, maxArgBody))
		if err != nil {
			return nil, apiErr("request_timeout")
		}
	}
	rawCT := r.Header.Get("Content-Type")
	ct, params, ctErr := mime.ParseMediaType(rawCT)
	cs, hasCharset := params["charset"]
	switch {
	case len(body) == 0 && rawCT == "":
		// a GET, or a POST with no body: query arguments only
	case rawCT == "":
		return nil, apiErr("missing_post_type")
	case ctErr != nil:
		return nil, apiErr("invalid_post_type")
	case hasCharset && !validCharset(cs):
		return nil, apiErr("invalid_charset")
	}

	switch {
	case ct == "application/json":
		if !hasCharset {
			warnings = append(warnings, "missing_charset")
		}
		req.form = url.Values{}
		req.json = map[string]json.RawMessage{}
		if !spec.json || len(strings.TrimSpace(string(body))) == 0 {
			break // not read by this method, or no arguments
		}
		if !json.Valid(body) {
			return warnings, apiErr("invalid_json")
		}
		if err := json.Unmarshal(body, &req.json); err != nil || req.json == nil {
			return warnings, apiErr("json_not_object")
		}
	case rawCT == "" || ct == "application/x-www-form-urlencoded" || ct == "text/plain" || ct == "multipart/form-data":
		if hasCharset {
			warnings = append(warnings, "superfluous_charset")
		}
		post, err := parseFormBody(ct, params, body)
		if err != nil {
			return warnings, apiErr("invalid_form_data")
		}
		query := r.URL.Query()
		req.form = url.Values{}
		for k, v := range query {
			req.form[k] = append(req.form[k], v...)
		}
		for k, v := range post {
			req.form[k] = append(v, req.form[k]...) // body values first, as net/http orders them
		}
		for k := range req.form {
			if e := checkArgName(k); e != nil {
				return warnings, e
			}
		}
		if req.Token == "" {
			if tok := post.Get("token"); tok != "" {
				if spec.bearerOnly {
					return warnings, apiErr("invalid_auth") // the app token must come as a Bearer header
				}
				req.Token = tok
			} else if tok := query.Get("token"); tok != "" && r.Method == http.MethodGet && s.opts.QueryTokens && !spec.bearerOnly {
				req.Token = tok
			}
		}
		delete(req.form, "token")
	default:
		return warnings, apiErr("invalid_post_type")
	}
	if req.Token == "" && !spec.noToken {
		return warnings, apiErr("not_authed")
	}
	return warnings, nil
}

// parseFormBody decodes a form body: URL-encoded (also for text/plain) or multipart.
func parseFormBody(ct string, params map[string]string, body []byte) (url.Values, error) {
	if ct == "multipart/form-data" {
		r := &http.Request{Method: http.MethodPost, Header: http.Header{
			"Content-Type": {mime.FormatMediaType(ct, params)},
		}, Body: io.NopCloser(strings.NewReader(string(body)))}
		if err := r.ParseMultipartForm(maxArgBody); err != nil {
			return nil, err
		}
		return url.Values(r.MultipartForm.Value), nil
	}
	return url.ParseQuery(string(body))
}

// checkArgName refuses PHP-style array names and names Slack calls indecent.
func checkArgName(k string) *apiError {
	if strings.ContainsAny(k, "[]") {
		return apiErr("invalid_array_arg")
	}
	if len(k) == 0 || len(k) > 100 {
		return apiErr("invalid_arg_name")
	}
	for _, c := range k {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return apiErr("invalid_arg_name")
		}
	}
	return nil
}

// withWarnings adds warnings to a successful answer: "warning" as a comma-separated list and
// response_metadata.warnings as an array, as Slack does.
func withWarnings(body map[string]any, warnings []string) {
	if len(warnings) == 0 {
		return
	}
	all := warnings
	if w, ok := body["warning"].(string); ok && w != "" {
		all = append(strings.Split(w, ","), warnings...)
	}
	body["warning"] = strings.Join(all, ",")
	md, _ := body["response_metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		body["response_metadata"] = md
	}
	var list []string
	switch w := md["warnings"].(type) {
	case []string:
		list = append(list, w...)
	}
	md["warnings"] = append(list, warnings...)
}
