package test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/messages"
	"github.com/switchboard-go/switchboard/webhook"
)

// The proxy tests run the runtime through a real tinyproxy on 127.0.0.1. Go's
// http.ProxyFromEnvironment never proxies a loopback address, so they configure the proxy with
// WithProxy or a transport's Proxy, never HTTP_PROXY; the environment's place in the precedence is
// checked in the root package (proxy_internal_test.go).

const proxyUser = "switchboard"

// fakeslackHost returns the host:port of srv, as CONNECT lines name it.
func fakeslackHost(t *testing.T, srv *fakeslack.Server) string {
	t.Helper()
	u, err := url.Parse(srv.APIURL())
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// An app and an RTM workspace, their Web API calls (the socket opens and Event.Client's), both
// sockets and a response_url post, all through the proxy of WithProxy, with proxy auth.
func TestProxyCarriesAppWorkspaceAndWebhooks(t *testing.T) {
	t.Parallel()
	const pass = "pr0xy-PASSWORD-x1"
	px := startTinyproxy(t, proxyUser, pass)
	h := newRTMHarness(t, fakeslack.Options{Workspaces: 1}, switchboard.WithProxy(px.url(proxyUser, pass)))
	clients := make(chan error, 8)
	callAPI := func(ctx context.Context, ev *switchboard.Event) error {
		c, err := ev.Client(ctx)
		if err == nil {
			_, err = c.AuthTestContext(ctx)
		}
		clients <- err
		return nil
	}
	if err := h.rt.OnEvent("message", callAPI); err != nil {
		t.Fatal(err)
	}
	if err := h.rt.Handle(switchboard.Filter{Kinds: []messages.Kind{messages.KindRTM}, Types: []string{"message"}}, callAPI,
		switchboard.Named("rtm-messages")); err != nil {
		t.Fatal(err)
	}
	app := h.addApp(1)
	h.add(h.workspace(0))
	h.awaitConnected(2, 10*time.Second)

	ws := h.srv.Workspaces()[0]
	if _, err := h.srv.InjectMessages(context.Background(), app.ID, fakeslack.MessageStream{Team: ws.TeamID, Channel: ws.Channels[0].ID, TextPrefix: "via proxy ", Count: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.srv.InjectRTMMessage(ws.TeamID, fakeslack.RTMMessage{Channel: ws.Channels[0].ID, User: ws.Users[1].ID, Text: "Hello"}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case err := <-clients:
			if err != nil {
				t.Errorf("auth.test through the proxy: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("timed out waiting for the handlers' Web API calls")
		}
	}
	respURL, err := h.srv.IssueResponseURL("commands", ws.TeamID, ws.Channels[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.rt.Webhooks().Send(context.Background(), respURL, webhook.Message{Text: "via proxy"}); err != nil {
		t.Errorf("response_url post through the proxy: %v", err)
	}

	for what, min := range map[string]int{
		"/api/apps.connections.open":         1,
		"/api/rtm.connect":                   1,
		"/api/auth.test":                     2,
		"/commands/":                         1,
		"CONNECT " + fakeslackHost(t, h.srv): 2, // the Socket Mode and the RTM socket
	} {
		if n := px.count(t, what); n < min {
			t.Errorf("proxy saw %d requests with %q, want at least %d; it saw %q", n, what, min, px.requests(t))
		}
	}
	if strings.Contains(h.logs.String(), pass) {
		t.Errorf("the proxy password is in the logs")
	}
}

// Without WithProxy, the Proxy of WithHTTPClient's transport serves the Web API and the socket dial.
func TestProxyFromHTTPClientTransport(t *testing.T) {
	t.Parallel()
	const pass = "pr0xy-PASSWORD-x2"
	px := startTinyproxy(t, proxyUser, pass)
	tr := &http.Transport{Proxy: http.ProxyURL(px.url(proxyUser, pass))}
	t.Cleanup(tr.CloseIdleConnections) // after the runtime's Stop (cleanups run last first)
	h := newHarness(t, fakeslack.Options{}, switchboard.WithHTTPClient(&http.Client{Transport: tr, Timeout: 10 * time.Second}))
	h.addApp(1)
	h.awaitConnected(1, 10*time.Second)
	if n := px.count(t, "/api/apps.connections.open"); n != 1 {
		t.Errorf("proxy saw %d apps.connections.open, want 1: %q", n, px.requests(t))
	}
	if n := px.count(t, "CONNECT "+fakeslackHost(t, h.srv)); n != 1 {
		t.Errorf("proxy saw %d CONNECTs, want the socket's: %q", n, px.requests(t))
	}
}

// A wrong proxy password stops each link with a Fatal event and advice, after one refused call,
// whether the proxy refuses the Web API call (Socket Mode, RTM) or the socket's CONNECT (an RTM
// workspace whose own client goes direct and whose own dialer uses the proxy). The password is in
// no log line, error or Status.
func TestProxyWrongPasswordIsFatalWithoutRetryStorm(t *testing.T) {
	t.Parallel()
	const pass, wrong = "pr0xy-PASSWORD-x3", "WR0NG-PASSWORD-x3"
	px := startTinyproxy(t, proxyUser, pass)
	bad := px.url(proxyUser, wrong)
	h := newRTMHarness(t, fakeslack.Options{Workspaces: 2}, switchboard.WithProxy(bad))
	h.addApp(1)
	h.add(h.workspace(0))
	direct := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}, Timeout: 10 * time.Second}
	ws1 := h.workspace(1)
	ws1.HTTPClient = direct
	ws1.Dialer = &websocket.Dialer{HandshakeTimeout: 10 * time.Second, Proxy: http.ProxyURL(bad)}
	h.add(ws1)

	fatals := map[string]messages.Fatal{}
	for len(fatals) < 3 {
		ev := h.await(10*time.Second, "a fatal event per link", func(ev messages.Lifecycle) bool { _, ok := ev.(messages.Fatal); return ok })
		f := ev.(messages.Fatal)
		fatals[f.Link.Name] = f
	}
	for name, f := range fatals {
		if !errors.Is(f.Error, messages.ErrProxyAuth) {
			t.Errorf("%s: fatal error %v, want ErrProxyAuth", name, f.Error)
		}
		if !strings.Contains(f.Advice, "check the proxy credentials") {
			t.Errorf("%s: advice %q", name, f.Advice)
		}
		if s := f.Error.Error(); strings.Contains(s, wrong) || strings.Contains(s, pass) {
			t.Errorf("%s: fatal error %q holds a password", name, s)
		}
	}
	// A storm would be tens of calls a second with the harness's 20ms backoff: leave it a window to
	// show, then count what reached the proxy.
	<-time.After(2 * time.Second)
	for what, max := range map[string]int{
		"/api/apps.connections.open":         2,
		"/api/rtm.connect":                   2, // workspace 1's went direct
		"CONNECT " + fakeslackHost(t, h.srv): 2, // workspace 1's socket
	} {
		if n := px.count(t, what); n < 1 || n > max {
			t.Errorf("proxy saw %d requests with %q, want 1 to %d: %q", n, what, max, px.requests(t))
		}
	}
	for _, st := range h.rt.Status() {
		if st.State != switchboard.StateFatal {
			t.Errorf("%s: state %s, want fatal", st.Link.Name, st.State)
		}
		if strings.Contains(st.LastError, wrong) {
			t.Errorf("%s: Status.LastError %q holds the password", st.Link.Name, st.LastError)
		}
	}
	ws := h.srv.Workspaces()[0]
	respURL, err := h.srv.IssueResponseURL("commands", ws.TeamID, ws.Channels[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := h.rt.Webhooks().Send(context.Background(), respURL, webhook.Message{Text: "via proxy"})
	if err == nil || strings.Contains(err.Error(), wrong) {
		t.Errorf("response_url post through the refusing proxy: %v", err)
	}
	if resp != nil && resp.Attempts != 1 {
		t.Errorf("response_url post made %d attempts, want 1", resp.Attempts)
	}
	if logs := h.logs.String(); strings.Contains(logs, wrong) || !strings.Contains(logs, "check the proxy credentials") {
		t.Errorf("logs hold the password, or no advice:\n%s", logs)
	}
}
