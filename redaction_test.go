package switchboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/messages"
)

// A handler's panic value, and Slack's answers, reach the logs and Status redacted; the user's
// logger is not changed.
func TestLogsAndStatusRedacted(t *testing.T) {
	t.Parallel()
	srv, err := fakeslack.New(fakeslack.Options{Workspaces: 1, Apps: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ws, app := srv.Workspaces()[0], srv.Apps()[0]
	logs := &logSink{}
	log := logrus.New()
	log.SetOutput(logs)
	log.SetFormatter(&logrus.JSONFormatter{})
	formatter := log.Formatter
	rt, err := switchboard.New(switchboard.WithAPIURL(srv.APIURL()), switchboard.WithLogger(log),
		switchboard.WithBackoff(10*time.Millisecond, 50*time.Millisecond, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rt.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	}()
	if log.Formatter != formatter || len(log.Hooks) != 0 {
		t.Error("WithLogger changed the user's logger")
	}
	panicked := make(chan struct{}, 1)
	if err := rt.OnEvent("message", func(context.Context, *switchboard.Event) error {
		panicked <- struct{}{}
		panic("handler boom " + ws.BotToken + " " + ws.Webhooks[0].URL)
	}); err != nil {
		t.Fatal(err)
	}
	connected := make(chan struct{}, 10)
	_ = rt.OnLifecycle(func(ev messages.Lifecycle) {
		if _, ok := ev.(messages.Connected); ok {
			connected <- struct{}{}
		}
	})
	srv.RefuseOpens(app.AppID, 1, "weird_code "+ws.UserToken+" \x1b[31m", 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rt.AddApp(ctx, switchboard.App{ID: app.AppID, Token: app.AppToken}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-connected:
	case <-ctx.Done():
		t.Fatal("never connected")
	}
	if _, err := srv.InjectMessages(ctx, app.AppID, fakeslack.MessageStream{Team: ws.TeamID, Channel: ws.Channels[0].ID, TextPrefix: "m", Count: 1}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-panicked:
	case <-ctx.Done():
		t.Fatal("the handler never ran")
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(logs.String(), "handler boom") {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("the panic was not logged:\n%s", logs)
		}
	}
	st := rt.Status()
	if len(st) != 1 || !strings.Contains(st[0].LastError, "weird_code xoxp-…") {
		t.Errorf("Status: %+v", st)
	}
	text := logs.String() + st[0].LastError
	for _, secret := range []string{ws.BotToken[5:], ws.UserToken[5:], ws.Webhooks[0].URL[len(srv.URL()):]} {
		if strings.Contains(text, secret) {
			t.Errorf("%q in the logs or Status:\n%s", secret, text)
		}
	}
}

// A socket URL with a control character in its ticket, from a hostile or broken server, fails
// the dial; neither the ticket nor what follows the control character reaches the logs or Status.
func TestControlCharacterInSocketURL(t *testing.T) {
	t.Parallel()
	srv, err := fakeslack.New(fakeslack.Options{Workspaces: 1, Apps: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	target, _ := url.Parse(srv.URL())
	var mu sync.Mutex
	var tickets []string
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error { // breaks every socket URL
		if !strings.HasSuffix(resp.Request.URL.Path, "apps.connections.open") {
			return nil
		}
		var ans map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
			return err
		}
		_ = resp.Body.Close()
		if u, ok := ans["url"].(string); ok {
			i := strings.Index(u, "ticket=") + len("ticket=")
			j := i + strings.IndexByte(u[i:], '&')
			mu.Lock()
			tickets = append(tickets, u[i:j])
			mu.Unlock()
			ans["url"] = u[:j] + "\x01TAILSECRET" + u[j:]
		}
		b, _ := json.Marshal(ans)
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	front := httptest.NewServer(proxy)
	defer front.Close()

	logs := &logSink{}
	log := logrus.New()
	log.SetOutput(logs)
	log.SetLevel(logrus.DebugLevel)
	rt, err := switchboard.New(switchboard.WithAPIURL(front.URL+"/api/"), switchboard.WithLogger(log),
		switchboard.WithBackoff(10*time.Millisecond, 50*time.Millisecond, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rt.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	}()
	reconnecting := make(chan messages.Reconnecting, 100)
	_ = rt.OnLifecycle(func(ev messages.Lifecycle) {
		if r, ok := ev.(messages.Reconnecting); ok {
			select {
			case reconnecting <- r:
			default:
			}
		}
	})
	app := srv.Apps()[0]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rt.AddApp(ctx, switchboard.App{ID: app.AppID, Token: app.AppToken}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second Reconnecting: the first failure is in Status and the logs by then
		select {
		case <-reconnecting:
		case <-ctx.Done():
			t.Fatal("no reconnect after the broken socket URL")
		}
	}
	st := rt.Status()
	if len(st) != 1 || !strings.Contains(st[0].LastError, "dial") {
		t.Fatalf("Status: %+v", st)
	}
	text := logs.String() + "\n" + st[0].LastError
	t.Logf("last error: %q", st[0].LastError)
	mu.Lock()
	defer mu.Unlock()
	for _, tk := range tickets {
		if strings.Contains(text, tk) {
			t.Errorf("the ticket %s is in the logs or Status:\n%s", tk, text)
		}
	}
	if strings.Contains(text, "TAILSECRET") || strings.Contains(text, app.AppToken[5:]) {
		t.Errorf("a secret in the logs or Status:\n%s", text)
	}
	http.DefaultClient.CloseIdleConnections()
}
