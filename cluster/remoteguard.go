package cluster

import (
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/remote"
	"github.com/sirupsen/logrus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Serializer IDs of protoactor's remote: the ones it registers, in its order.
const (
	protoSerializer int32 = 0
	jsonSerializer  int32 = 1
)

// remoteGuard stands between protoactor's remote and the messages other processes send this
// member. protoactor's endpoint reader panics (and a panic in a gRPC handler ends the process) on
// a message type this process does not know, a serializer ID or a type, target or sender index
// out of its batch's range: a member of a newer version, or any program that reaches the port,
// could end every member. The guard drops each such envelope before the reader sees it, logged
// and counted, and keeps the stream and the rest of its batch; a panic that still happens in the
// reader ends that stream with an error instead of the process.
type remoteGuard struct {
	log     *logrus.Logger
	dropped atomic.Int64
	logged  atomic.Int64 // unix nanos of the last drop logged: at most one line a second
}

func (g *remoteGuard) serverOption() grpc.ServerOption {
	return grpc.ChainStreamInterceptor(g.intercept)
}

func (g *remoteGuard) intercept(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			g.log.WithField("method", info.FullMethod).Errorf("cluster: a remote message panicked protoactor's reader, stream closed: %v\n%s", r, debug.Stack())
			err = status.Errorf(codes.Internal, "switchboard: message refused: %v", r)
		}
	}()
	return handler(srv, &guardedStream{ServerStream: ss, g: g})
}

type guardedStream struct {
	grpc.ServerStream
	g *remoteGuard
}

func (s *guardedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if rm, ok := m.(*remote.RemoteMessage); ok {
		if b := rm.GetMessageBatch(); b != nil {
			s.g.filter(b)
		}
	}
	return nil
}

// filter removes from b every envelope protoactor's reader cannot take without panicking.
func (g *remoteGuard) filter(b *remote.MessageBatch) {
	kept := b.Envelopes[:0]
	for _, e := range b.Envelopes {
		if why := g.check(b, e); why != "" {
			g.drop(why)
			continue
		}
		kept = append(kept, e)
	}
	clear(b.Envelopes[len(kept):])
	b.Envelopes = kept
}

// check returns why e cannot be read, or "".
func (g *remoteGuard) check(b *remote.MessageBatch, e *remote.MessageEnvelope) string {
	switch {
	case e == nil:
		return "an empty envelope"
	case e.TypeId < 0 || int(e.TypeId) >= len(b.TypeNames):
		return fmt.Sprintf("type index %d of %d", e.TypeId, len(b.TypeNames))
	case e.SerializerId != protoSerializer && e.SerializerId != jsonSerializer:
		return fmt.Sprintf("serializer %d", e.SerializerId)
	case e.Target < 0 || int(e.Target) >= len(b.Targets) || b.Targets[e.Target] == nil:
		return fmt.Sprintf("target index %d of %d", e.Target, len(b.Targets))
	case e.Sender < 0 || int(e.Sender) > len(b.Senders) || (e.Sender > 0 && b.Senders[e.Sender-1] == nil):
		return fmt.Sprintf("sender index %d of %d", e.Sender, len(b.Senders))
	}
	if e.SerializerId == protoSerializer {
		name := b.TypeNames[e.TypeId]
		if _, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(name)); err != nil {
			return fmt.Sprintf("unknown message type %q", name)
		}
	}
	return ""
}

func (g *remoteGuard) drop(why string) {
	n := g.dropped.Add(1)
	now := time.Now().UnixNano()
	last := g.logged.Load()
	if now-last >= int64(time.Second) && g.logged.CompareAndSwap(last, now) {
		g.log.WithField("dropped_total", n).Errorf("cluster: dropped a remote message this member cannot read (%s); a member of another version, or not a member, sent it", why)
	}
}
