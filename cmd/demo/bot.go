package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/messages"
	"github.com/switchboard-go/switchboard/webhook"
)

// marker starts the text of every message the scene injects, so that the bot counts what the
// scene sent and nothing else (its own replies come back as events too).
const marker = "demo:"

// tally counts one kind of traffic: what the scene injected and the distinct events the bot handled.
type tally struct {
	injected atomic.Int64
	mu       sync.Mutex
	seen     map[string]struct{}
	dups     int64 // events the handler saw twice: dedupe should keep this 0
}

// handled records an event by key and reports whether it is new.
func (t *tally) handled(key string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.seen == nil {
		t.seen = map[string]struct{}{}
	}
	if _, ok := t.seen[key]; ok {
		t.dups++
		return false
	}
	t.seen[key] = struct{}{}
	return true
}

func (t *tally) counts() (injected, handled, dups int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.injected.Load(), int64(len(t.seen)), t.dups
}

// bot is the demo's Slack bot: the seeds' greeting, a per-channel counter actor, a slash command
// answered in the ack, an interaction answered through its response_url, and webhook notifications.
type bot struct {
	rt     *switchboard.Runtime
	log    *logrus.Entry
	sender *webhook.Sender
	notify string // incoming webhook URL for notifications; "" for none

	sm, rtm, commands, actions tally

	replies      atomic.Int64 // replies that reached Slack: posts, RTM sends, ack responses, response_url, webhooks
	replyErrors  atomic.Int64
	counters     sync.Map // team/channel → *atomic.Int64, written by the per-channel actors
	counterSpawn atomic.Int64
}

