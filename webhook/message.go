package webhook

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/slack-go/slack"
)

// Values of Message.ResponseType.
const (
	InChannel = "in_channel" // everyone in the channel sees the response
	Ephemeral = "ephemeral"  // only the user who interacted sees it (response_url's default)
)

// Message is the body of a webhook or response_url post. A zero or nil field is left out of the
// JSON body, so Slack applies its own default for it.
type Message struct {
	Text        string             // mrkdwn text; the notification fallback when Blocks are set
	Blocks      []slack.Block      // Block Kit blocks (slack.Blocks.BlockSet fits)
	Attachments []slack.Attachment // legacy attachments, at most 100
	ThreadTS    string             // post as a reply to the message with this ts
	// ResponseType is InChannel or Ephemeral; response_url only.
	ResponseType string
	// ReplaceOriginal replaces the message the interaction came from; response_url only. Nil
	// leaves it out; use Bool(false) to send an explicit false.
	ReplaceOriginal *bool
	// DeleteOriginal deletes the message the interaction came from; response_url only.
	DeleteOriginal bool
	// UnfurlLinks and UnfurlMedia turn link and media previews on or off; nil leaves Slack's default.
	UnfurlLinks *bool
	UnfurlMedia *bool
	// Metadata is message metadata (event_type and event_payload).
	Metadata *slack.SlackMetadata
	// Header holds extra HTTP headers for this post only, over the Client's default headers.
	Header http.Header
}

// Bool returns a pointer to v, for Message's optional booleans.
func Bool(v bool) *bool { return &v }

// wireMessage is Message as Slack reads it.
type wireMessage struct {
	Text            string               `json:"text,omitempty"`
	Blocks          []slack.Block        `json:"blocks,omitempty"`
	Attachments     []slack.Attachment   `json:"attachments,omitempty"`
	ThreadTS        string               `json:"thread_ts,omitempty"`
	ResponseType    string               `json:"response_type,omitempty"`
	ReplaceOriginal *bool                `json:"replace_original,omitempty"`
	DeleteOriginal  bool                 `json:"delete_original,omitempty"`
	UnfurlLinks     *bool                `json:"unfurl_links,omitempty"`
	UnfurlMedia     *bool                `json:"unfurl_media,omitempty"`
	Metadata        *slack.SlackMetadata `json:"metadata,omitempty"`
}

// MarshalJSON encodes the message as the JSON body Slack expects, without empty fields and
// without Header.
func (m Message) MarshalJSON() ([]byte, error) {
	return json.Marshal(wireMessage{
		Text: m.Text, Blocks: m.Blocks, Attachments: m.Attachments, ThreadTS: m.ThreadTS,
		ResponseType: m.ResponseType, ReplaceOriginal: m.ReplaceOriginal, DeleteOriginal: m.DeleteOriginal,
		UnfurlLinks: m.UnfurlLinks, UnfurlMedia: m.UnfurlMedia, Metadata: m.Metadata,
	})
}

// encodeBody turns a SendRaw body into bytes: []byte, json.RawMessage and string go verbatim,
// anything else through encoding/json.
func encodeBody(body any) ([]byte, error) {
	switch b := body.(type) {
	case nil:
		return nil, fmt.Errorf("webhook: nil body")
	case []byte:
		return b, nil
	case json.RawMessage:
		return b, nil
	case string:
		return []byte(b), nil
	default:
		data, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("webhook: encode body: %w", err)
		}
		return data, nil
	}
}
