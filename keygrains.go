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

// Clustered keyed subscriptions (Clustered). On a clustered runtime such a subscription is two:
//
//   - its forwarder, keyed like it, takes the events this member reads and sends each to the
//     grain of its key (cluster.SendKeyed), one at a time per key; an event is placed (and, by
//     default, acked) once it sits in the forwarder's key queue, as for any keyed subscription,
//     and the forwarder's flow control holds this member's readers back while a key's grain is
//     slow to take its events;
//   - its hosted part, on every member, runs the keys whose grains live there: the grain places
//     each event it gets in the key's queue of the hosted part (keyHost.Place), whose actor runs
//     the subscription's handler chain (or the user's actor).

// forwarderSuffix names a clustered subscription's forwarder: "<name>/forward".
const forwarderSuffix = "/forward"

// Clustered makes a keyed subscription (PerTeam, PerChannel, PerThread) one for the whole
// cluster: each key's actor lives on one member at a time, as a grain of protoactor-go's cluster,
// and every member sends the key's events to it, whichever member's socket read them. A key's
// events run one at a time, in the order each member read them (two members' sockets are not
// ordered with each other, on Slack's side either), and still so when the key's grain moves to
// another member: the new one waits until the old one has handled what it accepted.
//
// Every member registers the subscription, under the same Named name (Clustered requires Named).
// An event is acked once it is queued on the member that read it, as for any subscription; the
// handler runs on the key's member, where Event.Respond returns an error (the envelope was acked
// without a payload: answer with ev.Reply, Say or the response_url instead) and Event.Client
// needs the event's app or workspace added on that member too. SubscriberStats lists the hosted
// part under the name, and the forwarder as "<name>/forward". On a runtime without WithCluster,
// Clustered changes nothing: one process runs each key once already.
func Clustered() SubscribeOption {
	return func(l *listener) error {
		l.clustered = true
		return nil
	}
}

// checkClustered refuses Clustered where it does not apply. It runs before an unnamed
// subscription gets its "sub-N".
func (l *listener) checkClustered() error {
	switch {
	case !l.clustered:
		return nil
	case l.spec.KeyBy == engine.KeyNone:
		return errors.New("switchboard: Clustered applies to keyed subscriptions only (PerTeam, PerChannel, PerThread)")
	case l.spec.Name == "":
		return errors.New("switchboard: Clustered needs Named: every member registers the subscription under the same name")
	}
	return nil
}

// subscribeClustered registers a clustered subscription's hosted part and its forwarder. rt.mu
// is held.
func (rt *Runtime) subscribeClustered(l *listener) error {
	name := l.spec.Name
	fwd := name + forwarderSuffix
	if _, taken := rt.subNames[fwd]; taken {
		return fmt.Errorf("%w: %q", ErrSubscriptionExists, fwd)
	}
	hosted := l.spec
	hosted.Hosted = true
	if l.handler != nil {
		hosted.Handler = rt.chain(l)
	}
	forwarder := engine.SubscriberSpec{
		Name: fwd, Filter: l.spec.Filter, KeyBy: l.spec.KeyBy, IdleAfter: l.spec.IdleAfter, MaxKeys: l.spec.MaxKeys,
		QueueSize: l.spec.QueueSize, Overflow: l.spec.Overflow, Handler: rt.forwardTo(name, l.spec.KeyBy),
	}
	rt.subNames[name] = struct{}{}
	rt.subNames[fwd] = struct{}{}
	rt.clustered[name] = struct{}{}
	rt.system.Root.Send(rt.dispatcher, engine.Subscribe{Spec: hosted})
	rt.system.Root.Send(rt.dispatcher, engine.Subscribe{Spec: forwarder})
	return nil
}

// forwardTo returns the forwarder's handler: it sends each event to the grain of its key and
// returns once the grain's member queued it (or the runtime stops).
func (rt *Runtime) forwardTo(subscription string, by engine.KeyBy) engine.Handler {
	return func(ctx context.Context, ev *messages.Event) error {
		pb := keyedEvent(ev)
		pb.Subscription, pb.Key = subscription, engine.KeyOf(by, ev)
		return rt.clu.m.SendKeyed(ctx, pb) // an error is counted and logged with the event's fields, as any handler's
	}
}

// keyedEvent copies an event's routing fields and payload into its wire form.
func keyedEvent(ev *messages.Event) *clusterpb.KeyedEvent {
	pb := &clusterpb.KeyedEvent{
		Link: &clusterpb.Link{Transport: string(ev.Link.Transport), App: ev.Link.App, Team: ev.Link.Team, Name: ev.Link.Name},
		Kind: string(ev.Kind), Type: ev.Type, Team: ev.Team, Channel: ev.Channel, User: ev.User, ThreadTs: ev.ThreadTS,
		EventId: ev.EventID, EnvelopeId: ev.EnvelopeID, RetryAttempt: int32(ev.RetryAttempt), RetryReason: ev.RetryReason,
		ReceivedUnixNano: ev.Received.UnixNano(), Raw: ev.Raw,
	}
	if ev.Kind == messages.KindEventsAPI || ev.Kind == messages.KindRTM {
		pb.Message = &clusterpb.MessageFields{Text: ev.Text(), Ts: ev.MessageTS(), Subtype: ev.Subtype(), BotId: ev.BotID()}
	}
	return pb
}

