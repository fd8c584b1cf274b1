package switchboard

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-go/switchboard/cluster/clusterpb"
	"github.com/switchboard-go/switchboard/internal/clusterlink"
	"github.com/switchboard-go/switchboard/internal/engine"
	"github.com/switchboard-go/switchboard/messages"
)

// RTM sends in a cluster: Send and Typing for a workspace whose socket runs on another member go
// to that member (cluster.SendRTM), which sends on its socket and answers with Slack's reply or
// the error, rebuilt here so that errors.Is and errors.As see what they would on that member.

// forwardRTM sends msg through the member that runs team's socket.
func (rt *Runtime) forwardRTM(ctx context.Context, team string, msg engine.RTMSend) (engine.RTMReply, error) {
	cs := rt.clu
	cs.mu.Lock()
	owner, desired := cs.owners[team]
	cs.mu.Unlock()
	switch {
	case !desired:
		return engine.RTMReply{}, fmt.Errorf("%w: %s", ErrUnknownWorkspace, team)
	case owner == "" || owner == cs.m.Self():
		return engine.RTMReply{}, fmt.Errorf("%w: %s (this member is connecting it)", ErrNotConnected, team)
	}
	r, err := cs.m.SendRTM(ctx, owner, &clusterpb.RTMSend{Team: team, Type: msg.Type, Channel: msg.Channel, Text: msg.Text, ThreadTs: msg.ThreadTS})
	switch {
	case errors.Is(err, clusterlink.ErrMemberUnreachable):
		return engine.RTMReply{}, fmt.Errorf("%w: %s: %w", ErrNotConnected, team, err)
	case err != nil:
		return engine.RTMReply{}, err
	}
	if err := rtmError(r); err != nil {
		return engine.RTMReply{}, err
	}
	return engine.RTMReply{ID: r.Id, TS: r.Ts, Text: r.Text}, nil
}

// SendRTM serves another member's send on this member's socket of msg.Team.
func (h keyHost) SendRTM(msg *clusterpb.RTMSend, answer func(*clusterpb.RTMSendReply)) {
	rt := h.rt
	if rt.env.Ctx.Err() != nil {
		answer(&clusterpb.RTMSendReply{Failure: clusterpb.SendFailure_SEND_FAILURE_NOT_CONNECTED, Error: "the member is stopping"})
		return
	}
	rt.wg.Add(1)
	go func() { // owner: the runtime; ends when the send is answered, at most when Stop ends rt.env.Ctx
		defer rt.wg.Done()
		ctx, cancel := context.WithTimeout(rt.env.Ctx, 30*time.Second)
		defer cancel()
		r, err := rt.rtmSendLocal(ctx, msg.Team, engine.RTMSend{Type: msg.Type, Channel: msg.Channel, Text: msg.Text, ThreadTS: msg.ThreadTs})
		answer(rtmReply(r, err))
	}()
}

// rtmReply encodes a local send's result.
func rtmReply(r engine.RTMReply, err error) *clusterpb.RTMSendReply {
	out := &clusterpb.RTMSendReply{Id: r.ID, Ts: r.TS, Text: r.Text}
	if err == nil {
		return out
	}
	out.Error = redactError(err).Error()
	var refused *messages.RTMReplyError
	var ended *messages.SessionEndedError
	switch {
	case errors.As(err, &refused):
		out.Failure, out.ReplyTo, out.SlackCode, out.SlackMsg = clusterpb.SendFailure_SEND_FAILURE_SLACK_REFUSED, refused.ID, int32(refused.Code), refused.Msg
	case errors.As(err, &ended):
		out.Failure, out.MaybeSent = clusterpb.SendFailure_SEND_FAILURE_SESSION_ENDED, ended.MaybeSent
	case errors.Is(err, ErrUnknownWorkspace):
		out.Failure = clusterpb.SendFailure_SEND_FAILURE_UNKNOWN_WORKSPACE
	case errors.Is(err, ErrNotConnected), errors.Is(err, ErrStopped):
		out.Failure = clusterpb.SendFailure_SEND_FAILURE_NOT_CONNECTED
	case errors.Is(err, messages.ErrSendQueueFull):
		out.Failure = clusterpb.SendFailure_SEND_FAILURE_QUEUE_FULL
	case errors.Is(err, messages.ErrTextTooLong):
		out.Failure = clusterpb.SendFailure_SEND_FAILURE_TEXT_TOO_LONG
	case errors.Is(err, messages.ErrFrameTooLarge):
		out.Failure = clusterpb.SendFailure_SEND_FAILURE_FRAME_TOO_LARGE
	default:
		out.Failure = clusterpb.SendFailure_SEND_FAILURE_OTHER
	}
	return out
}

// rtmError rebuilds the error of a forwarded send's reply; nil when it succeeded.
func rtmError(r *clusterpb.RTMSendReply) error {
	remote := fmt.Errorf("on the workspace's member: %s", r.Error)
	switch r.Failure {
	case clusterpb.SendFailure_SEND_FAILURE_NONE:
		return nil
	case clusterpb.SendFailure_SEND_FAILURE_SLACK_REFUSED:
		return &messages.RTMReplyError{ID: r.ReplyTo, Code: int(r.SlackCode), Msg: r.SlackMsg}
	case clusterpb.SendFailure_SEND_FAILURE_SESSION_ENDED:
		return &messages.SessionEndedError{MaybeSent: r.MaybeSent, Cause: remote}
	case clusterpb.SendFailure_SEND_FAILURE_UNKNOWN_WORKSPACE:
		return fmt.Errorf("%w: %w", ErrUnknownWorkspace, remote)
	case clusterpb.SendFailure_SEND_FAILURE_NOT_CONNECTED:
		return fmt.Errorf("%w: %w", ErrNotConnected, remote)
	case clusterpb.SendFailure_SEND_FAILURE_QUEUE_FULL:
		return fmt.Errorf("%w: %w", messages.ErrSendQueueFull, remote)
	case clusterpb.SendFailure_SEND_FAILURE_TEXT_TOO_LONG:
		return fmt.Errorf("%w: %w", messages.ErrTextTooLong, remote)
	case clusterpb.SendFailure_SEND_FAILURE_FRAME_TOO_LARGE:
		return fmt.Errorf("%w: %w", messages.ErrFrameTooLarge, remote)
	default:
		return remote
	}
}
