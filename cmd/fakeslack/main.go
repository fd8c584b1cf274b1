// Command fakeslack runs the Slack stand-in server (package fakeslack) until it is interrupted.
//
//	fakeslack -addr 127.0.0.1:0 -workspaces 3 -apps 1 [-script FILE] [-request-url URL] [-token-rotation] [-v]
//
// Its first line on stdout is one JSON object naming the URLs, workspaces (tokens, channels,
// webhook URLs) and apps (app tokens, OAuth client and signing secrets) it generated; logs go to stderr. SIGINT or SIGTERM stops it,
// with exit status 0. A bad flag or script exits with status 2 before the server starts serving.
// See the README for the script format.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/switchboard-go/switchboard/fakeslack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// banner is the first line the command prints.
type banner struct {
	URL        string                `json:"url"`
	APIURL     string                `json:"api_url"`
	AdminURL   string                `json:"admin_url"`
	Workspaces []fakeslack.Workspace `json:"workspaces"`
	Apps       []fakeslack.App       `json:"apps"`
}

// run is the command: it serves until ctx is done and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fakeslack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	workspaces := fs.Int("workspaces", 2, "how many workspaces to generate")
	apps := fs.Int("apps", 1, "how many Socket Mode apps to generate, each installed in every workspace")
	channels := fs.Int("channels", 2, "channels (each with an incoming webhook) per workspace")
	users := fs.Int("users", 3, "users per workspace, besides the bot")
	script := fs.String("script", "", "a scenario `file` (YAML or JSON) to run once the server is up")
	queryTokens := fs.Bool("query-tokens", false, "accept tokens in the query string of GET requests, as Slack does for apps created before 2021-02-24")
	barePaths := fs.Bool("bare-paths", false, "serve the Web API at /<method> too, not only /api/<method> (Slack does not)")
	record := fs.String("record", "", "write every transcript entry to `file` as JSON lines (a recording a script's replay step plays back)")
	verbose := fs.Bool("v", false, "log debug detail (each webhook post, each script answer)")
	requestURL := fs.String("request-url", "", "deliver every app's events, commands and interactions by HTTP to `url` (signed with the app's signing_secret) instead of Socket Mode")
	redirectURL := fs.String("redirect-url", "", "every app's OAuth redirect `url` (the default redirect_uri of /oauth/v2/authorize)")
	rotation := fs.Bool("token-rotation", false, "tokens minted by oauth.v2.access expire (after -token-lifetime) and come with refresh tokens")
	tokenLifetime := fs.Duration("token-lifetime", 12*time.Hour, "lifetime of rotating tokens")
	triggerLifetime := fs.Duration("trigger-lifetime", 3*time.Second, "how long a trigger_id opens a view")
	retryDelays := fs.String("retry-delays", "0s,1m,5m", "waits before each retry of an HTTP event delivery, comma-separated (\"\" for none)")
	httpTimeout := fs.Duration("http-timeout", 3*time.Second, "how long a request URL has to answer")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: fakeslack [flags]\n\nRuns a Slack stand-in; prints its URLs and tokens as one JSON line on stdout.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "fakeslack: unexpected arguments %q\n", fs.Args())
		return 2
	}
	for name, v := range map[string]int{"workspaces": *workspaces, "apps": *apps} {
		if v < 0 {
			fmt.Fprintf(stderr, "fakeslack: -%s %d must be ≥ 0\n", name, v)
			return 2
		}
	}
	for name, v := range map[string]int{"channels": *channels, "users": *users} {
		if v < 1 {
			fmt.Fprintf(stderr, "fakeslack: -%s %d must be ≥ 1\n", name, v)
			return 2
		}
	}

	delays, err := parseDelays(*retryDelays)
	if err != nil {
		fmt.Fprintf(stderr, "fakeslack: -retry-delays: %v\n", err)
		return 2
	}
	for name, v := range map[string]time.Duration{"token-lifetime": *tokenLifetime, "trigger-lifetime": *triggerLifetime, "http-timeout": *httpTimeout} {
		if v <= 0 {
			fmt.Fprintf(stderr, "fakeslack: -%s %v must be > 0\n", name, v)
			return 2
		}
	}

	var steps []step
	if *script != "" {
		data, err := os.ReadFile(*script)
		if err != nil {
			fmt.Fprintf(stderr, "fakeslack: %v\n", err)
			return 2
		}
		if steps, err = parseScript(data); err != nil {
			fmt.Fprintf(stderr, "fakeslack: script %s: %v\n", *script, err)
			return 2
		}
		if err := checkReplays(steps, filepath.Dir(*script)); err != nil {
			fmt.Fprintf(stderr, "fakeslack: script %s: %v\n", *script, err)
			return 2
		}
	}

	logger := logrus.New()
	logger.SetOutput(stderr)
	if *verbose {
		logger.SetLevel(logrus.DebugLevel)
	}
	var recordFile *os.File
	if *record != "" {
		f, err := os.Create(*record)
		if err != nil {
			fmt.Fprintf(stderr, "fakeslack: -record: %v\n", err)
			return 2
		}
		recordFile = f
		defer func() {
			if err := recordFile.Close(); err != nil {
				fmt.Fprintf(stderr, "fakeslack: -record: %v\n", err)
			}
		}()
	}
	opts := fakeslack.Options{
		Addr: *addr, Workspaces: orNone(*workspaces), Apps: orNone(*apps),
		ChannelsPerWorkspace: *channels, UsersPerWorkspace: *users, Logger: logger,
		QueryTokens: *queryTokens, BarePaths: *barePaths, TriggerLifetime: *triggerLifetime,
		HTTP:  fakeslack.HTTPOptions{Timeout: *httpTimeout, RetryDelays: delays},
		OAuth: fakeslack.OAuthOptions{TokenLifetime: *tokenLifetime},
	}
	if recordFile != nil {
		opts.Record = recordFile
	}
	srv, err := fakeslack.New(opts)
	if err != nil {
		fmt.Fprintf(stderr, "fakeslack: %v\n", err)
		return 1
	}
	defer srv.Close()
	for _, a := range srv.Apps() {
		if err := srv.ConfigureApp(a.AppID, fakeslack.AppConfig{RequestURL: *requestURL, RedirectURL: *redirectURL, TokenRotation: *rotation}); err != nil {
			fmt.Fprintf(stderr, "fakeslack: %v\n", err)
			return 1
		}
	}

	b := banner{URL: srv.URL(), APIURL: srv.APIURL(), AdminURL: srv.AdminURL(), Workspaces: srv.Workspaces(), Apps: srv.Apps()}
	if err := resolve(steps, b.Workspaces, b.Apps); err != nil {
		fmt.Fprintf(stderr, "fakeslack: script %s: %v\n", *script, err)
		return 2
	}
	line, err := json.Marshal(b)
	if err != nil {
		fmt.Fprintf(stderr, "fakeslack: %v\n", err)
		return 1
	}
	if _, err := fmt.Fprintf(stdout, "%s\n", line); err != nil {
		fmt.Fprintf(stderr, "fakeslack: write stdout: %v\n", err)
		return 1
	}
	log := logger.WithField("component", "cmd")
	log.WithFields(logrus.Fields{"url": srv.URL(), "workspaces": len(b.Workspaces), "apps": len(b.Apps)}).Info("fakeslack serving")

	var wg sync.WaitGroup
	if len(steps) > 0 {
		hc := &http.Client{Timeout: 30 * time.Second}
		r := &runner{admin: srv.AdminURL(), hc: hc, log: logger.WithField("component", "script")}
		wg.Add(1)
		go func() { // owner: run. Ends when the script ends or ctx is done; run waits on wg.
			defer wg.Done()
			r.run(ctx, steps)
		}()
	}
	<-ctx.Done()
	log.Info("stopping")
	wg.Wait()
	_ = srv.Close()
	return 0
}

// parseDelays reads a comma-separated list of durations; "" is none.
func parseDelays(s string) ([]time.Duration, error) {
	out := []time.Duration{}
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		d, err := time.ParseDuration(f)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("%q is not a duration ≥ 0", f)
		}
		out = append(out, d)
	}
	return out, nil
}

// orNone maps 0 to fakeslack's "none" (a negative count), since its zero means the default.
func orNone(n int) int {
	if n == 0 {
		return -1
	}
	return n
}
