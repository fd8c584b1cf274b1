package installstore_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-go/switchboard/installstore"
)

// An install's OAuth round trip: a state for the redirect, the oauth.v2.access answer saved, and
// the bot token found by team, as a Socket Mode app's Installations does.
func Example() {
	ctx := context.Background()
	st, err := installstore.NewMemory()
	if err != nil {
		panic(err)
	}
	defer st.Close()

	state, _ := st.Issue(ctx, 0) // goes in the authorize URL
	// … Slack redirects back with code and state …
	if err := st.Consume(ctx, state); err != nil {
		panic(err)
	}
	resp := &slack.OAuthV2Response{AppID: "A0APP", AccessToken: "xoxb-1", Scope: "chat:write",
		Team: slack.OAuthV2ResponseTeam{ID: "T024BE7LH", Name: "Acme"}, AuthedUser: slack.OAuthV2ResponseAuthedUser{ID: "U1"}}
	if err := st.Save(ctx, installstore.FromOAuthV2(resp, time.Now())); err != nil {
		panic(err)
	}
	tok, _ := st.BotToken(ctx, "T024BE7LH")
	fmt.Println(tok)
	fmt.Println(errors.Is(st.Consume(ctx, state), installstore.ErrStateUnknown)) // once only
	// Output:
	// xoxb-1
	// true
}
