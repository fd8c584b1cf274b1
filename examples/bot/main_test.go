package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/switchboard-go/switchboard/fakeslack"
)

// binDir holds the bot built once for every test; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "switchboard-bot-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	goleak.VerifyTestMain(m, goleak.Cleanup(func(int) { _ = os.RemoveAll(dir) }))
}

var build struct {
	once sync.Once
	bin  string
	err  error
}

// buildBot builds this package, the README's bot, once: the tests run it as a child process, as a
// person would.
func buildBot(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		build.bin = filepath.Join(binDir, "bot")
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", "build", "-o", build.bin, ".").CombinedOutput()
		if err != nil {
			build.err = errors.New("go build: " + err.Error() + "\n" + string(out))
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.bin
}

// syncBuffer is the child's stderr, written by exec's copying goroutine and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// bot is the bot running as a child process; the test's cleanup kills it if the test did not
// stop it.
type bot struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan error // the result of Wait, once
}

// startBot runs the bot with env (SLACK_* variables of the test's own environment left out).
func startBot(t *testing.T, env ...string) *bot {
	t.Helper()
	bin := buildBot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	b := &bot{cmd: exec.CommandContext(ctx, bin), stderr: &syncBuffer{}, done: make(chan error, 1)}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SLACK_") {
			b.cmd.Env = append(b.cmd.Env, kv)
		}
	}
	b.cmd.Env = append(b.cmd.Env, env...)
	b.cmd.Stdout, b.cmd.Stderr = b.stderr, b.stderr
	b.cmd.WaitDelay = 5 * time.Second
	if err := b.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() { b.done <- b.cmd.Wait() }() // owner: the test; ends when the child exits (killed at the latest by ctx)
	t.Cleanup(func() {
		cancel() // kills the child if it still runs
		<-b.done
		if t.Failed() || testing.Verbose() {
			t.Logf("bot output:\n%s", b.stderr.String())
		}
	})
	return b
}

// wait returns the child's exit error, failing the test if it does not exit within d.
func (b *bot) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case err := <-b.done:
		b.done <- err // for the cleanup
		return err
	case <-time.After(d):
		t.Fatalf("bot still running after %v", d)
		return nil
	}
}

// eventually polls cond every 10ms for up to 10s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// The README's bot, built and run against the stand-in: it greets in the thread, answers /deploy
// in the ack, and on SIGTERM stops gracefully and exits 0, with no token in its logs.
func TestBot(t *testing.T) {
	t.Parallel()
	srv, err := fakeslack.New(fakeslack.Options{Workspaces: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ws, app := srv.Workspaces()[0], srv.Apps()[0]
	b := startBot(t, "SLACK_API_URL="+srv.APIURL(), "SLACK_APP_TOKEN="+app.AppToken, "SLACK_BOT_TOKEN="+ws.BotToken)
	eventually(t, "the bot's socket", func() bool { return len(srv.Connections(app.AppID)) == 1 })

	channel, user := ws.Channels[0].ID, ws.Users[0].ID
	if _, err := srv.InjectMessages(context.Background(), app.AppID, fakeslack.MessageStream{
		Team: ws.TeamID, Channel: channel, User: user, TextPrefix: "Hello from ", Count: 1}); err != nil {
		t.Fatal(err)
	}
	var reply fakeslack.Message
	eventually(t, "the bot's reply", func() bool {
		h := srv.History(channel)
		if len(h) == 0 {
			return false
		}
		reply = h[len(h)-1]
		return true
	})
	if reply.Text != "Hi <@"+user+">!" || reply.ThreadTS == "" || reply.Via != "chat.postMessage" {
		t.Errorf("reply %+v, want Hi <@%s>! in a thread, by chat.postMessage", reply, user)
	}

	inj, err := srv.InjectSlashCommand(app.AppID, fakeslack.SlashCommand{Team: ws.TeamID, Command: "/deploy", Text: "api"})
	if err != nil {
		t.Fatal(err)
	}
	var ack []byte
	eventually(t, "the /deploy ack", func() bool {
		p, ok := srv.AckPayload(inj.EnvelopeID)
		ack = p
		return ok
	})
	if want := `{"response_type":"in_channel","text":"deploying api"}`; string(ack) != want {
		t.Errorf("/deploy ack %s, want %s", ack, want)
	}

	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := b.wait(t, 15*time.Second); err != nil {
		t.Errorf("after SIGTERM: %v, want exit 0", err)
	}
	eventually(t, "the socket closed", func() bool { return len(srv.Connections(app.AppID)) == 0 })
	out := b.stderr.String()
	for _, tok := range []string{app.AppToken, ws.BotToken} {
		if strings.Contains(out, tok) {
			t.Errorf("a token in the bot's output:\n%s", out)
		}
	}
}

// Without its tokens the bot says which to set and exits 1 at once, rather than wait for
// nothing.
func TestBotNoToken(t *testing.T) {
	t.Parallel()
	b := startBot(t, "SLACK_BOT_TOKEN=xoxb-1-2-x")
	var ee *exec.ExitError
	if err := b.wait(t, 10*time.Second); !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("exit %v, want status 1", err)
	}
	if out := b.stderr.String(); !strings.Contains(out, "set SLACK_APP_TOKEN") {
		t.Errorf("output %q does not say what to set", out)
	}
}

// A link Slack stops for good (here, a revoked app token) ends the bot with exit status 1 and
// the advice, instead of a bot that runs and hears nothing.
func TestBotFatal(t *testing.T) {
	t.Parallel()
	srv, err := fakeslack.New(fakeslack.Options{Workspaces: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ws, app := srv.Workspaces()[0], srv.Apps()[0]
	if !srv.RevokeToken(app.AppToken) {
		t.Fatal("revoke: unknown token")
	}
	b := startBot(t, "SLACK_API_URL="+srv.APIURL(), "SLACK_APP_TOKEN="+app.AppToken, "SLACK_BOT_TOKEN="+ws.BotToken)
	var ee *exec.ExitError
	if err := b.wait(t, 15*time.Second); !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("exit %v, want status 1", err)
	}
	if out := b.stderr.String(); !strings.Contains(out, "bot: "+app.AppID+"/1 stopped: ") || !strings.Contains(out, "token_revoked") {
		t.Errorf("output does not say the link stopped:\n%s", out)
	}
}
