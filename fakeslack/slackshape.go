package fakeslack

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// This file renders slack-go values as Slack sends them. Payloads and Web API objects are built as
// github.com/slack-go/slack types (slack.SlashCommand, slack.InteractionCallback, slack.View,
// slack.Channel, slack.User, …), so their field names are the ones Slack's Go clients read. Those
// types marshal every field they know, zero or not: an InteractionCallback of type shortcut marshals
// an empty channel, message, original_message, view and container, a slack.User marshals
// presence, locale and enterprise_user, a slack.View marshals ok, error and response_metadata. Slack
// sends only some of them, so each object is marshalled by slack-go and then cut down to the keys
// Slack sends (a shape, written next to the documented example it follows); the few values slack-go
// cannot express (null where it has a struct or a string, a string where it has a bool) are set on
// the result. None of these is on a hot path. The event streams stay hand-rendered, faster than
// slack-go's types by the benchmarks cited there: InjectMessages' template (appendMessageEvent) and
// the RTM message event (rtmMessageEvent).

// shape lists the keys of a JSON object that Slack sends. A key mapped to nil keeps its value whole;
// a key mapped to a shape keeps that shape of its value (an object, or each object of an array).
type shape map[string]shape

// project marshals v (a slack-go value) and returns its JSON object cut down to sh. Keys of sh that
// v's JSON lacks (omitempty fields left empty) stay absent. Numbers are kept as json.Number.
func project(v any, sh shape) (map[string]any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, err
	}
	if obj == nil {
		return nil, fmt.Errorf("%T does not encode as a JSON object", v)
	}
	return cut(obj, sh), nil
}

// cut keeps the keys of obj that sh lists, applying their shapes.
func cut(obj map[string]any, sh shape) map[string]any {
	out := make(map[string]any, len(sh))
	for k, sub := range sh {
		v, ok := obj[k]
		if !ok {
			continue
		}
		out[k] = cutValue(v, sub)
	}
	return out
}

// cutValue applies sh to an object, or to each object of an array; nil sh keeps v whole.
func cutValue(v any, sh shape) any {
	if sh == nil {
		return v
	}
	switch x := v.(type) {
	case map[string]any:
		return cut(x, sh)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cutValue(e, sh)
		}
		return out
	}
	return v
}

// keys is a shape keeping each of names whole.
func keys(names ...string) shape {
	sh := make(shape, len(names))
	for _, n := range names {
		sh[n] = nil
	}
	return sh
}

// with returns a copy of sh with more keys (and their shapes).
func (sh shape) with(more shape) shape {
	out := make(shape, len(sh)+len(more))
	for k, v := range sh {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}
