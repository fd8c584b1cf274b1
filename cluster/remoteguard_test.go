package cluster

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/sirupsen/logrus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/switchboard-go/switchboard/cluster/clusterpb"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// joinAlone joins a one-member cluster on loopback.
func joinAlone(t *testing.T) *Membership {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	hp := freePort(t)
	log := logrus.New()
	log.SetLevel(logrus.ErrorLevel)
	m, err := Join(ctx, Config{Port: freePort(t), HealthPort: hp, Peers: []string{"127.0.0.1:" + strconv.Itoa(hp)}, Store: store, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Leave)
	return m
}

// A process that reaches a member's remote port and sends messages the member cannot read (a type
// it does not know, indexes out of its batch) does not end the member: protoactor's reader would
// panic on each of them. They are dropped and counted; the stream stays up and the batch's good
// message still arrives.
func TestUnreadableRemoteMessagesAreDropped(t *testing.T) {
	m := joinAlone(t)
	got := make(chan string, 4)
	probe, err := m.system.Root.SpawnNamed(actor.PropsFromFunc(func(c actor.Context) {
		if q, ok := c.Message().(*clusterpb.KeyIdle); ok {
			got <- q.Key
		}
	}), "probe")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.Dial(m.Self(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	stream, err := remote.NewRemotingClient(conn).Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	connect := &remote.RemoteMessage{MessageType: &remote.RemoteMessage_ConnectRequest{ConnectRequest: &remote.ConnectRequest{
		ConnectionType: &remote.ConnectRequest_ServerConnection{ServerConnection: &remote.ServerConnection{SystemId: "not-a-member", Address: "127.0.0.1:1"}}}}}
	if err := stream.Send(connect); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil { // the ConnectResponse
		t.Fatal(err)
	}
	good := func(key string) []byte {
		b, err := proto.Marshal(&clusterpb.KeyIdle{Subscription: "s", Key: key})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	batch := &remote.MessageBatch{
		TypeNames: []string{"evil.v9.Unknown", string(proto.MessageName(&clusterpb.KeyIdle{}))},
		Targets:   []*actor.PID{probe},
		Envelopes: []*remote.MessageEnvelope{
			{TypeId: 0, MessageData: []byte{10, 1, 'x'}, Target: 0},         // a type this process does not know
			{TypeId: 7, MessageData: good("a"), Target: 0},                  // type index out of range
			{TypeId: 1, MessageData: good("b"), Target: 5},                  // target index out of range
			{TypeId: 1, MessageData: good("c"), Target: 0, Sender: 3},       // sender index out of range
			{TypeId: 1, MessageData: good("d"), Target: 0, SerializerId: 9}, // no such serializer
			{TypeId: -1, MessageData: good("e"), Target: 0},                 // negative index
			{TypeId: 1, MessageData: good("after"), Target: 0},              // readable
		},
	}
	if err := stream.Send(&remote.RemoteMessage{MessageType: &remote.RemoteMessage_MessageBatch{MessageBatch: batch}}); err != nil {
		t.Fatal(err)
	}
	select {
	case k := <-got:
		if k != "after" {
			t.Fatalf("the probe got key %q, want only the readable message's", k)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the readable message never arrived")
	}
	if n := m.RemoteDropped(); n != 6 {
		t.Errorf("RemoteDropped = %d, want 6", n)
	}
	// The member still serves: a second batch on the same stream arrives too.
	batch.Envelopes = []*remote.MessageEnvelope{{TypeId: 1, MessageData: good("again"), Target: 0}}
	if err := stream.Send(&remote.RemoteMessage{MessageType: &remote.RemoteMessage_MessageBatch{MessageBatch: batch}}); err != nil {
		t.Fatal(err)
	}
	select {
	case k := <-got:
		if k != "again" {
			t.Fatalf("got %q", k)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not survive the unreadable messages")
	}
}
