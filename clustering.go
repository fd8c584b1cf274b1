package switchboard

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-go/switchboard/internal/clusterlink"
	"github.com/switchboard-go/switchboard/internal/engine"
	"github.com/switchboard-go/switchboard/messages"
)

// handoverLimit bounds how long a Socket Mode slot that moved away keeps running while its new
// owner has not connected it (make before break, but never forever).
const handoverLimit = 15 * time.Second

// clusterState is a clustered runtime's side: the links this member runs, and what it was told
// locally about them.
type clusterState struct {
	m      clusterlink.Member
	store  clusterlink.Store
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	mu         sync.Mutex
	leaving    bool
	running    map[string]clusterlink.LinkSpec // links this member runs, by name
	claimed    map[string]bool                 // what the store says of them: connected
	movedAt    map[string]time.Time            // Socket Mode slots running here that another member owns
	apps       map[string]App                  // AddApp's here, for their Installations
	clients    map[string]engine.ClientSource
	workspaces map[string]Workspace  // AddWorkspace's here, for their settings
	owners     map[string]string     // every desired link → its owner, as of the last pass
	rtmTokens  map[string]string     // every desired RTM link's token, by team, as of the last pass
	rtmClients map[string]rtmClients // client sources of the RTM workspaces whose keys ran here, by team

	keysLeaving atomic.Bool // the key grains here take no more events: the member is leaving

	seen    chan clusterlink.SeenEvent // first deliveries handled here (once per handler), for the recorder to write
	dropped atomic.Int64               // redeliveries dropped: another member handled them
}

// seenRetention is how long events handled are remembered across members: Slack redelivers for
// about 5 minutes at most.
const seenRetention = 10 * time.Minute

// joinCluster joins the cluster of cfg and starts reconciling.
func (rt *Runtime) joinCluster(cfg ClusterConfig) error {
	ctx, cancel := context.WithTimeout(rt.env.Ctx, 30*time.Second)
	defer cancel()
	m, err := cfg.JoinRuntime(ctx, rt.cfg.log)
	if err != nil {
		return fmt.Errorf("switchboard: %w", err)
	}
	cs := &clusterState{m: m, store: m.Store(), done: make(chan struct{}),
		running: map[string]clusterlink.LinkSpec{}, claimed: map[string]bool{}, movedAt: map[string]time.Time{},
		apps: map[string]App{}, clients: map[string]engine.ClientSource{}, workspaces: map[string]Workspace{},
		rtmClients: map[string]rtmClients{},
		seen:       make(chan clusterlink.SeenEvent, 4096)}
	if err := cs.store.ForgetMember(ctx, m.Self()); err != nil { // a restarted member runs nothing yet
		m.Leave()
		return fmt.Errorf("switchboard: %w", err)
	}
	rctx, rcancel := context.WithCancel(rt.env.Ctx)
	cs.cancel = rcancel
	rt.clu = cs
	m.ServeKeys(keyHost{rt})
	m.ServeRTM(keyHost{rt})
	if err := rt.Use(cs.dedupe); err != nil {
		return err
	}
	rt.wg.Add(1)
	go func() { // owner: the runtime; ends with its context
		defer rt.wg.Done()
		cs.recordSeen(rt.env.Ctx)
	}()
	go rt.reconcileLoop(rctx, cs) // owner: the runtime; ends when handover or Stop cancels rctx
	return nil
}

// Member returns this runtime's cluster member name ("host:port"), or "" without WithCluster.
func (rt *Runtime) Member() string {
	if rt.clu == nil {
		return ""
	}
	return rt.clu.m.Self()
}

// Owners returns every link of the cluster's desired set with its owner member, as this member
// last computed it; nil without WithCluster.
func (rt *Runtime) Owners() map[string]string {
	if rt.clu == nil {
		return nil
	}
	rt.clu.mu.Lock()
	defer rt.clu.mu.Unlock()
	out := make(map[string]string, len(rt.clu.owners))
	for k, v := range rt.clu.owners {
		out[k] = v
	}
	return out
}

