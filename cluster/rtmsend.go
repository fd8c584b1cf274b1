package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/switchboard-go/switchboard/cluster/clusterpb"
	"github.com/switchboard-go/switchboard/internal/clusterlink"
)

// RTM sends across members: a workspace's RTM socket runs on one member, and Runtime.Send on any
// other asks that member's rtm actor (RTMSend) to send on it.

// rtmActor is the name of each member's actor that answers RTMSend.
const rtmActor = "switchboard-rtm"

// defaultRTMTimeout bounds a forwarded send whose context has no deadline.
const defaultRTMTimeout = 30 * time.Second

// ErrMemberUnreachable: the member that runs the workspace did not answer (gone, or not serving
// RTM sends); nothing was sent.
var ErrMemberUnreachable = clusterlink.ErrMemberUnreachable

// RTMHost is a runtime's side of the RTM sends other members forward to it: SendRTM sends on this
// member's socket and calls answer once, without blocking its caller.
type RTMHost = clusterlink.RTMHost

// ServeRTM makes h the host of the RTM sends other members forward here. Until it is called they
// fail with SEND_FAILURE_NOT_CONNECTED.
func (m *Membership) ServeRTM(h RTMHost) { m.rtmHost.Store(&h) }

// SendRTM asks member to send msg on its socket of msg.Team and returns its answer, or
// ErrMemberUnreachable (nothing sent), or ctx's error (the send may have gone: its answer is lost).
func (m *Membership) SendRTM(ctx context.Context, member string, msg *clusterpb.RTMSend) (*clusterpb.RTMSendReply, error) {
	timeout := defaultRTMTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	if timeout <= 0 {
		return nil, ctx.Err()
	}
	f := m.system.Root.RequestFuture(actor.NewPID(member, rtmActor), msg, timeout)
	type result struct {
		v   any
		err error
	}
	out := make(chan result, 1)
	go func() { // owner: SendRTM; ends when the future completes, at the latest at its timeout
		v, err := f.Result()
		out <- result{v, err}
	}()
	select {
	case r := <-out:
		if reply, ok := r.v.(*clusterpb.RTMSendReply); ok {
			return reply, nil
		}
		if errors.Is(r.err, actor.ErrTimeout) && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrMemberUnreachable, member, r.err)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// rtmSends answers RTMSend for this member.
type rtmSends struct{ m *Membership }

func (a *rtmSends) Receive(ctx actor.Context) {
	msg, ok := ctx.Message().(*clusterpb.RTMSend)
	if !ok {
		return
	}
	sender := ctx.Sender()
	if sender == nil {
		return
	}
	hp := a.m.rtmHost.Load()
	if hp == nil {
		ctx.Respond(&clusterpb.RTMSendReply{Failure: clusterpb.SendFailure_SEND_FAILURE_NOT_CONNECTED, Error: "the member serves no RTM sends"})
		return
	}
	root := ctx.ActorSystem().Root
	(*hp).SendRTM(msg, func(r *clusterpb.RTMSendReply) { root.Send(sender, r) })
}
