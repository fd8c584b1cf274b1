// Package clusterlink is the contract between the runtime and its cluster membership: the types
// of the shared table, placement, and the interfaces package cluster implements. It imports
// nothing heavy, so that the root package (and every bot built on it) does not carry
// protoactor's cluster, gRPC, etcd's client or the SQL drivers unless it joins a cluster: only a
// program that imports package cluster links them.
package clusterlink

import (
	"context"
	"errors"
	"hash/fnv"
	"time"

	"github.com/switchboard-go/switchboard/cluster/clusterpb"
)

// Link kinds in the desired set.
const (
	KindRTM        = "rtm"         // an RTM workspace: Name is the team ID
	KindSocketMode = "socket_mode" // one connection slot of a Socket Mode app: Name is "<app>/<slot>"
)

// LinkSpec is one link of the desired set: what any member needs to connect it.
type LinkSpec struct {
	Name  string // the link's name: a team ID, or "<app ID>/<slot>"
	Kind  string // KindRTM or KindSocketMode
	App   string // the app ID (Socket Mode)
	Slot  int    // the connection slot, 1 to 10 (Socket Mode)
	Token string // the workspace's bot token, or the app-level token
}

// Claim says that member runs link, and whether its socket is up.
type Claim struct {
	Link      string
	Member    string
	Connected bool
}

// SeenEvent is an Events API event some member handled (for dedupe across members).
type SeenEvent struct{ App, EventID string }

// Store is the table every member reads: the desired links, who runs which, who is leaving, and
// the events handled. Its methods are safe for concurrent use, from several processes.
type Store interface {
	PutLinks(ctx context.Context, links ...LinkSpec) error
	DeleteLinks(ctx context.Context, names ...string) error
	DeleteApp(ctx context.Context, app string) error
	Links(ctx context.Context) ([]LinkSpec, error)
	Claims(ctx context.Context) ([]Claim, error)
	SetClaims(ctx context.Context, member string, set map[string]bool, release []string) error
	ForgetMember(ctx context.Context, member string) error
	SetLeaving(ctx context.Context, member string) error
	Leaving(ctx context.Context) (map[string]bool, error)
	RecordSeen(ctx context.Context, member string, at int64, events ...SeenEvent) error
	ClaimSeen(ctx context.Context, member string, at int64, e SeenEvent) (string, error)
	PruneSeen(ctx context.Context, before int64) error
}

// KeyHost is a runtime's side of the key grains placed on its member.
type KeyHost interface {
	// Place queues ev for its key in the subscription ev names, on this member, and calls done
	// once, from any goroutine: with nil once the event sits in the key's queue (or, with acks
	// after handlers, once its handlers returned), or with why it cannot be.
	Place(ev *clusterpb.KeyedEvent, done func(error))
	// Idle calls answer once, from any goroutine, with whether the key of the subscription has
	// nothing queued or in a handler on this member.
	Idle(subscription, key string, answer func(idle bool))
}

// RTMHost is a runtime's side of the RTM sends other members forward to it.
type RTMHost interface {
	// SendRTM sends msg on this member's socket of msg.Team and calls answer once, from any
	// goroutine, with Slack's reply or why it failed. It must not block.
	SendRTM(msg *clusterpb.RTMSend, answer func(*clusterpb.RTMSendReply))
}

// ErrMemberUnreachable: the member that runs the workspace did not answer (gone, or not serving
// RTM sends); nothing was sent.
var ErrMemberUnreachable = errors.New("cluster: the workspace's member did not answer")

// Member is this process's seat in the cluster, as the runtime uses it.
type Member interface {
	// Self is this member's name; Members the live members' names, sorted; Changed receives a
	// value after the list changed.
	Self() string
	Members() []string
	Changed() <-chan struct{}
	// Refresh is how often membership is polled and links reconciled.
	Refresh() time.Duration
	// Store is the shared table.
	Store() Store
	// ServeKeys and ServeRTM make the runtime the host of the key grains placed here and of the
	// RTM sends other members forward here.
	ServeKeys(KeyHost)
	ServeRTM(RTMHost)
	// SendKeyed sends a clustered subscription's event to its key's grain and returns once the
	// grain's member took it (or ctx ends).
	SendKeyed(ctx context.Context, ev *clusterpb.KeyedEvent) error
	// SendRTM asks member to send on its socket of msg.Team.
	SendRTM(ctx context.Context, member string, msg *clusterpb.RTMSend) (*clusterpb.RTMSendReply, error)
	// RemoteDropped counts the messages from other processes dropped as unreadable.
	RemoteDropped() int64
	// Leave leaves the cluster. Safe to repeat.
	Leave()
}

// Owner returns the member that owns link among members, by rendezvous (highest random weight)
// hashing: every member computes the same owner from the same list, links spread evenly, and a
// member joining or leaving moves only the links it takes or had. It returns "" for no members.
func Owner(link string, members []string) string {
	var best string
	var bestW uint64
	for _, m := range members {
		h := fnv.New64a()
		h.Write([]byte(m))
		h.Write([]byte{0})
		h.Write([]byte(link))
		w := mix(h.Sum64())
		if best == "" || w > bestW || (w == bestW && m < best) {
			best, bestW = m, w
		}
	}
	return best
}

// mix is splitmix64's finalizer: FNV alone spreads similar keys poorly.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
