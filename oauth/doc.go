// Package oauth installs a Slack app with OAuth v2 and keeps its rotating tokens fresh, on an
// installstore.Store.
//
// Installer is an http.Handler of two paths: the install path redirects the browser to Slack's
// oauth/v2/authorize with the app's client_id, scopes, redirect_uri and a one-use state from a
// StateStore; the redirect path checks the state, exchanges the code with oauth.v2.access
// (slack-go's GetOAuthV2ResponseContext), saves the installation (Enterprise Grid IDs kept) and
// shows a success or failure page. Refresher refreshes tokens that expire soon with
// grant_type=refresh_token (slack-go's RefreshOAuthV2TokenContext) and saves the new pair.
//
// Both call a hook once the store has the change: wire it to the runtime's InstallationsChanged so
// that a running bot drops the team's cached client at once.
//
// # Wiring it to a runtime
//
//	in := &oauth.Installer{ClientID: id, ClientSecret: secret, Scopes: []string{"chat:write"},
//		RedirectURL: "https://bot.example.com/slack/oauth_redirect", Store: store, States: store,
//		OnInstalled: func(_ context.Context, i installstore.Installation) { rt.InstallationsChanged(i.TeamID) }}
//	mux.Handle("/slack/", in) // /slack/install and /slack/oauth_redirect
//	go (&oauth.Refresher{ClientID: id, ClientSecret: secret, Store: store,
//		OnRefreshed: func(_ context.Context, i installstore.Installation) { rt.InstallationsChanged(i.TeamID) }}).Run(ctx)
//
// cmd/demo-install runs the whole flow on the Slack stand-in.
package oauth