// dedupe is the cluster's dedupe across members, the first global middleware: a redelivery
// (retry_attempt > 0) of an Events API event that another member already handled is dropped (it
// waits on one store round trip); a first delivery is only queued for the recorder, off the
// event's path. Same-member duplicates are the dispatcher's (WithDedupeWindow), before this.
func (cs *clusterState) dedupe(next Handler) Handler {
	return func(ctx context.Context, ev *Event) error {
		if ev.EventID == "" || ev.Link.App == "" || hostedChain(ctx) {
			return next(ctx, ev) // a clustered subscription's key: its member dedupes its events (DispatchHosted)
		}
		e := clusterlink.SeenEvent{App: ev.Link.App, EventID: ev.EventID}
		if ev.RetryAttempt == 0 {
			select {
			case cs.seen <- e:
			default: // the recorder is behind: this event is not deduped across members
			}
			return next(ctx, ev)
		}
		first, err := cs.store.ClaimSeen(ctx, cs.m.Self(), time.Now().Unix(), e)
		if err == nil && first != cs.m.Self() {
			cs.dropped.Add(1)
			return nil
		}
		return next(ctx, ev) // a store error lets the event through: a duplicate beats a loss
	}
}

// recordSeen writes the first deliveries handled here, in batches every 100ms, and forgets the
// old ones once a minute.
func (cs *clusterState) recordSeen(ctx context.Context) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	lastPrune := time.Now()
	var batch []clusterlink.SeenEvent
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-cs.seen:
			batch = append(batch, e)
			continue
		case <-tick.C:
		}
		if len(batch) > 0 {
			if err := cs.store.RecordSeen(ctx, cs.m.Self(), time.Now().Unix(), batch...); err == nil || len(batch) > 1<<16 {
				batch = batch[:0] // on errors, kept for the next tick up to a bound
			}
		}
		if time.Since(lastPrune) > time.Minute {
			lastPrune = time.Now()
			cs.store.PruneSeen(ctx, time.Now().Add(-seenRetention).Unix())
		}
	}
}

func (rt *Runtime) clusterAddApp(ctx context.Context, app App) error {
	app, err := socketModeApp(app)
	if err != nil {
		return err
	}
	cs := rt.clu
	cs.mu.Lock()
	cs.apps[app.ID] = app
	if _, ok := cs.clients[app.ID]; !ok {
		cs.clients[app.ID] = rt.clientSource(app.Installations)
	}
	cs.mu.Unlock()
	links := make([]clusterlink.LinkSpec, 0, app.Connections)
	for i := 1; i <= app.Connections; i++ {
		links = append(links, clusterlink.LinkSpec{Name: fmt.Sprintf("%s/%d", app.ID, i), Kind: clusterlink.KindSocketMode, App: app.ID, Slot: i, Token: app.Token})
	}
	if err := cs.store.PutLinks(ctx, links...); err != nil {
		return fmt.Errorf("switchboard: %w", err)
	}
	return rt.watchUninstalls(app)
}

func (rt *Runtime) clusterRemoveApp(ctx context.Context, id string) error {
	if err := rt.clu.store.DeleteApp(ctx, id); err != nil {
		return fmt.Errorf("switchboard: %w", err)
	}
	rt.mu.Lock()
	_, watched := rt.subNames[uninstallSub(id)]
	rt.mu.Unlock()
	if watched {
		return rt.Unsubscribe(ctx, uninstallSub(id))
	}
	return nil
}

func (rt *Runtime) clusterAddWorkspace(ctx context.Context, ws Workspace) error {
	if _, err := rt.rtmSpec(ws); err != nil {
		return err
	}
	rt.clu.mu.Lock()
	rt.clu.workspaces[ws.Team] = ws
	rt.clu.mu.Unlock()
	if err := rt.clu.store.PutLinks(ctx, clusterlink.LinkSpec{Name: ws.Team, Kind: clusterlink.KindRTM, Token: ws.Token}); err != nil {
		return fmt.Errorf("switchboard: %w", err)
	}
	return nil
}

func (rt *Runtime) clusterRemoveWorkspace(ctx context.Context, team string) error {
	if err := rt.clu.store.DeleteLinks(ctx, team); err != nil {
		return fmt.Errorf("switchboard: %w", err)
	}
	return nil
}

