// Command demo shows Switchboard keeping a Slack bot connected, live in the terminal. With no
// configuration it starts an embedded Slack stand-in (fakeslack) with three workspaces joined over
// RTM and a Socket Mode app with two connections installed in all three, runs the bot, injects
// traffic and faults (a dropped socket, a refresh, a 429, a revoked token), and ends with a summary
// of events in, replies out, reconnects and events lost. With -config or SLACK_* variables it runs
// the same bot against real Slack until interrupted.
//
//	go run ./cmd/demo                      # the scene, about 30 s
//	go run ./cmd/demo -duration 6s         # a short scene (the test uses it)
//	go run ./cmd/demo -forever             # the scene until Ctrl-C
//	go run ./cmd/demo -config bot.yaml     # real Slack (see README, "Running the demo bot on real Slack")
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/ops"
	"github.com/switchboard-go/switchboard/webhook"
)

type flags struct {
	duration        time.Duration
	forever         bool
	configPath      string
	logLevel        string
	logFile         string
	metricsAddr     string
	workspaces      int
	rate            int
	shutdownTimeout time.Duration
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr *os.File) int {
	var f flags
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&f.duration, "duration", 30*time.Second, "how long the scene runs before the summary (with -config: 0 means until Ctrl-C)")
	fs.BoolVar(&f.forever, "forever", false, "run until Ctrl-C (the scene repeats its traffic and faults)")
	fs.StringVar(&f.configPath, "config", "", "YAML file to run the bot against real Slack (else SLACK_* variables; neither: the embedded scene)")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&f.logFile, "log-file", "", "write this run's logs to this file, replacing it (default stderr; when stdout and stderr are both the terminal, a new temp file per run)")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "127.0.0.1:9090", "serve /metrics, /healthz and /status here; empty to disable")
	fs.IntVar(&f.workspaces, "workspaces", 3, "scene: workspaces in the stand-in (each joined over RTM too)")
	fs.IntVar(&f.rate, "rate", 300, "scene: Socket Mode messages a second, all workspaces together")
	fs.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 10*time.Second, "deadline of the graceful stop")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	durationSet := false
	fs.Visit(func(fl *flag.Flag) { durationSet = durationSet || fl.Name == "duration" })

	tty := isTerminal(stdout)
	log, logPath, closeLog, err := newLogger(f.logLevel, f.logFile, tty && isTerminal(stderr), stderr)
	if err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return 2
	}
	defer closeLog()
	cfg, err := loadConfig(f.configPath)
	if err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return 2
	}
	if f.workspaces < 2 {
		f.workspaces = 2 // one to lose to the revoked token, at least one to keep
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d := &demo{f: f, cfg: cfg, log: log, out: stdout, tty: tty, logPath: logPath}
	if cfg != nil && !durationSet {
		d.f.forever = true // real Slack: until Ctrl-C unless -duration says otherwise
	}
	return d.run(ctx)
}

// demo is one run: the runtime, the bot, the ops server and, without config, the stand-in.
type demo struct {
	f       flags
	cfg     *config
	log     *logrus.Logger
	out     *os.File
	tty     bool
	logPath string

	srv    *fakeslack.Server
	rt     *switchboard.Runtime
	ops    *ops.Server
	hooks  *webhook.Client
	sender *webhook.Sender
	bot    *bot
	view   *view
}

func (d *demo) run(ctx context.Context) int {
	if err := d.start(ctx); err != nil {
		d.log.WithError(err).Error("start failed")
		fmt.Fprintln(os.Stderr, "demo:", err)
		d.shutdown()
		return 1
	}
	viewDone := make(chan struct{})
	viewCtx, stopView := context.WithCancel(context.Background())
	go func() { // owner: run. Ends when stopView is called; run waits on viewDone.
		defer close(viewDone)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			d.view.draw(false)
			select {
			case <-viewCtx.Done():
				return
			case <-t.C:
			}
		}
	}()

	if d.srv != nil {
		d.playScene(ctx)
	} else if d.f.forever {
		<-ctx.Done()
	} else {
		sleepCtx(ctx, d.f.duration)
	}
	d.bot.post(fmt.Sprintf(":checkered_flag: demo finished: %d events read, %d replies", d.rt.Stats().EventsIn, d.bot.replies.Load()))
	stopView()
	<-viewDone
	d.view.draw(true)
	stats := d.rt.Stats()
	reconnects := 0
	for _, st := range d.rt.Status() {
		reconnects += st.Reconnects
	}
	shutdownErr := d.shutdown()
	return d.summary(stats, reconnects, shutdownErr)
}

