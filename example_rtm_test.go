package switchboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/messages"
)

// An RTM bot in several workspaces: each is added with its own classic bot token, and its events
// arrive with Kind KindRTM. It replies "Hi <@user>!" in the thread of every "Hello".
func ExampleRuntime_AddWorkspace() {
	srv, _ := fakeslack.New(fakeslack.Options{Workspaces: 2})
	defer srv.Close()

	rt, err := switchboard.New(switchboard.WithAPIURL(srv.APIURL()))
	if err != nil {
		panic(err)
	}
	_ = rt.Handle(switchboard.Filter{Kinds: []messages.Kind{messages.KindRTM}, Types: []string{"message"}},
		func(ctx context.Context, ev *switchboard.Event) error {
			var m struct{ Text, User, TS, BotID string }
			if json.Unmarshal(ev.Raw, &m) != nil || m.Text != "Hello" {
				return nil
			}
			_, _ = rt.Send(ctx, ev.Team, switchboard.RTMMessage{Channel: ev.Channel, Text: "Hi <@" + m.User + ">!", ThreadTS: m.TS})
			return nil
		})
	connected := make(chan struct{}, 2)
	_ = rt.OnLifecycle(func(ev messages.Lifecycle) {
		if _, ok := ev.(messages.Connected); ok {
			connected <- struct{}{}
		}
	})
	for _, ws := range srv.Workspaces() {
		_ = rt.AddWorkspace(context.Background(), switchboard.Workspace{Team: ws.TeamID, Token: ws.ClassicBotToken})
	}
	<-connected
	<-connected

	for _, ws := range srv.Workspaces() {
		channel := ws.Channels[0].ID
		_, _ = srv.InjectRTMMessage(ws.TeamID, fakeslack.RTMMessage{Channel: channel, User: ws.Users[0].ID, Text: "Hello"})
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if h := srv.History(channel); len(h) == 2 {
				fmt.Println(h[1].Text, h[1].ThreadTS == h[0].TS)
				break
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = rt.Stop(ctx)
	// Output:
	// Hi <@U000000255T>! true
	// Hi <@U0000004ABL>! true
}

// Send posts over the workspace's socket and returns once Slack acknowledged the message, with
// its ts; a refusal comes back as an error (here, an unknown channel).
func ExampleRuntime_Send() {
	srv, _ := fakeslack.New(fakeslack.Options{Workspaces: 1})
	defer srv.Close()
	ws := srv.Workspaces()[0]

	rt, _ := switchboard.New(switchboard.WithAPIURL(srv.APIURL()))
	connected := make(chan struct{}, 1)
	_ = rt.OnLifecycle(func(ev messages.Lifecycle) {
		if _, ok := ev.(messages.Connected); ok {
			connected <- struct{}{}
		}
	})
	_ = rt.AddWorkspace(context.Background(), switchboard.Workspace{Team: ws.TeamID, Token: ws.ClassicBotToken})
	<-connected

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reply, err := rt.Send(ctx, ws.TeamID, switchboard.RTMMessage{Channel: ws.Channels[0].ID, Text: "deploy done"})
	fmt.Println(reply.Text, reply.TS == srv.History(ws.Channels[0].ID)[0].TS, err)
	_, err = rt.Send(ctx, ws.TeamID, switchboard.RTMMessage{Channel: "CNOSUCH", Text: "lost"})
	fmt.Println(err)
	_ = rt.Stop(ctx)
	// Output:
	// deploy done true <nil>
	// slack: rtm reply to 2: error 4: channel_not_found: no channel CNOSUCH
}
