package switchboard_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/messages"
)

// The seed's bot: reply "Hi <@user>!" in the thread of every message containing "Hello". It runs
// here against the in-process Slack stand-in; against real Slack, drop WithAPIURL and use your
// app's tokens.
func Example() {
	srv, _ := fakeslack.New(fakeslack.Options{Workspaces: 1})
	defer srv.Close()
	ws, app := srv.Workspaces()[0], srv.Apps()[0]

	rt, err := switchboard.New(switchboard.WithAPIURL(srv.APIURL()))
	if err != nil {
		panic(err)
	}
	_ = rt.OnEvent(

		"message", func(ctx context.Context, ev *switchboard.Event) error {
			e, err := ev.EventsAPI()
			if err != nil {
				return nil
			}
			msg, ok := e.InnerEvent.Data.(*slackevents.MessageEvent)
			if !ok || msg.BotID != "" || !strings.Contains(msg.Text, "Hello") {
				return nil
			}
			thread := msg.ThreadTimeStamp
			if thread == "" {
				thread = msg.TimeStamp
			}
			api, err := ev.Client(ctx)
			if err != nil {
				return nil
			}
			_, _, _ = api.PostMessageContext(ctx, msg.Channel,
				slack.MsgOptionText(fmt.Sprintf("Hi <@%s>!", msg.User), false), slack.MsgOptionTS(thread))
			return nil
		})

	connected := make(chan struct{}, 1)
	_ = rt.OnLifecycle(func(ev messages.Lifecycle) {
		if _, ok := ev.(messages.Connected); ok {
			connected <- struct{}{}
		}
	})
	_ = rt.AddApp(context.Background(), switchboard.App{
		ID: app.AppID, Token: app.AppToken,
		Installations: switchboard.Installations{ws.TeamID: ws.BotToken},
	})
	<-connected

	channel := ws.Channels[0].ID
	_, _ = srv.InjectMessages(context.Background(), app.AppID, fakeslack.MessageStream{
		Team: ws.TeamID, Channel: channel, User: ws.Users[0].ID, TextPrefix: "Hello from user ", Count: 1})
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if h := srv.History(channel); len(h) > 0 {
			fmt.Println(h[len(h)-1].Text, h[len(h)-1].ThreadTS != "")
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = rt.Stop(ctx)
	// Output: Hi <@U000000255T>! true
}