// start builds everything and waits for the links to come up.
func (d *demo) start(ctx context.Context) error {
	opts := []switchboard.Option{switchboard.WithLogger(d.log)}
	if d.cfg == nil {
		fl := logrus.New()
		fl.SetOutput(d.log.Out)
		fl.SetFormatter(d.log.Formatter)
		fl.SetLevel(logrus.WarnLevel)
		srv, err := fakeslack.New(fakeslack.Options{
			Workspaces: d.f.workspaces, Apps: 1, Logger: fl,
			SocketMode: fakeslack.SocketModeOptions{AckTimeout: time.Second, RetryDelays: []time.Duration{0, time.Second, 2 * time.Second}},
		})
		if err != nil {
			return err
		}
		d.srv = srv
		opts = append(opts, switchboard.WithAPIURL(srv.APIURL()),
			switchboard.WithBackoff(200*time.Millisecond, 2*time.Second, 5*time.Second))
	} else if d.cfg.APIURL != "" {
		opts = append(opts, switchboard.WithAPIURL(d.cfg.APIURL))
	}
	rt, err := switchboard.New(opts...)
	if err != nil {
		return err
	}
	d.rt = rt
	if d.ops, err = ops.New(rt, ops.Options{Addr: d.f.metricsAddr, Logger: d.log}); err != nil {
		return err
	}
	opsNote := "ops endpoints off"
	if d.f.metricsAddr != "" {
		addr, err := d.ops.Start()
		if err != nil {
			d.log.WithError(err).Warn("ops endpoints not served")
			opsNote = "ops endpoints off (" + err.Error() + ")"
		} else {
			opsNote = "http://" + addr + "/metrics /healthz /status"
		}
	}
	if d.hooks, err = webhook.New(webhook.WithLogger(d.log)); err != nil {
		return err
	}
	d.bot = &bot{rt: rt, log: d.log.WithField("component", "demo-bot")}
	if d.sender, err = webhook.NewSender(d.hooks, webhook.WithResultHandler(func(r webhook.Result) {
		d.bot.webhookResult(r)
		d.ops.ObserveWebhook(r)
	})); err != nil {
		return err
	}
	d.bot.sender = d.sender
	if err := d.bot.register(); err != nil {
		return err
	}
	header := "switchboard demo (real Slack)"
	if d.srv != nil {
		header = "switchboard demo on the embedded Slack stand-in"
	}
	d.view = &view{out: d.out, tty: d.tty, rt: rt, bot: d.bot, header: header, start: time.Now()}
	fmt.Fprintf(d.out, "%s\n  %s\n", header, opsNote)
	if d.logPath != "" {
		fmt.Fprintf(d.out, "  logs: %s\n", d.logPath)
	}
	if d.srv != nil {
		return d.addSceneLinks(ctx)
	}
	return d.addConfigLinks(ctx)
}

func (d *demo) addSceneLinks(ctx context.Context) error {
	workspaces, app := d.srv.Workspaces(), d.srv.Apps()[0]
	inst := switchboard.Installations{}
	for _, ws := range workspaces {
		inst[ws.TeamID] = ws.BotToken
	}
	d.bot.notify = workspaces[0].Webhooks[0].URL
	if err := d.rt.AddApp(ctx, switchboard.App{ID: app.AppID, Token: app.AppToken, Connections: 2, Installations: inst}); err != nil {
		return err
	}
	for _, ws := range workspaces {
		if err := d.rt.AddWorkspace(ctx, switchboard.Workspace{Team: ws.TeamID, Token: ws.ClassicBotToken}); err != nil {
			return err
		}
	}
	return d.awaitLinks(ctx, 2+len(workspaces), 15*time.Second)
}

func (d *demo) addConfigLinks(ctx context.Context) error {
	c := d.cfg
	d.bot.notify = c.WebhookURL
	n := 0
	if c.AppToken != "" {
		if err := d.rt.AddApp(ctx, switchboard.App{ID: c.AppID, Token: c.AppToken, Connections: c.Connections,
			Installations: switchboard.Installations(c.BotTokens)}); err != nil {
			return err
		}
		n += c.Connections
	}
	for _, team := range sortedKeys(c.RTMTokens) {
		if err := d.rt.AddWorkspace(ctx, switchboard.Workspace{Team: team, Token: c.RTMTokens[team]}); err != nil {
			return err
		}
		n++
	}
	return d.awaitLinks(ctx, n, 30*time.Second)
}

// awaitLinks waits until n links are connected or fatal.
func (d *demo) awaitLinks(ctx context.Context, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		up := 0
		for _, st := range d.rt.Status() {
			if st.State == switchboard.StateConnected || st.State == switchboard.StateFatal {
				up++
			}
		}
		if up >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d links up after %v", up, n, timeout)
		}
		if !sleepCtx(ctx, 50*time.Millisecond) {
			return ctx.Err()
		}
	}
}

