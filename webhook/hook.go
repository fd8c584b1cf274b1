package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/switchboard-go/switchboard/internal/redact"
)

// hook owns the queue of one URL: it posts one message at a time, in order, within the rate
// limit, each post on a goroutine of its own that answers with posted. It ends when the hub stops
// it: idle, or after reporting on drain or abort.
type hook struct {
	st *hookState // survives a restart: the queue and the post in flight
}

// item is one queued message.
type item struct {
	p      *Pending
	body   []byte
	header http.Header
}

// hookState is a hook's state, made by the hub and closed over by the hook's producer.
type hookState struct {
	env       *senderEnv
	url       string
	log       *logrus.Entry
	queue     []*item
	inFlight  *item
	bucket    *bucket
	processed uint64 // enqueues handled, for the hub's passivation check

	wakeGen     uint64 // generation of the rate-limit timer
	wakeTimer   *time.Timer
	wakePending bool
	idleGen     uint64 // generation of the idle timer
	idleTimer   *time.Timer

	draining, aborting, reported bool
	unsent                       []Unsent
}

// Messages a hook sends itself.
type (
	wake      struct{ gen uint64 } // the rate limit allows the next post
	idleCheck struct{ gen uint64 } // the idle timeout passed
	posted    struct {             // a post's goroutine ended
		it   *item
		resp *Response
		err  error
	}
)

func newHookState(env *senderEnv, url string) *hookState {
	return &hookState{
		env:    env,
		url:    url,
		log:    env.log.WithField("url", redact.URL(url)),
		bucket: newBucket(env.cfg.rate, env.cfg.burst, env.now()),
	}
}

// Receive handles one message.
func (h *hook) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		h.pump(ctx) // after a restart: carry on with the queue
	case enqueue:
		h.accept(ctx, msg)
	case wake:
		if msg.gen == h.st.wakeGen {
			h.st.wakePending = false
			h.pump(ctx)
		}
	case posted:
		h.finish(ctx, msg)
	case idleCheck:
		if msg.gen == h.st.idleGen && h.st.idle() {
			ctx.Send(ctx.Parent(), hookIdle{url: h.st.url, pid: ctx.Self(), processed: h.st.processed})
		}
	case drain:
		h.st.draining = true
		h.pump(ctx)
	case abort:
		h.abort(ctx)
	case *actor.Restarting, *actor.Stopping:
		h.st.stopTimers()
	}
}

func (h *hook) accept(ctx actor.Context, msg enqueue) {
	st := h.st
	st.processed++
	switch {
	case st.draining || st.aborting:
		msg.reply <- ErrStopped
		return
	case len(st.queue) >= st.env.cfg.queue:
		msg.reply <- fmt.Errorf("%w: %d messages already wait for %s", ErrQueueFull, len(st.queue), redact.URL(st.url))
		return
	}
	st.queue = append(st.queue, msg.it)
	msg.reply <- nil
	h.pump(ctx)
}

// finish resolves a post's outcome and moves on.
func (h *hook) finish(ctx actor.Context, msg posted) {
	st := h.st
	st.inFlight = nil
	err := msg.err
	var se *Error
	if errors.As(err, &se) && se.Status == http.StatusTooManyRequests {
		st.bucket.pause(st.env.now(), max(se.RetryAfter, time.Second))
	}
	switch {
	case err != nil && st.aborting && errors.Is(err, context.Canceled):
		err = fmt.Errorf("%w: cancelled in flight, delivery unknown: %w", ErrStopped, err)
		st.unsent = append(st.unsent, Unsent{URL: st.url, Body: msg.it.body, Header: msg.it.header, Err: err})
	case err != nil:
		st.log.WithError(err).WithField("id", msg.it.p.id).Error("queued webhook message not delivered")
	}
	st.resolve(msg.it, msg.resp, err)
	h.pump(ctx)
}

// abort gives up every queued message; the post in flight, cancelled by the Sender, ends later.
func (h *hook) abort(ctx actor.Context) {
	st := h.st
	st.aborting = true
	st.stopTimers()
	for _, it := range st.queue {
		err := fmt.Errorf("%w: still queued", ErrStopped)
		st.unsent = append(st.unsent, Unsent{URL: st.url, Body: it.body, Header: it.header, Err: err})
		st.resolve(it, nil, err)
	}
	st.queue = nil
	h.pump(ctx)
}

// pump starts the next post if nothing is in flight and the rate limit allows, else arms the
// timer that brings it back; with nothing left it reports (draining) or arms the idle timer.
func (h *hook) pump(ctx actor.Context) {
	st := h.st
	if st.inFlight == nil && !st.aborting && len(st.queue) > 0 && !st.wakePending {
		if d := st.bucket.take(st.env.now()); d > 0 {
			st.armWake(ctx, d)
		} else {
			st.inFlight = st.queue[0]
			st.queue[0] = nil
			st.queue = st.queue[1:]
			h.post(ctx, st.inFlight)
		}
	}
	if st.inFlight != nil || len(st.queue) > 0 {
		return
	}
	if st.draining || st.aborting {
		if !st.reported {
			st.reported = true
			ctx.Send(ctx.Parent(), hookDone{url: st.url, unsent: st.unsent})
		}
		return
	}
	st.armIdle(ctx)
}

// post starts the goroutine posting it.
func (h *hook) post(ctx actor.Context, it *item) {
	env, root, self, url := h.st.env, ctx.ActorSystem().Root, ctx.Self(), h.st.url
	env.wg.Add(1)
	go func() { // owner: hook. Ends when the post returns; Sender.Stop cancels env.ctx to hurry it, then waits on env.wg.
		defer env.wg.Done()
		resp, err := env.post(url, it)
		root.Send(self, posted{it: it, resp: resp, err: err})
	}()
}

func (st *hookState) resolve(it *item, resp *Response, err error) {
	if it.p.resolve(resp, err) && st.env.results != nil {
		st.env.results.push(Result{ID: it.p.id, URL: st.url, Response: resp, Err: err})
	}
}

func (st *hookState) idle() bool {
	return st.inFlight == nil && len(st.queue) == 0 && !st.draining && !st.aborting
}

func (st *hookState) armWake(ctx actor.Context, d time.Duration) {
	st.wakeGen++
	st.wakePending = true
	gen, root, self := st.wakeGen, ctx.ActorSystem().Root, ctx.Self()
	st.wakeTimer = time.AfterFunc(d, func() { root.Send(self, wake{gen: gen}) })
}

func (st *hookState) armIdle(ctx actor.Context) {
	if st.idleTimer != nil {
		st.idleTimer.Stop()
	}
	st.idleGen++
	d := max(st.env.cfg.idle, st.bucket.fullIn(st.env.now()))
	gen, root, self := st.idleGen, ctx.ActorSystem().Root, ctx.Self()
	st.idleTimer = time.AfterFunc(d, func() { root.Send(self, idleCheck{gen: gen}) })
}

// stopTimers stops both timers; a tick already sent is dropped by its stale generation.
func (st *hookState) stopTimers() {
	if st.wakeTimer != nil {
		st.wakeTimer.Stop()
	}
	if st.idleTimer != nil {
		st.idleTimer.Stop()
	}
	st.wakeGen++
	st.idleGen++
	st.wakePending = false
}