// register subscribes every handler; call it before adding links.
func (b *bot) register() error {
	steps := []func() error{
		func() error { return b.rt.OnEvent("message", b.greetSocketMode) },
		func() error {
			return b.rt.Handle(switchboard.Filter{Kinds: []messages.Kind{messages.KindRTM}, Types: []string{"message"}},
				b.greetRTM, switchboard.PerTeam(time.Minute), switchboard.Named("rtm-greeter"))
		},
		func() error {
			return b.rt.Subscribe(switchboard.Filter{Kinds: []messages.Kind{messages.KindEventsAPI, messages.KindRTM}, Types: []string{"message"}},
				actor.PropsFromProducer(func() actor.Actor { return &channelCounter{bot: b} }),
				switchboard.PerChannel(time.Minute), switchboard.Named("channel-counter"))
		},
		func() error { return b.rt.OnCommand("/count", b.count) },
		func() error { return b.rt.OnInteraction("block_actions", b.clicked) },
		func() error { return b.rt.OnLifecycle(b.lifecycle, switchboard.Named("notifier")) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	return nil
}

// greetSocketMode is the seeds' bot: "Hi <@user>!" in the thread of a message saying Hello.
func (b *bot) greetSocketMode(ctx context.Context, ev *switchboard.Event) error {
	e, err := ev.EventsAPI()
	if err != nil {
		return nil
	}
	msg, ok := e.InnerEvent.Data.(*slackevents.MessageEvent)
	if !ok || msg.BotID != "" || msg.SubType != "" {
		return nil
	}
	if strings.HasPrefix(msg.Text, marker) {
		b.sm.handled(ev.EventID)
	}
	if !strings.Contains(msg.Text, "Hello") {
		return nil
	}
	api, err := ev.Client(ctx)
	if err != nil {
		b.replied(err, "chat.postMessage")
		return nil
	}
	thread := cmpOr(msg.ThreadTimeStamp, msg.TimeStamp)
	_, _, err = api.PostMessageContext(ctx, msg.Channel,
		slack.MsgOptionText(fmt.Sprintf("Hi <@%s>!", msg.User), false), slack.MsgOptionTS(thread))
	b.replied(err, "chat.postMessage")
	return nil
}

// rtmMessage is the part of an RTM message frame the bot reads.
type rtmMessage struct {
	Subtype  string `json:"subtype"`
	Text     string `json:"text"`
	User     string `json:"user"`
	BotID    string `json:"bot_id"`
	TS       string `json:"ts"`
	ThreadTS string `json:"thread_ts"`
}

// greetRTM is the same greeting over RTM, answered on the workspace's socket with rt.Send.
func (b *bot) greetRTM(ctx context.Context, ev *switchboard.Event) error {
	var m rtmMessage
	if json.Unmarshal(ev.Raw, &m) != nil || m.BotID != "" || m.Subtype != "" {
		return nil
	}
	if strings.HasPrefix(m.Text, marker) {
		b.rtm.handled(ev.Team + "/" + ev.Channel + "/" + m.TS)
	}
	if !strings.Contains(m.Text, "Hello") {
		return nil
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := b.rt.Send(sctx, ev.Team, switchboard.RTMMessage{Channel: ev.Channel, Text: fmt.Sprintf("Hi <@%s>!", m.User), ThreadTS: cmpOr(m.ThreadTS, m.TS)})
	b.replied(err, "rtm send")
	return nil
}

// channelCounter is one actor per channel, spawned on the channel's first message: it counts the
// channel's messages for /count.
type channelCounter struct {
	bot   *bot
	n     *atomic.Int64
	key   string
	count int64
}

func (c *channelCounter) Receive(ctx actor.Context) {
	switch ev := ctx.Message().(type) {
	case *actor.Started:
		c.bot.counterSpawn.Add(1)
	case *switchboard.Event:
		if c.n == nil {
			c.key = ev.Team + "/" + ev.Channel
			v, _ := c.bot.counters.LoadOrStore(c.key, new(atomic.Int64))
			c.n = v.(*atomic.Int64)
		}
		c.n.Add(1)
	}
}

// count answers /count in the command's ack with the channel's message count.
func (b *bot) count(_ context.Context, ev *switchboard.Event) error {
	b.commands.handled(ev.EnvelopeID)
	n := int64(0)
	if v, ok := b.counters.Load(ev.Team + "/" + ev.Channel); ok {
		n = v.(*atomic.Int64).Load()
	}
	err := ev.Respond(map[string]any{"response_type": "ephemeral", "text": fmt.Sprintf("%d messages in <#%s> so far", n, ev.Channel)})
	b.replied(err, "command response")
	return nil
}

// clicked answers a button click through the interaction's response_url, with the runtime's
// Responder (its webhook client counts Slack's 5 uses per response_url runtime-wide).
func (b *bot) clicked(ctx context.Context, ev *switchboard.Event) error {
	b.actions.handled(ev.EnvelopeID)
	r, err := b.rt.Responder(ev)
	if err != nil {
		b.replied(err, "response_url")
		return nil
	}
	in, _ := ev.Interaction()
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = r.Replace(rctx, webhook.Message{Text: "Clicked, thanks <@" + in.User.ID + ">"})
	b.replied(err, "response_url")
	return nil
}

// lifecycle posts reconnects and fatal stops to the notification webhook, through the async sender.
func (b *bot) lifecycle(ev messages.Lifecycle) {
	switch ev.(type) {
	case messages.Reconnecting, messages.Fatal:
	default:
		return
	}
	b.post(":satellite: " + ev.String())
}

// post queues a notification on the webhook sender; the sender's result handler counts it.
func (b *bot) post(text string) {
	if b.notify == "" || b.sender == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := b.sender.Enqueue(ctx, b.notify, webhook.Message{Text: text}); err != nil {
		b.replyErrors.Add(1)
		b.log.WithError(err).Warn("notification not queued")
	}
}

// webhookResult counts a notification's outcome.
func (b *bot) webhookResult(r webhook.Result) { b.replied(r.Err, "webhook") }

func (b *bot) replied(err error, what string) {
	if err != nil {
		b.replyErrors.Add(1)
		b.log.WithError(err).WithField("via", what).Warn("reply failed")
		return
	}
	b.replies.Add(1)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