// keyHost is the runtime's side of the key grains placed on its member.
type keyHost struct{ rt *Runtime }

var _ clusterlink.KeyHost = keyHost{}

// errKeysLeaving: the member is leaving; the sender retries, and finds the key's next member.
var errKeysLeaving = errors.New("switchboard: the member is leaving the cluster")

func (h keyHost) Place(pb *clusterpb.KeyedEvent, done func(error)) {
	if h.rt.clu.keysLeaving.Load() {
		done(errKeysLeaving)
		return
	}
	l := pb.GetLink()
	ev := &messages.Event{
		Link: messages.Link{Transport: messages.Transport(l.GetTransport()), App: l.GetApp(), Team: l.GetTeam(), Name: l.GetName()},
		Kind: messages.Kind(pb.Kind), Type: pb.Type, Team: pb.Team, Channel: pb.Channel, User: pb.User, ThreadTS: pb.ThreadTs,
		EventID: pb.EventId, EnvelopeID: pb.EnvelopeId, RetryAttempt: int(pb.RetryAttempt), RetryReason: pb.RetryReason,
		Received: timeOfUnixNano(pb.ReceivedUnixNano), Raw: pb.Raw,
	}
	f := engine.Forwarded{Subscription: pb.Subscription, Event: ev, Clients: h.rt.clientsOf(ev.Link), AfterHandlers: h.rt.cfg.ackAfterHandlers}
	if m := pb.GetMessage(); m != nil {
		f.Text, f.TS, f.Subtype, f.BotID, f.HasMessage = m.Text, m.Ts, m.Subtype, m.BotId, true
	}
	engine.DispatchHosted(h.rt.env, f, done)
}

func (h keyHost) Idle(subscription, key string, answer func(bool)) {
	engine.KeyIdle(h.rt.env, subscription, key, answer)
}

// clientsOf returns the Web API clients of a link's events on this member: those of its app
// (added here with AddApp), or of its workspace's token (from the cluster's shared links).
func (rt *Runtime) clientsOf(l messages.Link) engine.ClientSource {
	if l.Transport == messages.RTM {
		cs := rt.clu
		cs.mu.Lock()
		ws, ok := cs.workspaces[l.Team]
		if tok, shared := cs.rtmTokens[l.Team]; shared {
			ws, ok = cs.workspaceFor(l.Team, tok), true
		}
		cached, hit := cs.rtmClients[l.Team]
		cs.mu.Unlock()
		switch {
		case !ok:
			return nil
		case hit && cached.token == ws.Token:
			return cached.clients
		}
		spec, err := rt.rtmSpec(ws)
		if err != nil {
			return nil
		}
		cs.mu.Lock()
		cs.rtmClients[l.Team] = rtmClients{token: ws.Token, clients: spec.Client}
		cs.mu.Unlock()
		return spec.Client
	}
	rt.clu.mu.Lock()
	clients := rt.clu.clients[l.App]
	rt.clu.mu.Unlock()
	if clients != nil {
		return clients
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if a := rt.httpApps[l.App]; a != nil {
		return a.clients
	}
	return nil
}

func timeOfUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// finishClustered is a leaving member's last work for its clustered subscriptions, before it
// leaves the cluster (while the others can still reach it): its connections stop dispatching,
// its forwarders send what they accepted to the keys' grains (which may be here), its grains take
// no more events (their senders retry and find the keys' next members once this one has left),
// and its keys' actors handle what they accepted. A key's next grain asks this member whether
// the key is idle before it takes events, so none of them runs before this member's is done.
func (rt *Runtime) finishClustered(ctx context.Context, cs *clusterState) error {
	rt.mu.Lock()
	fwds := make(map[string]bool, len(rt.clustered))
	hosted := make(map[string]bool, len(rt.clustered))
	for name := range rt.clustered {
		fwds[name+forwarderSuffix], hosted[name] = true, true
	}
	rt.mu.Unlock()
	if len(fwds) == 0 {
		return nil
	}
	var errs []error
	if err := rt.drain(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := rt.awaitQueues(ctx, func(name string) bool { return fwds[name] }); err != nil {
		errs = append(errs, fmt.Errorf("clustered subscriptions: forward: %w", err))
	}
	cs.keysLeaving.Store(true)
	if err := rt.awaitQueues(ctx, func(name string) bool { return hosted[name] }); err != nil {
		errs = append(errs, fmt.Errorf("clustered subscriptions: %w", err))
	}
	return errors.Join(errs...)
}

// hostedChain reports whether ctx is that of a clustered subscription's handler chain: it runs
// the events every member forwards to a key here, which the dispatcher dedupes as it places them.
func hostedChain(ctx context.Context) bool {
	in, ok := ctx.Value(eventInfoKey{}).(*eventInfo)
	return ok && in.hosted
}

// rtmClients is a workspace's client source on a member that hosts its keys, kept with the token
// it was made for.
type rtmClients struct {
	token   string
	clients engine.ClientSource
}
