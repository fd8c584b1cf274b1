package engine

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/switchboard-go/switchboard/messages"
	"github.com/switchboard-go/switchboard/supervisor"
)

// LinkSpec is a link the supervisor can run: SocketModeSpec or RTMSpec.
type LinkSpec interface {
	// LinkOf names the link.
	LinkOf() messages.Link
	// Props returns the connection actor's Props, sharing state across incarnations.
	Props(env *Env, state *LinkState) *actor.Props
	// NoRestart reports whether a failed session stops the link instead of restarting it.
	NoRestart() bool
	// RetireGrace is how long an old connection lives on once its replacement said hello.
	RetireGrace() time.Duration
	// HasAcks reports whether the link's connections have acks to flush at stop (Drain).
	HasAcks() bool
}

// AddLink asks the supervisor to start a link; the answer is an error or nil.
type AddLink struct {
	Spec  LinkSpec
	State *LinkState
	Reply Reply
}

// RemoveLink asks the supervisor to stop a link and forget it; the answer is an error or nil.
type RemoveLink struct {
	Name  string
	Reply Reply
}

// ListConnections asks the supervisor for the PIDs of the running Socket Mode connections (the
// ones with acks to flush at stop); the answer is []*actor.PID.
type ListConnections struct{ Reply Reply }

// MaxAppConnections is Slack's limit of open Socket Mode sockets per app.
const MaxAppConnections = 10

// linkSupervisor is the parent of every connection actor, and its supervisor strategy: a failed
// session restarts later, at once, or stops for good, as supervisor.Policy decides. It also runs
// Socket Mode refreshes, make before break: the replacement connects, then the old one retires.
type linkSupervisor struct {
	env    *Env
	policy supervisor.Policy
	links  map[string]*linkEntry // by link name
	byPID  map[string]*linkEntry // by connection PID Id: current, replacement and retiring
	// stopping is set on Stopping: a child failing then is stopped, never restarted.
	stopping bool
}

type linkEntry struct {
	spec        LinkSpec
	state       *LinkState
	pid         *actor.PID // current connection; nil once stopped
	replacement *actor.PID // connecting while pid is asked to refresh
	retiring    map[string]bool
	cleans      []time.Time // clean reconnects within the policy's CleanWindow, oldest first
}

type retire struct{ pid *actor.PID }

// SupervisorProps returns the Props of the link supervisor.
func SupervisorProps(env *Env, policy supervisor.Policy) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &linkSupervisor{env: env, policy: policy.WithDefaults(), links: map[string]*linkEntry{}, byPID: map[string]*linkEntry{}}
	})
}

func (s *linkSupervisor) Receive(ctx actor.Context) {
	defer logStackOnPanic(s.env, "supervisor", ctx.Message())
	switch msg := ctx.Message().(type) {
	case AddLink:
		msg.Reply.Answer(s.add(ctx, msg))
	case RemoveLink:
		msg.Reply.Answer(s.remove(ctx, msg.Name))
	case LinkUp:
		s.linkUp(ctx, msg)
	case RefreshRequested:
		s.refresh(ctx, msg)
	case retire:
		ctx.Poison(msg.pid)
	case ListConnections:
		pids := make([]*actor.PID, 0, len(s.byPID))
		for id, e := range s.byPID {
			if e.spec.HasAcks() {
				pids = append(pids, actor.NewPID(ctx.Self().Address, id))
			}
		}
		msg.Reply.Answer(pids)
	case *actor.Terminated:
		s.terminated(msg.Who)
	case *actor.Stopping:
		s.stopping = true
		for _, e := range s.links {
			e.state.end(StateStopped, nil)
		}
	}
}

func (s *linkSupervisor) add(ctx actor.Context, msg AddLink) error {
	link := msg.Spec.LinkOf()
	if _, ok := s.links[link.Name]; ok {
		return fmt.Errorf("switchboard: link %s already exists", link.Name)
	}
	e := &linkEntry{spec: msg.Spec, state: msg.State, retiring: map[string]bool{}}
	s.links[link.Name] = e
	e.pid = s.spawn(ctx, e)
	return nil
}

func (s *linkSupervisor) spawn(ctx actor.Context, e *linkEntry) *actor.PID {
	pid := ctx.Spawn(e.spec.Props(s.env, e.state))
	s.byPID[pid.Id] = e
	return pid
}

func (s *linkSupervisor) remove(ctx actor.Context, name string) error {
	e, ok := s.links[name]
	if !ok {
		return fmt.Errorf("switchboard: no link %s", name)
	}
	delete(s.links, name)
	for _, pid := range []*actor.PID{e.pid, e.replacement} {
		if pid != nil {
			ctx.Stop(pid)
		}
	}
	for id := range e.retiring {
		ctx.Stop(actor.NewPID(ctx.Self().Address, id))
	}
	e.state.end(StateStopped, nil)
	e.pid, e.replacement = nil, nil
	return nil
}

// refresh starts a replacement when the app has room for one more socket; otherwise the old
// connection reconnects (break before make) when Slack's refresh_requested comes. A replacement is
// a clean reconnect: it waits the policy's CleanDelay when they repeat.
func (s *linkSupervisor) refresh(ctx actor.Context, msg RefreshRequested) {
	e := s.byPID[msg.PID.Id]
	if e == nil || !msg.PID.Equal(e.pid) || e.replacement != nil {
		return
	}
	if s.appSockets(msg.Link.App) < MaxAppConnections {
		recent := s.noteClean(e)
		if d := s.policy.CleanDelay(recent); d > 0 {
			linkLog(s.env, msg.Link).WithFields(logrus.Fields{"reason": msg.Reason, "recent": recent, "delay": d.String()}).
				Warn("refreshes repeat, replacement waits")
			e.state.delayNext(d)
		}
		e.replacement = s.spawn(ctx, e)
		return
	}
	if msg.Reason == "refresh_requested" {
		ctx.Send(msg.PID, Reconnect{})
	}
}

