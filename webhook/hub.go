package webhook

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/switchboard-go/switchboard/internal/redact"
)

// hub is the Sender's parent actor: it owns one hook actor per URL, spawned on the first message
// and stopped when idle, and gathers their reports when the Sender stops. It ends when Stop
// poisons it, after every hook reported.
type hub struct {
	env      *senderEnv
	hooks    map[string]*hookRef // by URL
	draining bool
	reply    chan<- []Unsent // Stop's, once draining
	waiting  int             // hooks yet to report after drain
	unsent   []Unsent
}

// hookRef is a hook actor and how many enqueues went to it.
type hookRef struct {
	pid       *actor.PID
	forwarded uint64
}

// Messages between the Sender, the hub and its hooks. Those carrying a URL print it redacted, so
// protoactor's dead-letter logs cannot leak it.
type (
	enqueue struct { // Sender → hub → hook
		url   string
		it    *item
		reply chan<- error // buffered; answered by the hook
	}
	drain    struct{ reply chan<- []Unsent } // Sender → hub → hooks: post what is queued, then report
	abort    struct{}                        // Sender → hub → hooks: give up what is queued, then report
	hookIdle struct {                        // hook → hub: nothing to do for a while
		url       string
		pid       *actor.PID
		processed uint64 // enqueues handled so far
	}
	hookDone struct { // hook → hub: drained or aborted
		url    string
		unsent []Unsent
	}
)

func (m enqueue) String() string  { return "enqueue to " + redact.URL(m.url) }
func (m hookIdle) String() string { return "idle " + redact.URL(m.url) }
func (m hookDone) String() string { return "done " + redact.URL(m.url) }

func newHub(env *senderEnv) *hub { return &hub{env: env, hooks: map[string]*hookRef{}} }

// Receive handles one message.
func (h *hub) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case enqueue:
		h.forward(ctx, msg)
	case hookIdle:
		h.passivate(ctx, msg)
	case drain:
		h.startDrain(ctx, msg)
	case abort:
		for _, r := range h.hooks {
			ctx.Send(r.pid, msg)
		}
	case hookDone:
		h.collect(ctx, msg)
	}
}

// forward hands msg to its URL's hook, spawning it first if needed. Enqueues never arrive after
// drain (the Sender sends drain after the last one it accepted).
func (h *hub) forward(ctx actor.Context, msg enqueue) {
	r, ok := h.hooks[msg.url]
	if !ok {
		st := newHookState(h.env, msg.url)
		// Named "hook-<n>" by protoactor, never after the URL: PIDs appear in logs.
		pid := ctx.SpawnPrefix(actor.PropsFromProducer(func() actor.Actor { return &hook{st: st} }), "hook")
		r = &hookRef{pid: pid}
		h.hooks[msg.url] = r
	}
	r.forwarded++
	ctx.Send(r.pid, msg)
}

// passivate stops an idle hook, unless an enqueue is on its way to it.
func (h *hub) passivate(ctx actor.Context, msg hookIdle) {
	r, ok := h.hooks[msg.url]
	if h.draining || !ok || !r.pid.Equal(msg.pid) || r.forwarded != msg.processed {
		return
	}
	delete(h.hooks, msg.url)
	ctx.Stop(r.pid)
}

func (h *hub) startDrain(ctx actor.Context, msg drain) {
	h.draining, h.reply, h.waiting = true, msg.reply, len(h.hooks)
	for _, r := range h.hooks {
		ctx.Send(r.pid, msg)
	}
	h.maybeReply()
}

func (h *hub) collect(ctx actor.Context, msg hookDone) {
	if r, ok := h.hooks[msg.url]; ok {
		delete(h.hooks, msg.url)
		ctx.Stop(r.pid)
		h.waiting--
	}
	h.unsent = append(h.unsent, msg.unsent...)
	h.maybeReply()
}

func (h *hub) maybeReply() {
	if h.draining && h.waiting == 0 && h.reply != nil {
		h.reply <- h.unsent
		h.reply = nil
	}
}
