package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/automanaged"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/etcd"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/eventstream"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/sirupsen/logrus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/switchboard-go/switchboard/internal/clusterlink"
	"github.com/switchboard-go/switchboard/internal/logbridge"
)

// Config joins a runtime to a cluster. Zero fields take the defaults named on each.
type Config struct {
	// Name is the cluster's name; members of other names are ignored. Default "switchboard".
	Name string
	// Host is the address this member's protoactor remote listens on and is known by. Default
	// "127.0.0.1".
	Host string
	// Port is the protoactor remote port; with Host it names the member ("127.0.0.1:7001").
	// Required.
	Port int
	// HealthPort is the automanaged provider's HTTP port, which the other members poll. Required.
	HealthPort int
	// Peers are the automanaged provider's addresses ("host:healthport") of every member, this
	// one's included.
	Peers []string
	// Etcd, when set, takes membership from etcd at these endpoints ("127.0.0.1:2379") instead of
	// the automanaged provider (HealthPort and Peers are then unused): protoactor-go's etcd
	// provider, each member a key under /switchboard/<Name> with a 3s lease, so a member killed
	// drops out within about 3s.
	Etcd []string
	// Store is the shared table of desired links and claims. Required.
	Store *Store
	// Refresh is how often membership is polled and links are reconciled. Default 250ms.
	Refresh time.Duration
	// Log receives protoactor's cluster logs, at Warn and above (its routine errors, a peer down or
	// a connection closing, lowered to Debug). Default: the runtime's logger.
	Log *logrus.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.Name == "" {
		c.Name = "switchboard"
	}
	if c.Host == "" {
		c.Host = "127.0.0.1"
	}
	if c.Refresh == 0 {
		c.Refresh = 250 * time.Millisecond
	}
	switch {
	case c.Port <= 0:
		return c, errors.New("cluster: Port is required")
	case c.Store == nil:
		return c, errors.New("cluster: Store is required")
	case len(c.Etcd) == 0 && c.HealthPort <= 0:
		return c, errors.New("cluster: HealthPort is required (or Etcd)")
	case len(c.Etcd) == 0 && len(c.Peers) == 0:
		return c, errors.New("cluster: Peers must list every member's host:healthport (or set Etcd)")
	case c.Refresh < 0:
		return c, fmt.Errorf("cluster: refresh %v must be positive", c.Refresh)
	}
	if c.Log == nil {
		c.Log = logrus.New()
		c.Log.SetLevel(logrus.PanicLevel)
	}
	return c, nil
}

// Membership is this process's seat in the protoactor cluster and its view of the members.
type Membership struct {
	cfg     Config
	self    string
	system  *actor.ActorSystem
	cluster *pcluster.Cluster
	changed chan struct{}

	guard   *remoteGuard
	host    atomic.Pointer[KeyHost] // ServeKeys
	rtmHost atomic.Pointer[RTMHost] // ServeRTM
	origin  string                  // this run's name, for SendKeyed's seqs
	seq     atomic.Uint64

	mu      sync.Mutex
	members []string
	sub     *eventstream.Subscription
	closed  bool
}