// linkUp retires the old connection once its replacement said hello, after a grace period that
// lets acks of events still being handled on the old socket go out.
func (s *linkSupervisor) linkUp(ctx actor.Context, msg LinkUp) {
	e := s.byPID[msg.PID.Id]
	if e == nil || !msg.PID.Equal(e.replacement) {
		return
	}
	old := e.pid
	e.pid, e.replacement = e.replacement, nil
	if old != nil {
		e.retiring[old.Id] = true
		s.env.after(e.spec.RetireGrace(), ctx.Self(), retire{pid: old})
	}
}

func (s *linkSupervisor) appSockets(app string) int {
	n := 0
	for _, e := range s.links {
		if e.spec.LinkOf().App != app {
			continue
		}
		if e.pid != nil {
			n++
		}
		if e.replacement != nil {
			n++
		}
		n += len(e.retiring)
	}
	return n
}

// noteClean records a clean reconnect of e now and returns how many came before it within the
// policy's CleanWindow.
func (s *linkSupervisor) noteClean(e *linkEntry) int {
	now := s.env.now()
	i := 0
	for i < len(e.cleans) && now.Sub(e.cleans[i]) >= s.policy.CleanWindow {
		i++
	}
	e.cleans = append(e.cleans[i:], now)
	return len(e.cleans) - 1
}

func (s *linkSupervisor) terminated(pid *actor.PID) {
	e := s.byPID[pid.Id]
	delete(s.byPID, pid.Id)
	if e == nil {
		return
	}
	delete(e.retiring, pid.Id)
	if pid.Equal(e.pid) {
		e.pid = e.replacement
		e.replacement = nil
	} else if pid.Equal(e.replacement) {
		e.replacement = nil
	}
}

// stopChild stops a failed connection and forgets it at once: its mailbox stays suspended until it
// is gone, so nothing must be sent to it meanwhile (ListConnections no longer names it).
func (s *linkSupervisor) stopChild(sup actor.Supervisor, e *linkEntry, child *actor.PID) {
	delete(s.byPID, child.Id)
	delete(e.retiring, child.Id)
	if child.Equal(e.pid) {
		e.pid, e.replacement = e.replacement, nil
	} else if child.Equal(e.replacement) {
		e.replacement = nil
	}
	sup.StopChildren(child)
}

// HandleFailure is the supervisor strategy of every connection: it classifies the failure and
// restarts the connection (which waits the decided delay itself) or stops it for good.
func (s *linkSupervisor) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason, _ any) {
	err, ok := reason.(error)
	if !ok {
		err = fmt.Errorf("switchboard: connection panicked: %v", reason)
	}
	e := s.byPID[child.Id]
	if e == nil || s.stopping {
		sup.StopChildren(child)
		return
	}
	link := e.spec.LinkOf()
	// An old connection that ends while its replacement exists is not restarted: the replacement
	// takes over.
	if e.retiring[child.Id] || (child.Equal(e.pid) && e.replacement != nil) {
		s.env.publish(messages.Disconnected{Link: link, Reason: err})
		s.stopChild(sup, e, child)
		return
	}
	failures, connectedFor := e.state.failed()
	h := supervisor.History{Failures: failures, ConnectedFor: connectedFor}
	if messages.Classify(err) == messages.RetryNow {
		h.Clean = s.noteClean(e)
	}
	d := s.policy.Decide(err, h)
	s.env.publish(messages.Disconnected{Link: link, Session: e.state.Status().Session, Reason: err})
	log := linkLog(s.env, link).WithField("session", e.state.Status().Session).WithError(err)
	if d.CappedRetryAfter > 0 {
		log.WithFields(logrus.Fields{"retry_after": d.CappedRetryAfter.String(), "cap": s.policy.MaxRetryAfter.String()}).Warn("retry-after capped")
	}
	if d.Verdict == messages.RetryNow && d.Delay > 0 {
		log.WithFields(logrus.Fields{"recent": h.Clean, "delay": d.Delay.String()}).Warn("clean reconnects repeat, backing off")
	}
	if d.Verdict == messages.Stop {
		log.WithField("advice", d.Advice).Error("link stopped for good")
		e.state.end(StateFatal, err)
		s.env.publish(messages.Fatal{Link: link, Error: err, Advice: d.Advice})
		s.stopChild(sup, e, child)
		return
	}
	if e.spec.NoRestart() {
		log.Warn("link stopped: reconnecting is off")
		e.state.end(StateStopped, err)
		s.env.publish(messages.Fatal{Link: link, Error: err, Advice: "reconnecting is off for this link: remove it (RemoveWorkspace) and add it again to reconnect"})
		s.stopChild(sup, e, child)
		return
	}
	e.state.retry(err, d.Attempt, d.Delay)
	sup.RestartChildren(child)
}

// linkLog is the runtime's log with a link's fields: app (Socket Mode) or team (RTM), and link.
func linkLog(env *Env, link messages.Link) *logrus.Entry {
	f := logrus.Fields{"link": link.Name}
	if link.App != "" {
		f["app"] = link.App
	}
	if link.Team != "" {
		f["team"] = link.Team
	}
	return env.Log.WithFields(f)
}
