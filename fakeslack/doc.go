// Package fakeslack is a Slack stand-in server that speaks Slack's wire protocol: the Web API, RTM and
// Socket Mode WebSockets, incoming webhooks and response_url, with Slack's errors, rate limits,
// redeliveries and disconnects.
//
// Tests start one per test on 127.0.0.1:0:
//
//	srv, err := fakeslack.New(fakeslack.Options{Workspaces: 2, Apps: 1})
//	if err != nil { … }
//	defer srv.Close()
//	api := slack.New(srv.Workspaces()[0].ClassicBotToken, slack.OptionAPIURL(srv.APIURL()))
//
// Any Slack client that lets its base URL be set works against it unchanged.
//
// # Control
//
// Events and faults are injected from Go (methods on Server) or over the admin HTTP API under
// /_admin/ (see admin.go and the README). Everything clients sent is kept in a bounded transcript,
// and counters track deliveries, acks and redeliveries, for assertions.
//
// # Fidelity
//
// Web API calls are read as Slack documents them, method by method (webapi_args.go): the Web API
// is served at /api/<method> only, JSON is read only by the methods that take it, tokens come from
// the Authorization header or a form body. Where Slack's documentation is silent the choice made is
// a named option (Options.QueryTokens, SocketModeOptions.DisabledOpenError and TooManyCloseCode,
// RTMOptions.ErrorCodes, …) and the code says so.
//
// # Apps over HTTP, OAuth
//
// An app with a RequestURL (ConfigureApp) gets its events, commands and interactions by HTTP,
// signed with its SigningSecret and retried as Slack retries (httpdelivery.go); the same
// injection methods serve both transports. /oauth/v2/authorize approves an install at once for
// the workspace picked (creating it if need be) and oauth.v2.access exchanges the code, with token
// rotation when the app has it (oauth.go). Tests add Web API methods of their own with
// HandleMethod.
//
// # Recording
//
// Options.Record receives every transcript entry as a JSON line; ReadRecording reads such a
// recording and Server.Replay plays its server side back to new clients, so a session seen once
// with any client can become a test.
//
// # Rate limits
//
// Web API limits are per method and token, as Slack's are per method, app and workspace. The default
// allowances are Slack's tiers with bursts wide enough for reconnect tests; Options.RateLimits
// replaces them.
package fakeslack