// playScene runs the scripted scene for the duration (or cycles of it until ctx ends with
// -forever), then waits for the last events to be handled.
func (d *demo) playScene(ctx context.Context) {
	workspaces := d.srv.Workspaces()
	sc := &scene{srv: d.srv, rt: d.rt, bot: d.bot, app: d.srv.Apps()[0], rtmTeams: workspaces,
		revoke: workspaces[len(workspaces)-1], rate: d.f.rate, notes: d.view.note}
	traffic := d.f.duration - min(3*time.Second, d.f.duration/4) // then the last events settle
	settle := max(d.f.duration-traffic, 3*time.Second)
	for {
		sc.run(ctx, traffic)
		if !d.f.forever || ctx.Err() != nil {
			break
		}
	}
	d.view.note("traffic stopped; waiting for the last events")
	deadline := time.Now().Add(settle + 5*time.Second) // the extra 5s only if events are still arriving
	for time.Now().Before(deadline) && d.lost() > 0 {
		time.Sleep(50 * time.Millisecond)
	}
}

// lost is what the scene injected and the bot has not handled (yet).
func (d *demo) lost() int64 {
	var lost int64
	for _, t := range []*tally{&d.bot.sm, &d.bot.rtm, &d.bot.commands, &d.bot.actions} {
		in, handled, _ := t.counts()
		lost += max(0, in-handled)
	}
	return lost
}

// shutdown stops in order within the deadline: the runtime (no new events, acks in flight
// written, sockets closed with a close frame, handlers ended), then the webhook sender (its
// queues drained), then the ops server and the stand-in.
func (d *demo) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), d.f.shutdownTimeout)
	defer cancel()
	var errs []error
	if d.rt != nil {
		if err := d.rt.Stop(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if d.sender != nil {
		if err := d.sender.Stop(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if d.hooks != nil {
		_ = d.hooks.Close()
	}
	if d.ops != nil {
		if err := d.ops.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if d.srv != nil {
		_ = d.srv.Close()
	}
	return errors.Join(errs...)
}

// summary prints the closing lines and returns the exit code: 0 unless events were lost or the
// stop failed.
func (d *demo) summary(st switchboard.Stats, reconnects int, shutdownErr error) int {
	if d.logPath != "" {
		defer fmt.Fprintf(d.out, "logs: %s\n", d.logPath)
	}
	code := 0
	if shutdownErr != nil {
		fmt.Fprintf(d.out, "shutdown: %v\n", shutdownErr)
		code = 1
	} else {
		fmt.Fprintf(d.out, "shutdown: clean (acks flushed, sockets closed, webhook queue drained) within %v\n", d.f.shutdownTimeout)
	}
	if d.srv == nil {
		fmt.Fprintf(d.out, "summary: events in %d, replies out %d, reconnects %d, duplicates dropped %d, reply errors %d\n",
			st.EventsIn, d.bot.replies.Load(), reconnects, st.Duplicates, d.bot.replyErrors.Load())
		return code
	}
	var injected, handled, dups int64
	parts := ""
	for _, t := range []struct {
		name string
		t    *tally
	}{{"socket mode messages", &d.bot.sm}, {"rtm messages", &d.bot.rtm}, {"slash commands", &d.bot.commands}, {"interactions", &d.bot.actions}} {
		in, h, dup := t.t.counts()
		injected, handled, dups = injected+in, handled+h, dups+dup
		parts += fmt.Sprintf("  %-21s injected %6d  handled %6d  lost %d\n", t.name, in, h, max(0, in-h))
	}
	fmt.Fprint(d.out, parts)
	lost := d.lost()
	fmt.Fprintf(d.out, "summary: events in %d, handled %d, replies out %d, reconnects %d, duplicates dropped %d, handled twice %d, lost %d\n",
		injected, handled, d.bot.replies.Load(), reconnects, st.Duplicates, dups, lost)
	if lost > 0 || dups > 0 {
		code = 1
	}
	return code
}

// newLogger logs to file (emptied first: this run's logs), else to stderr; when the live view and
// stderr share a terminal, to a new temp file of this run's own, so that log lines never garble
// the view (its path is printed at the start and the end). Text on a terminal, JSON otherwise.
func newLogger(level, file string, shareTerminal bool, stderr *os.File) (*logrus.Logger, string, func(), error) {
	lvl, err := logrus.ParseLevel(level)
	if err != nil {
		return nil, "", nil, fmt.Errorf("-log-level: %w", err)
	}
	l := logrus.New()
	l.SetLevel(lvl)
	closeFn := func() {}
	var out io.Writer = stderr
	path := ""
	switch {
	case file != "":
		fh, err := os.OpenFile(file, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return nil, "", nil, fmt.Errorf("-log-file: %w", err)
		}
		out, path, closeFn = fh, file, func() { _ = fh.Close() }
	case shareTerminal:
		// A new file per run, never a fixed path that another user could own or a past run fill.
		fh, err := os.CreateTemp("", "switchboard-demo-*.log")
		if err != nil {
			return nil, "", nil, fmt.Errorf("log file: %w", err)
		}
		out, path, closeFn = fh, fh.Name(), func() { _ = fh.Close() }
	}
	l.SetOutput(out)
	if fh, ok := out.(*os.File); ok && isTerminal(fh) {
		l.SetFormatter(&logrus.TextFormatter{FullTimestamp: true})
	} else {
		l.SetFormatter(&logrus.JSONFormatter{})
	}
	return l, path, closeFn, nil
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
