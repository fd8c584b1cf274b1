package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/webhook"
)

// Send posts one message and reports Slack's refusals as typed errors.
func ExampleClient_Send() {
	srv, _ := fakeslack.New(fakeslack.Options{}) // an in-process Slack stand-in
	defer srv.Close()
	hookURL := srv.Workspaces()[0].Webhooks[0].URL

	c, err := webhook.New()
	if err != nil {
		panic(err)
	}
	defer c.Close()
	ctx := context.Background()

	resp, err := c.Send(ctx, hookURL, webhook.Message{Text: "Deployed :rocket:"})
	fmt.Println(resp.Status, resp.Body, err)

	_, err = c.Send(ctx, hookURL, webhook.Message{}) // nothing to show
	fmt.Println(errors.Is(err, webhook.ErrNoText), err)
	// Output:
	// 200 ok <nil>
	// true webhook: HTTP 400: slack: no_text
}

// A Sender queues messages and posts them in order within Slack's rate limit; Stop drains the
// queue and reports what it could not send.
func ExampleSender() {
	srv, _ := fakeslack.New(fakeslack.Options{})
	defer srv.Close()
	hook := srv.Workspaces()[0].Webhooks[0]

	c, _ := webhook.New()
	defer c.Close()
	s, err := webhook.NewSender(c) // 1 message a second per URL, bursts of 3
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	var pending []*webhook.Pending
	for _, step := range []string{"build", "test", "ship"} {
		p, err := s.Enqueue(ctx, hook.URL, webhook.Message{Text: step + " done"})
		if err != nil {
			panic(err)
		}
		pending = append(pending, p)
	}
	for _, p := range pending {
		resp, err := p.Wait(ctx)
		fmt.Println(p.ID(), resp.Status, err)
	}
	if err := s.Stop(ctx); err != nil {
		fmt.Println("unsent:", err)
	}
	for _, m := range srv.History(hook.Channel) {
		fmt.Println(m.Text)
	}
	// Output:
	// 1 200 <nil>
	// 2 200 <nil>
	// 3 200 <nil>
	// build done
	// test done
	// ship done
}

// A Responder answers an interaction through its response_url, at most 5 times.
func ExampleResponder() {
	srv, _ := fakeslack.New(fakeslack.Options{})
	defer srv.Close()
	ws := srv.Workspaces()[0]
	// The response_url a slash command's payload would carry.
	responseURL, _ := srv.IssueResponseURL("commands", ws.TeamID, ws.Channels[0].ID)

	c, _ := webhook.New()
	defer c.Close()
	ctx := context.Background()

	r := c.Responder(responseURL)
	if _, err := r.Reply(ctx, webhook.Message{Text: "Deploying…"}); err != nil { // ephemeral
		panic(err)
	}
	if _, err := r.Replace(ctx, webhook.Message{Text: "Deployed", ResponseType: webhook.InChannel}); err != nil {
		panic(err)
	}
	fmt.Println(r.Remaining(), "uses left")
	for r.Remaining() > 0 {
		_, _ = r.Reply(ctx, webhook.Message{Text: "Still here"})
	}
	_, err := r.Delete(ctx) // a sixth use: refused before any network call
	fmt.Println(err)
	// Output:
	// 3 uses left
	// webhook: response_url used 5 times
}