func (rt *Runtime) reconcileLoop(ctx context.Context, cs *clusterState) {
	defer close(cs.done)
	tick := time.NewTicker(cs.m.Refresh())
	defer tick.Stop()
	for {
		if err := rt.reconcile(ctx, cs); err != nil && ctx.Err() == nil {
			rt.log.WithError(err).Warn("cluster: reconcile")
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-cs.m.Changed():
		}
	}
}

// reconcile is one pass: start the links placed here, stop those placed elsewhere (RTM at once,
// Socket Mode once the new owner is connected), and record what runs here in the store.
func (rt *Runtime) reconcile(ctx context.Context, cs *clusterState) error {
	links, err := cs.store.Links(ctx)
	if err != nil {
		return err
	}
	claims, err := cs.store.Claims(ctx)
	if err != nil {
		return err
	}
	leaving, err := cs.store.Leaving(ctx)
	if err != nil {
		return err
	}
	self := cs.m.Self()
	members := cs.m.Members()
	alive := map[string]bool{}
	var eligible []string
	cs.mu.Lock()
	selfLeaving := cs.leaving
	cs.mu.Unlock()
	for _, m := range members {
		alive[m] = true
		if !leaving[m] && !(m == self && selfLeaving) {
			eligible = append(eligible, m)
		}
	}
	claimsOf := map[string][]clusterlink.Claim{}
	for _, c := range claims {
		if c.Member != self && alive[c.Member] {
			claimsOf[c.Link] = append(claimsOf[c.Link], c)
		}
	}
	desired := map[string]bool{}
	owners := make(map[string]string, len(links))
	tokens := map[string]string{}
	var release []string
	now := time.Now()
	for _, l := range links {
		desired[l.Name] = true
		if l.Kind == clusterlink.KindRTM {
			tokens[l.Name] = l.Token
		}
		owner := clusterlink.Owner(l.Name, eligible)
		owners[l.Name] = owner
		cs.mu.Lock()
		_, run := cs.running[l.Name]
		cs.mu.Unlock()
		switch {
		case owner == self && !run:
			if l.Kind == clusterlink.KindRTM && len(claimsOf[l.Name]) > 0 {
				continue // break before make: the old owner has not let go yet
			}
			if err := rt.startClusterLink(ctx, cs, l); err != nil {
				rt.log.WithError(err).WithField("link", l.Name).Warn("cluster: start link")
			}
		case owner != self && run:
			if l.Kind == clusterlink.KindSocketMode {
				if selfLeaving {
					continue // Stop's drain closes it once the handover is done
				}
				cs.mu.Lock()
				since, ok := cs.movedAt[l.Name]
				if !ok {
					since = now
					cs.movedAt[l.Name] = now
				}
				cs.mu.Unlock()
				if !ownerConnected(claimsOf[l.Name], owner) && now.Sub(since) < handoverLimit {
					continue // make before break
				}
			}
			rt.stopClusterLink(ctx, cs, l.Name)
			release = append(release, l.Name)
		case owner == self && run && l.Kind == clusterlink.KindRTM:
			// Two members that briefly disagreed on the member list may both run a workspace:
			// the smaller name keeps it.
			for _, c := range claimsOf[l.Name] {
				if c.Member < self {
					rt.stopClusterLink(ctx, cs, l.Name)
					release = append(release, l.Name)
					break
				}
			}
		}
		if owner == self {
			cs.mu.Lock()
			delete(cs.movedAt, l.Name)
			cs.mu.Unlock()
		}
	}
	cs.mu.Lock()
	var gone []string
	for name := range cs.running {
		if !desired[name] {
			gone = append(gone, name)
		}
	}
	cs.owners = owners
	cs.rtmTokens = tokens
	for team := range cs.rtmClients {
		if _, desired := tokens[team]; !desired {
			delete(cs.rtmClients, team) // removed from the cluster
		}
	}
	cs.mu.Unlock()
	for _, name := range gone {
		rt.stopClusterLink(ctx, cs, name)
		release = append(release, name)
	}
	set := map[string]bool{}
	rt.mu.Lock()
	cs.mu.Lock()
	for name := range cs.running {
		conn := false
		if st := rt.links[name]; st != nil {
			conn = st.Status().State == engine.StateConnected
		}
		if was, ok := cs.claimed[name]; !ok || was != conn {
			set[name] = conn
		}
	}
	cs.mu.Unlock()
	rt.mu.Unlock()
	if err := cs.store.SetClaims(ctx, self, set, release); err != nil {
		return err
	}
	cs.mu.Lock()
	for name, conn := range set {
		cs.claimed[name] = conn
	}
	for _, name := range release {
		delete(cs.claimed, name)
	}
	cs.mu.Unlock()
	return nil
}

