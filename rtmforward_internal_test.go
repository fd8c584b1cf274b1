package switchboard

import (
	"errors"
	"fmt"
	"testing"

	"github.com/switchboard-go/switchboard/internal/engine"
	"github.com/switchboard-go/switchboard/messages"
)

// A send forwarded to the workspace's member fails with what errors.Is and errors.As would see
// there: each failure crosses the wire as its kind and comes back as the same sentinel or type.
func TestForwardedSendErrors(t *testing.T) {
	for _, tt := range []struct {
		err   error
		check func(error) bool
	}{
		{fmt.Errorf("%w: T1", ErrUnknownWorkspace), func(e error) bool { return errors.Is(e, ErrUnknownWorkspace) }},
		{fmt.Errorf("%w: T1", ErrNotConnected), func(e error) bool { return errors.Is(e, ErrNotConnected) }},
		{ErrStopped, func(e error) bool { return errors.Is(e, ErrNotConnected) }},
		{messages.ErrSendQueueFull, func(e error) bool { return errors.Is(e, messages.ErrSendQueueFull) }},
		{messages.ErrTextTooLong, func(e error) bool { return errors.Is(e, messages.ErrTextTooLong) }},
		{messages.ErrFrameTooLarge, func(e error) bool { return errors.Is(e, messages.ErrFrameTooLarge) }},
		{&messages.SessionEndedError{MaybeSent: true}, func(e error) bool {
			var s *messages.SessionEndedError
			return errors.As(e, &s) && s.MaybeSent && errors.Is(e, messages.ErrSessionEnded)
		}},
		{&messages.RTMReplyError{ID: 7, Code: -1, Msg: "slow down"}, func(e error) bool {
			var r *messages.RTMReplyError
			return errors.As(e, &r) && r.ID == 7 && r.Msg == "slow down" && errors.Is(e, messages.ErrSlowDown)
		}},
		{errors.New("xoxb-1234-secret went wrong"), func(e error) bool { return e != nil }},
	} {
		got := rtmError(rtmReply(engine.RTMReply{}, tt.err))
		if !tt.check(got) {
			t.Errorf("%v came back as %v", tt.err, got)
		}
	}
	if err := rtmError(rtmReply(engine.RTMReply{ID: 3, TS: "1.2"}, nil)); err != nil {
		t.Errorf("a success came back as %v", err)
	}
	if r := rtmReply(engine.RTMReply{}, errors.New("token xoxb-1234-5678-abcdefabcdef leaked")); r.Error == "" || containsToken(r.Error) {
		t.Errorf("the wire carries %q: not redacted", r.Error)
	}
}

func containsToken(s string) bool {
	for i := 0; i+5 <= len(s); i++ {
		if s[i:i+5] == "xoxb-" && i+6 < len(s) && s[i+5] >= '0' && s[i+5] <= '9' {
			return true
		}
	}
	return false
}
