package switchboard_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/messages"
	"github.com/switchboard-go/switchboard/webhook"
)

// Routes, middleware and the error hook: a deploy button answered through its response_url,
// every handler timed by a global middleware, a refused button reported to OnError.
func ExampleRuntime_OnAction() {
	srv, err := fakeslack.New(fakeslack.Options{Workspaces: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	ws, app := srv.Workspaces()[0], srv.Apps()[0]
	rt, err := switchboard.New(switchboard.WithAPIURL(srv.APIURL()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := rt.Stop(ctx); err != nil {
			fmt.Println(err)
		}
	}()

	done := make(chan string, 4)
	timed := func(next switchboard.Handler) switchboard.Handler { // a global middleware
		return func(ctx context.Context, ev *switchboard.Event) error {
			start := time.Now()
			err := next(ctx, ev)
			switchboard.LogFrom(ctx).WithField("took", time.Since(start)).Debug("handled")
			return err
		}
	}
	rt.OnError(func(_ context.Context, ev *switchboard.Event, err error) {
		done <- fmt.Sprintf("%s %s: %v", ev.Type, ev.ActionValue(), err)
	})
	connected := make(chan struct{}, 1)
	err = errors.Join(
		rt.Use(timed),
		rt.OnAction(regexp.MustCompile(`^deploy_`), func(ctx context.Context, ev *switchboard.Event) error {
			a, _ := ev.Action()
			if ev.ActionValue() == "prod" {
				return errors.New("prod is frozen")
			}
			err := rt.Reply(ctx, ev, webhook.Message{Text: "deploying " + ev.ActionValue(), ResponseType: webhook.InChannel})
			done <- a.ActionID + " " + ev.ActionValue() + " answered"
			return err
		}, switchboard.BlockID("deploy")),
		rt.OnLifecycle(func(ev switchboard.Lifecycle) {
			if _, ok := ev.(messages.Connected); ok {
				connected <- struct{}{}
			}
		}),
		rt.AddApp(context.Background(), switchboard.App{
			Token: app.AppToken, Installations: switchboard.Installations{ws.TeamID: ws.BotToken}}),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	<-connected
	for _, v := range []string{"staging", "prod"} {
		in := fakeslack.Interaction{Team: ws.TeamID, ActionID: "deploy_" + v, BlockID: "deploy", Value: v}
		if _, err := srv.InjectInteraction(app.AppID, in); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(<-done)
	}
	for _, m := range srv.History(ws.Channels[0].ID) {
		fmt.Println(m.Via+":", m.Text)
	}
	// Output:
	// deploy_staging staging answered
	// block_actions prod: prod is frozen
	// response_url: deploying staging
}
