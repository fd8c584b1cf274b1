package switchboard_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/messages"
)

// A whole bot: it replies "Hi <@user>!" in the thread of every message that says Hello. It runs
// here against the in-process Slack stand-in; against Slack, leave out WithAPIURL and give it
// your app's tokens (examples/bot is the same bot as a program).
func Example() {
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

	// A Handler's error is logged with the event's IDs and counted (Stats.HandlerErrors).
	hello := func(ctx context.Context, ev *switchboard.Event) error {
		e, err := ev.EventsAPI()
		if err != nil {
			return err
		}
		m, ok := e.InnerEvent.Data.(*slackevents.MessageEvent)
		if !ok || m.BotID != "" || !strings.Contains(m.Text, "Hello") {
			return nil // not a person's greeting (our own reply included)
		}
		thread := m.ThreadTimeStamp
		if thread == "" {
			thread = m.TimeStamp
		}
		api, err := ev.Client(ctx) // the team's Web API client, from App.Installations
		if err != nil {
			return err
		}
		_, _, err = api.PostMessageContext(ctx, m.Channel,
			slack.MsgOptionText("Hi <@"+m.User+">!", false), slack.MsgOptionTS(thread))
		return err
	}
	connected := make(chan struct{}, 1)
	err = errors.Join(
		rt.OnEvent("message", hello),
		rt.OnLifecycle(func(ev switchboard.Lifecycle) {
			if _, ok := ev.(messages.Connected); ok {
				connected <- struct{}{}
			}
		}),
		// App.ID is left out: it is read from the xapp- token.
		rt.AddApp(context.Background(), switchboard.App{
			Token: app.AppToken, Installations: switchboard.Installations{ws.TeamID: ws.BotToken}}),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	<-connected

	channel, user := ws.Channels[0].ID, ws.Users[0].ID
	if _, err := srv.InjectMessages(context.Background(), app.AppID, fakeslack.MessageStream{
		Team: ws.TeamID, Channel: channel, User: user, TextPrefix: "Hello from ", Count: 1}); err != nil {
		fmt.Println(err)
		return
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if h := srv.History(channel); len(h) > 0 {
			fmt.Println(h[0].Text == "Hi <@"+user+">!", h[0].ThreadTS != "")
			return
		}
	}
	fmt.Println("no reply")
	// Output: true true
}

// App.ID is a label for logs, metrics and link names; left out, it is the app ID inside the
// xapp- token. A token that is missing or of the wrong kind fails AddApp at once.
func ExampleApp() {
	srv, err := fakeslack.New(fakeslack.Options{Workspaces: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	rt, err := switchboard.New(switchboard.WithAPIURL(srv.APIURL()))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	defer func() {
		if err := rt.Stop(ctx); err != nil {
			fmt.Println(err)
		}
	}()

	app := srv.Apps()[0]
	err = rt.AddApp(ctx, switchboard.App{Token: app.AppToken, Connections: 2})
	fmt.Println(err)
	for _, name := range []string{app.AppID + "/1", app.AppID + "/2"} {
		found := false
		for _, st := range rt.Status() {
			found = found || st.Link.Name == name && st.Link.App == app.AppID
		}
		fmt.Println(found)
	}

	err = rt.AddApp(ctx, switchboard.App{ID: "other"}) // an unset SLACK_APP_TOKEN, say
	fmt.Println(errors.Is(err, switchboard.ErrEmptyToken))
	err = rt.AddApp(ctx, switchboard.App{ID: "other", Token: srv.Workspaces()[0].BotToken})
	fmt.Println(errors.Is(err, switchboard.ErrTokenKind))
	err = rt.AddApp(ctx, switchboard.App{Token: app.AppToken})
	fmt.Println(errors.Is(err, switchboard.ErrAlreadyAdded))
	// Output:
	// <nil>
	// true
	// true
	// true
	// true
	// true
}
