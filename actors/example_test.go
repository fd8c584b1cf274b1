package actors_test

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/actors"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/messages"
)

// An actor per channel, from a func: it is handed each message event of its channel in turn.
func ExamplePropsFromFunc() {
	srv, _ := fakeslack.New(fakeslack.Options{})
	defer srv.Close()
	rt, _ := switchboard.New(switchboard.WithAPIURL(srv.APIURL()))
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = rt.Stop(ctx)
	}()

	seen := make(chan string, 1)
	_ = rt.Subscribe(switchboard.Filter{Kinds: []switchboard.Kind{switchboard.KindEventsAPI}, Types: []string{"message"}},
		actors.PropsFromFunc(func(ctx actor.Context, ev *messages.Event) {
			_ = ctx // the actor's context: Self, Send, Spawn, …
			seen <- ev.Channel
		}), switchboard.PerChannel(time.Minute))

	up := make(chan struct{}, 1)
	_ = rt.OnLifecycle(func(ev switchboard.Lifecycle) {
		if _, ok := ev.(messages.Connected); ok {
			up <- struct{}{}
		}
	})
	app, ws := srv.Apps()[0], srv.Workspaces()[0]
	_ = rt.AddApp(context.Background(), switchboard.App{Token: app.AppToken})
	<-up
	_, _ = srv.InjectMessages(context.Background(), app.AppID, fakeslack.MessageStream{
		Team: ws.TeamID, Channel: ws.Channels[0].ID, TextPrefix: "hi", Count: 1})
	fmt.Println(<-seen == ws.Channels[0].ID)
	// Output: true
}
