package fakeslack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/url"
)

// This file decodes the body of a webhook or response_url post (SLACK_PROTOCOL.md §6.1).

// hookBody is the message body of a webhook or response_url post (§6.1).
//
// It is not a slack.WebhookMessage, which would refuse or change bodies Slack accepts: booleans
// sent as "true" (flexBool), thread_ts as a number, blocks and attachments that slack.Blocks and
// slack.Attachment do not model (kept raw here, only counted), and it cannot tell an absent text
// from an empty one.
type hookBody struct {
	Text            *string         `json:"text"`
	Blocks          json.RawMessage `json:"blocks"`
	Attachments     json.RawMessage `json:"attachments"`
	ThreadTS        json.RawMessage `json:"thread_ts"`
	ResponseType    string          `json:"response_type"`
	ReplaceOriginal flexBool        `json:"replace_original"`
	DeleteOriginal  flexBool        `json:"delete_original"`
	UnfurlLinks     flexBool        `json:"unfurl_links"`
	UnfurlMedia     flexBool        `json:"unfurl_media"`
	Metadata        json.RawMessage `json:"metadata"`
}

// flexBool is a JSON boolean that may also be sent as the string "true" or "false", as Slack's
// documentation examples do.
type flexBool bool

// UnmarshalJSON accepts true, false, "true", "false", "" and null.
func (b *flexBool) UnmarshalJSON(data []byte) error {
	switch string(bytes.TrimSpace(data)) {
	case "true", `"true"`:
		*b = true
	case "false", `"false"`, `""`, "null":
		*b = false
	default:
		return fmt.Errorf("not a boolean: %s", data)
	}
	return nil
}

// decodeHookBody reads a JSON body, or a form body whose payload field holds the JSON.
func decodeHookBody(contentType string, raw []byte) (hookBody, bool) {
	var b hookBody
	if mt, _, _ := mime.ParseMediaType(contentType); mt == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(raw))
		if err != nil || !form.Has("payload") {
			return b, false
		}
		raw = []byte(form.Get("payload"))
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &b) != nil {
		return b, false
	}
	return b, true
}

// jsonArrayLen returns the length of a JSON array, 0 for absent or null, or ok false for anything else.
func jsonArrayLen(raw json.RawMessage) (int, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, true
	}
	var a []json.RawMessage
	if json.Unmarshal(raw, &a) != nil {
		return 0, false
	}
	return len(a), true
}

// threadTS reads thread_ts, sent as a string or a number.
func threadTS(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String(), true
	}
	return "", false
}
