package engine

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboard-go/switchboard/messages"
)

// connectProxy is a CONNECT-only proxy asking for Basic credentials user:pass; it tracks the
// tunnels it opened so that close ends them.
type connectProxy struct {
	user, pass string
	mu         sync.Mutex
	conns      []net.Conn
	wg         sync.WaitGroup
}

func (p *connectProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "connect only", http.StatusMethodNotAllowed)
		return
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(p.user+":"+p.pass))
	if r.Header.Get("Proxy-Authorization") != want {
		w.Header().Set("Proxy-Authenticate", `Basic realm="test"`)
		http.Error(w, "proxy auth", http.StatusProxyAuthRequired)
		return
	}
	up, err := net.Dial("tcp", r.Host)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	down, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		_ = up.Close()
		return
	}
	_, _ = io.WriteString(down, "HTTP/1.1 200 Connection established\r\n\r\n")
	p.mu.Lock()
	p.conns = append(p.conns, up, down)
	p.mu.Unlock()
	p.wg.Add(2)
	go func() { defer p.wg.Done(); _, _ = io.Copy(up, down); _ = up.Close() }()   // owner: the proxy; ends at close
	go func() { defer p.wg.Done(); _, _ = io.Copy(down, up); _ = down.Close() }() // owner: the proxy; ends at close
}

func (p *connectProxy) close() {
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// echoServer is a WebSocket server echoing each message.
func echoServer(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			mt, data, err := c.ReadMessage()
			if err != nil || c.WriteMessage(mt, data) != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// dialContext opens the tunnel itself through http and https proxies, with the proxy URL's
// credentials; a refusal is a *messages.ProxyError, a 407 matching ErrProxyAuth and fatal.
func TestDialThroughProxy(t *testing.T) {
	target := echoServer(t)
	for _, tlsProxy := range []bool{false, true} {
		name := "http proxy"
		if tlsProxy {
			name = "https proxy"
		}
		t.Run(name, func(t *testing.T) {
			px := &connectProxy{user: "u", pass: "pa ss:SECRET"}
			var srv *httptest.Server
			if tlsProxy {
				srv = httptest.NewTLSServer(px)
			} else {
				srv = httptest.NewServer(px)
			}
			t.Cleanup(func() { px.close(); srv.Close() })
			pu, _ := url.Parse(srv.URL)
			var tc *tls.Config
			if tlsProxy {
				tc = srv.Client().Transport.(*http.Transport).TLSClientConfig
			}
			dial := func(pass string) (*websocket.Conn, error) {
				u := *pu
				u.User = url.UserPassword("u", pass)
				d := &websocket.Dialer{HandshakeTimeout: 5 * time.Second, Proxy: http.ProxyURL(&u), TLSClientConfig: tc}
				ws, resp, err := dialContext(context.Background(), d, target, nil)
				if resp != nil && resp.Body != nil {
					_ = resp.Body.Close()
				}
				return ws, err
			}
			ws, err := dial(px.pass)
			if err != nil {
				t.Fatalf("dial through the proxy: %v", err)
			}
			if err := ws.WriteMessage(websocket.TextMessage, []byte("ping")); err != nil {
				t.Fatal(err)
			}
			if _, data, err := ws.ReadMessage(); err != nil || string(data) != "ping" {
				t.Fatalf("echo = %q, %v", data, err)
			}
			_ = ws.Close()

			_, err = dial("wrong-SECRET")
			var pe *messages.ProxyError
			if !errors.As(err, &pe) || pe.StatusCode != http.StatusProxyAuthRequired || !errors.Is(err, messages.ErrProxyAuth) {
				t.Fatalf("wrong password: %v, want a 407 ProxyError", err)
			}
			if messages.Classify(err) != messages.Stop || messages.Advice(err) == "" {
				t.Errorf("wrong password: verdict %v, advice %q", messages.Classify(err), messages.Advice(err))
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error %q holds the password", err)
			}
		})
	}
}

// The open calls turn a proxy's 407 into ErrProxyAuth; a 401 only when a proxy carried the call.
func TestOpenProxyRefusal(t *testing.T) {
	for _, tt := range []struct {
		status int
		proxy  bool
		want   bool
	}{
		{http.StatusProxyAuthRequired, true, true},
		{http.StatusProxyAuthRequired, false, true},
		{http.StatusUnauthorized, true, true},
		{http.StatusUnauthorized, false, false},
		{http.StatusForbidden, true, false},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "<html>no</html>", tt.status)
		}))
		tr := &http.Transport{}
		apiURL := srv.URL + "/api/"
		if tt.proxy { // srv is the proxy: the call goes to it as an absolute-URI request
			pu, _ := url.Parse(srv.URL)
			pu.User = url.UserPassword("u", "SECRET")
			tr.Proxy, apiURL = http.ProxyURL(pu), "http://slack.test/api/"
		}
		_, _, err := openWebSocketURL(context.Background(), &http.Client{Transport: tr}, apiURL, "rtm.connect", "xoxb-1", nil)
		tr.CloseIdleConnections()
		srv.Close()
		if got := errors.Is(err, messages.ErrProxyAuth); got != tt.want {
			t.Errorf("status %d, proxy %v: %v; ErrProxyAuth %v, want %v", tt.status, tt.proxy, err, got, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "SECRET") {
			t.Errorf("error %q holds the proxy password", err)
		}
	}
}
