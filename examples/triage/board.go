package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// item is one triage item: reported in a channel, posted there as a message with buttons.
type item struct {
	ID       string
	Title    string
	Priority string
	Reporter string
	Team     string
	Channel  string
	TS       string // the message's ts, once posted
	Owner    string // who took it; "" while nobody did
}

// The messages a channel's actor takes; each is answered.
type (
	addItem   struct{ it item }         // answered true
	takeItem  struct{ id, user string } // answered with a found
	closeItem struct{ id string }       // answered with a found
	listItems struct{}                  // answered with []item, oldest first
)

// found is the item a takeItem or closeItem named, and whether it was open.
type found struct {
	it item
	ok bool
}

// channelItems is the actor of one channel of one workspace: it alone owns the channel's open
// items, so handlers of every kind (a submission, a button, the home tab) may ask it at once
// without a lock. It ends when the board stops.
type channelItems struct {
	items map[string]item
	order []string // IDs, oldest first
}

func (c *channelItems) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case addItem:
		c.items[m.it.ID] = m.it
		c.order = append(c.order, m.it.ID)
		ctx.Respond(true)
	case takeItem:
		it, ok := c.items[m.id]
		if ok {
			it.Owner = m.user
			c.items[m.id] = it
		}
		ctx.Respond(found{it, ok})
	case closeItem:
		it, ok := c.items[m.id]
		if ok {
			delete(c.items, m.id)
			c.order = slices.DeleteFunc(c.order, func(id string) bool { return id == m.id })
		}
		ctx.Respond(found{it, ok})
	case listItems:
		out := make([]item, 0, len(c.order))
		for _, id := range c.order {
			out = append(out, c.items[id])
		}
		ctx.Respond(out)
	}
}

// board spawns a channel's actor on its first item and keeps which channels of each workspace
// have one.
type board struct {
	system *actor.ActorSystem
	mu     sync.Mutex
	teams  map[string][]string // team → channels with an actor, in order of their first item
	pids   []*actor.PID
	seq    int // item IDs
}

func newBoard() *board {
	return &board{system: actor.NewActorSystem(), teams: map[string][]string{}}
}

const askTimeout = 5 * time.Second

// channel returns the actor of team's channel, spawning it when it has none.
func (b *board) channel(team, channel string) (*actor.PID, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	props := actor.PropsFromProducer(func() actor.Actor { return &channelItems{items: map[string]item{}} })
	pid, err := b.system.Root.SpawnNamed(props, team+"/"+channel)
	switch {
	case errors.Is(err, actor.ErrNameExists):
		return pid, nil // spawned before
	case err != nil:
		return nil, err
	}
	b.teams[team] = append(b.teams[team], channel)
	b.pids = append(b.pids, pid)
	return pid, nil
}

func (b *board) ask(ctx context.Context, team, channel string, msg any) (any, error) {
	pid, err := b.channel(team, channel)
	if err != nil {
		return nil, err
	}
	d := askTimeout
	if dl, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(dl))
	}
	return b.system.Root.RequestFuture(pid, msg, d).Result()
}

// newID returns a new item ID, unique in the process.
func (b *board) newID(team string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	return fmt.Sprintf("%s-%d", strings.ToLower(team), b.seq)
}

// add gives a new item to its channel's actor.
func (b *board) add(ctx context.Context, it item) error {
	_, err := b.ask(ctx, it.Team, it.Channel, addItem{it})
	return err
}

// change takes or closes an item; ok is false when it is not open (closed already, or from
// before a restart).
func (b *board) change(ctx context.Context, team, channel string, msg any) (item, bool, error) {
	res, err := b.ask(ctx, team, channel, msg)
	if err != nil {
		return item{}, false, err
	}
	f, _ := res.(found)
	return f.it, f.ok, nil
}

// open lists the open items of every channel of team.
func (b *board) open(ctx context.Context, team string) ([]item, error) {
	b.mu.Lock()
	channels := slices.Clone(b.teams[team])
	b.mu.Unlock()
	var all []item
	for _, ch := range channels {
		res, err := b.ask(ctx, team, ch, listItems{})
		if err != nil {
			return nil, err
		}
		items, _ := res.([]item)
		all = append(all, items...)
	}
	return all, nil
}

// stop stops every channel's actor and waits for them.
func (b *board) stop() {
	b.mu.Lock()
	pids := b.pids
	b.pids = nil
	b.mu.Unlock()
	for _, pid := range pids {
		_ = b.system.Root.StopFuture(pid).Wait()
	}
}