func ownerConnected(claims []clusterlink.Claim, owner string) bool {
	for _, c := range claims {
		if c.Member == owner && c.Connected {
			return true
		}
	}
	return false
}

// workspaceFor is the Workspace that runs team with token on this member: the one AddWorkspace
// gave it here (its options included), unless that has another token. cs.mu is held.
func (cs *clusterState) workspaceFor(team, token string) Workspace {
	if ws, ok := cs.workspaces[team]; ok && ws.Token == token {
		return ws
	}
	return Workspace{Team: team, Token: token}
}

// startClusterLink connects a link placed on this member.
func (rt *Runtime) startClusterLink(ctx context.Context, cs *clusterState, l clusterlink.LinkSpec) error {
	switch l.Kind {
	case clusterlink.KindRTM:
		cs.mu.Lock()
		ws := cs.workspaceFor(l.Name, l.Token)
		cs.mu.Unlock()
		if err := rt.addWorkspace(ctx, ws); err != nil {
			return err
		}
	case clusterlink.KindSocketMode:
		cs.mu.Lock()
		clients := cs.clients[l.App]
		cs.mu.Unlock()
		link := messages.Link{Transport: messages.SocketMode, App: l.App, Name: l.Name}
		state := engine.NewLinkState(link)
		spec := engine.SocketModeSpec{
			Link: link, AppToken: l.Token, Client: clients,
			PingInterval: rt.cfg.pingInterval, StaleAfter: rt.cfg.staleAfter, HelloTimeout: rt.cfg.helloTimeout,
			ResponseDeadline: rt.cfg.responseDeadline, AckAfterHandlers: rt.cfg.ackAfterHandlers,
		}
		reply := engine.NewReply()
		if err := rt.ask(ctx, rt.supervisor, engine.AddLink{Spec: spec, State: state, Reply: reply}, reply, nil); err != nil {
			return err
		}
		rt.mu.Lock()
		rt.links[link.Name] = state
		rt.mu.Unlock()
	default:
		return fmt.Errorf("switchboard: cluster link %s: unknown kind %q", l.Name, l.Kind)
	}
	cs.mu.Lock()
	cs.running[l.Name] = l
	cs.mu.Unlock()
	return nil
}

// stopClusterLink disconnects a link that this member no longer owns.
func (rt *Runtime) stopClusterLink(ctx context.Context, cs *clusterState, name string) {
	cs.mu.Lock()
	l, ok := cs.running[name]
	delete(cs.running, name)
	delete(cs.movedAt, name)
	cs.mu.Unlock()
	if !ok {
		return
	}
	var err error
	if l.Kind == clusterlink.KindRTM {
		err = rt.removeWorkspace(ctx, name)
	} else {
		err = rt.removeLinks(ctx, []string{name})
	}
	if err != nil {
		rt.log.WithError(err).WithField("link", name).Warn("cluster: stop link")
	}
}

// clusterHandover runs first in Stop: it marks this member leaving, lets the others take its
// links (its RTM workspaces are closed first; its Socket Mode slots stay up until their new
// owners are connected), then stops reconciling and leaves the cluster. Stop's drain then closes
// the Socket Mode sockets, their acks written.
func (rt *Runtime) clusterHandover(ctx context.Context) error {
	cs := rt.clu
	if cs == nil {
		return nil
	}
	var err error
	cs.once.Do(func() {
		err = rt.handover(ctx, cs)
	})
	return err
}

