package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
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

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

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

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// The example, built and run against the stand-in as a child process: installed by OAuth into a
// new workspace, it greets in the thread of a message delivered over HTTP, and on SIGTERM stops
// and exits 0, with no token in its logs.
func TestHTTPBot(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "httpbot")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	srv, err := fakeslack.New(fakeslack.Options{Workspaces: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Close() }()
	app := srv.Apps()[0]
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	base := "http://" + addr

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SLACK_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "SLACK_APP_ID="+app.AppID, "SLACK_SIGNING_SECRET="+app.SigningSecret,
		"SLACK_CLIENT_ID="+app.ClientID, "SLACK_CLIENT_SECRET="+app.ClientSecret,
		"SLACK_REDIRECT_URL="+base+"/slack/oauth_redirect", "SLACK_API_URL="+srv.APIURL(),
		"SLACK_AUTHORIZE_URL="+srv.URL()+"/oauth/v2/authorize?team=new",
		"LISTEN="+addr, "INSTALLATIONS="+filepath.Join(dir, "installations.db"))
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }() // owner: the test; ends when the child exits (killed by ctx at the latest)
	defer func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("bot output:\n%s", logs.String())
		}
	}()
	if err := srv.ConfigureApp(app.AppID, fakeslack.AppConfig{RequestURL: base + "/slack/events", TokenRotation: true}); err != nil {
		t.Fatal(err)
	}
	var page string
	eventually(t, "the install page", func() bool {
		resp, err := http.Get(base + "/slack/install")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		page = string(b)
		return resp.StatusCode == 200
	})
	if !strings.Contains(page, "Installed") {
		t.Fatalf("install page: %s", page)
	}
	wss := srv.Workspaces()
	ws := wss[len(wss)-1]
	channel, user := ws.Channels[0].ID, ws.Users[0].ID
	if _, err := srv.InjectMessages(ctx, app.AppID, fakeslack.MessageStream{Team: ws.TeamID, Channel: channel, User: user, TextPrefix: "Hello ", Count: 1}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the greeting", func() bool {
		for _, m := range srv.History(channel) {
			if m.Text == "Hi <@"+user+">!" && m.ThreadTS != "" {
				return true
			}
		}
		return false
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Fatalf("exit: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("still running after SIGTERM")
	}
	if out := logs.String(); strings.Contains(out, "xoxb-") || strings.Contains(out, "xoxe") || strings.Contains(out, app.ClientSecret) {
		t.Errorf("a secret in the logs:\n%s", out)
	}
}