// Join starts a protoactor actor system with remote and cluster (automanaged provider, disthash
// identity lookup) and returns once this member sees itself in the member list, or ctx ends.
func Join(ctx context.Context, cfg Config) (*Membership, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	log := cfg.Log
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(levelled{logbridge.New(log, slog.LevelWarn)})
	}))
	var provider pcluster.ClusterProvider = automanaged.NewWithConfig(cfg.Refresh, cfg.HealthPort, cfg.Peers...)
	if len(cfg.Etcd) > 0 {
		provider = &lazyEtcd{endpoints: cfg.Etcd}
	}
	self := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	m := &Membership{cfg: cfg, self: self, system: system, changed: make(chan struct{}, 1),
		guard: &remoteGuard{log: log}, origin: incarnation(self)}
	rc := remote.Configure(cfg.Host, cfg.Port, remote.WithServerOptions(m.guard.serverOption()))
	grain := actor.PropsFromProducer(func() actor.Actor { return &keyGrain{m: m} })
	cc := pcluster.Configure(cfg.Name, provider, disthash.New(), rc, pcluster.WithKinds(pcluster.NewKind(KeyKind, grain)))
	c := pcluster.New(system, cc)
	m.cluster = c
	m.sub = system.EventStream.Subscribe(func(ev any) {
		if t, ok := ev.(*pcluster.ClusterTopology); ok {
			m.setMembers(t.Members)
		}
	})
	if err := startMember(c); err != nil {
		system.EventStream.Unsubscribe(m.sub)
		return nil, err
	}
	if _, err := system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return &keys{m: m} }), keysActor); err != nil {
		m.Leave()
		return nil, fmt.Errorf("cluster: join: %w", err)
	}
	if _, err := system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return &rtmSends{m: m} }), rtmActor); err != nil {
		m.Leave()
		return nil, fmt.Errorf("cluster: join: %w", err)
	}
	for {
		if m.has(m.self) {
			return m, nil
		}
		select {
		case <-ctx.Done():
			m.Leave()
			return nil, fmt.Errorf("cluster: join: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// startMember starts c, whose provider panics when it fails (an etcd out of reach).
func startMember(c *pcluster.Cluster) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cluster: join: %v", r)
		}
	}()
	c.StartMember()
	return nil
}

// lazyEtcd makes protoactor's etcd provider only when the member starts, after protoactor's
// remote has set grpc's global logger: an etcd client made before it has grpc goroutines reading
// that logger while it is written (a data race).
type lazyEtcd struct {
	endpoints []string
	p         *etcd.Provider
}

func (l *lazyEtcd) StartMember(c *pcluster.Cluster) error {
	p, err := etcd.NewWithConfig("/switchboard", clientv3.Config{Endpoints: l.endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		return fmt.Errorf("cluster: etcd: %w", err)
	}
	l.p = p
	return p.StartMember(c)
}

func (l *lazyEtcd) StartClient(c *pcluster.Cluster) error {
	return errors.New("cluster: a member never starts as a client")
}

func (l *lazyEtcd) Shutdown(graceful bool) error {
	if l.p == nil {
		return nil
	}
	return l.p.Shutdown(graceful)
}

func (m *Membership) setMembers(ms []*pcluster.Member) {
	out := make([]string, 0, len(ms))
	for _, x := range ms {
		out = append(out, x.Address())
	}
	sort.Strings(out)
	m.mu.Lock()
	m.members = out
	m.mu.Unlock()
	select {
	case m.changed <- struct{}{}:
	default:
	}
}

func (m *Membership) has(member string) bool {
	for _, x := range m.Members() {
		if x == member {
			return true
		}
	}
	return false
}

// JoinRuntime joins the cluster of c for a runtime (switchboard.WithCluster takes a Config for
// it): as Join, with log for a Config that names no Log.
func (c Config) JoinRuntime(ctx context.Context, log *logrus.Logger) (clusterlink.Member, error) {
	if c.Log == nil {
		c.Log = log
	}
	m, err := Join(ctx, c)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Refresh is how often membership is polled and links are reconciled.
func (m *Membership) Refresh() time.Duration { return m.cfg.Refresh }

// Store is the shared table the member joined with.
func (m *Membership) Store() clusterlink.Store { return m.cfg.Store }

// Self is this member's name: its remote host:port.
func (m *Membership) Self() string { return m.self }

// Config returns the configuration the member joined with, defaults applied.
func (m *Membership) Config() Config { return m.cfg }

// Members returns the live members' names, sorted.
func (m *Membership) Members() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.members...)
}

// RemoteDropped counts the messages from other processes this member dropped because it cannot
// read them (an unknown message type, indexes out of range): see the log for each.
func (m *Membership) RemoteDropped() int64 { return m.guard.dropped.Load() }

// Changed receives a value after the member list changed.
func (m *Membership) Changed() <-chan struct{} { return m.changed }

// Leave leaves the cluster: the others stop seeing this member within a refresh. Safe to repeat.
func (m *Membership) Leave() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	m.mu.Unlock()
	m.cluster.Shutdown(true)
}