func (rt *Runtime) handover(ctx context.Context, cs *clusterState) error {
	self := cs.m.Self()
	cs.mu.Lock()
	cs.leaving = true
	cs.mu.Unlock()
	var errs []error
	if err := cs.store.SetLeaving(ctx, self); err != nil {
		errs = append(errs, err)
	}
	limit := time.Now().Add(handoverLimit)
	if dl, ok := ctx.Deadline(); ok {
		if d := time.Until(dl) / 2; time.Now().Add(d).Before(limit) {
			limit = time.Now().Add(d)
		}
	}
	for time.Now().Before(limit) && rt.handedOver(ctx, cs) == false {
		select {
		case <-ctx.Done():
		case <-time.After(cs.m.Refresh()):
		}
		if ctx.Err() != nil {
			break
		}
	}
	if err := rt.finishClustered(ctx, cs); err != nil {
		errs = append(errs, err)
	}
	cs.cancel()
	<-cs.done
	cs.m.Leave()
	if err := cs.store.ForgetMember(context.WithoutCancel(ctx), self); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("cluster handover: %w", errors.Join(errs...))
	}
	return nil
}

// handedOver reports whether every link still running here is a Socket Mode slot whose new
// owner is connected (the reconcile loop has closed the RTM ones).
func (rt *Runtime) handedOver(ctx context.Context, cs *clusterState) bool {
	claims, err := cs.store.Claims(ctx)
	if err != nil {
		return false
	}
	connected := map[string]bool{}
	for _, c := range claims {
		if c.Member != cs.m.Self() && c.Connected {
			connected[c.Link] = true
		}
	}
	leaving, err := cs.store.Leaving(ctx)
	if err != nil {
		return false
	}
	others := false
	for _, m := range cs.m.Members() {
		others = others || (m != cs.m.Self() && !leaving[m])
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if !others {
		return true // nobody to hand over to: Stop closes them
	}
	for name, l := range cs.running {
		if l.Kind == clusterlink.KindRTM || !connected[name] {
			return false
		}
	}
	return true
}

// ClusterStatus is a member's view of the cluster, for /cluster (ops) and health checks.
type ClusterStatus struct {
	Member  string            `json:"member"`  // this member's name
	Joined  bool              `json:"joined"`  // it sees itself in the member list and is not leaving
	Members []string          `json:"members"` // the live members, sorted
	Owners  map[string]string `json:"owners"`  // every desired link → its owner, as of the last pass
	// Unowned lists the desired links without an owner (no eligible member), sorted.
	Unowned []string `json:"unowned,omitempty"`
	// Running lists the links this member runs, sorted.
	Running []string `json:"running"`
	// DedupeDropped counts the redeliveries this member dropped because another member had
	// handled the event.
	DedupeDropped int64 `json:"dedupe_dropped"`
	// RemoteDropped counts the messages from other processes this member dropped as unreadable
	// (a type it does not know, indexes out of range: another version, or not a member).
	RemoteDropped int64 `json:"remote_dropped"`
}

// ClusterStatus returns this member's view of the cluster; ok is false without WithCluster.
func (rt *Runtime) ClusterStatus() (s ClusterStatus, ok bool) {
	cs := rt.clu
	if cs == nil {
		return ClusterStatus{}, false
	}
	s = ClusterStatus{Member: cs.m.Self(), Members: cs.m.Members(), Owners: rt.Owners(), Running: []string{}, DedupeDropped: cs.dropped.Load(),
		RemoteDropped: cs.m.RemoteDropped()}
	cs.mu.Lock()
	leaving := cs.leaving
	for name := range cs.running {
		s.Running = append(s.Running, name)
	}
	cs.mu.Unlock()
	for _, m := range s.Members {
		s.Joined = s.Joined || (m == s.Member && !leaving)
	}
	for link, owner := range s.Owners {
		if owner == "" {
			s.Unowned = append(s.Unowned, link)
		}
	}
	slices.Sort(s.Unowned)
	slices.Sort(s.Running)
	return s, true
}
