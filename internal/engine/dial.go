package engine

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gorilla/websocket"
	"github.com/sirupsen/logrus"

	"github.com/switchboard-go/switchboard/internal/redact"
	"github.com/switchboard-go/switchboard/messages"
)

// maxFrameBytes bounds one frame read from Slack; a larger one ends the session.
const maxFrameBytes = 64 << 20

// DefaultOpenTimeout bounds one apps.connections.open or rtm.connect call when Env.OpenTimeout is
// zero, like the handshake and hello timeouts: a Web API that accepts the request and never
// answers ends the session (logged, retried) instead of leaving the link connecting forever.
const DefaultOpenTimeout = 10 * time.Second

// pacedKey marks, in a session's context, a session that spends the connect budget before it dials.
type pacedKey struct{}

// beginSession starts a connection incarnation's session: a new generation, the logger carrying
// it, and what the predecessor's failure left in state. It publishes Reconnecting when there was
// a failure, and returns the attempt number and the delay to wait before dialing. Every session
// but the link's first takes a slot of the runtime's connect budget before it calls Slack.
func beginSession(env *Env, state *LinkState, link messages.Link, fields logrus.Fields) (*session, *logrus.Entry, int, time.Duration) {
	gen := env.nextSession()
	delay, attempt, cause, first := state.begin(gen)
	parent := env.Ctx
	if !first {
		parent = context.WithValue(parent, pacedKey{}, true)
	}
	sess := newSession(parent, gen)
	if env.Flow != nil {
		sess.pool = env.Flow.credits
	}
	fields["session"] = gen
	log := env.Log.WithFields(fields)
	if cause != nil {
		log.WithError(cause).WithField("delay", delay.String()).Warn("session ended, reconnecting")
		env.publish(messages.Reconnecting{Link: link, Session: gen, Attempt: attempt, Delay: delay, Cause: cause})
	}
	return sess, log, attempt, delay
}

// dialSession opens a session's socket on a goroutine the session owns: it takes a slot of the
// connect budget (but for a link's first session), open asks the Web API for the URL (and returns
// the answer's body) within the open timeout, then the socket is dialed and attached. The
// connection (self) receives opened(body), or OpenFailed. Every step ends when the session
// closes; a dial that ends after the session closed closes its socket itself.
func dialSession(env *Env, sess *session, self *actor.PID, dialer *websocket.Dialer, header http.Header,
	open func(context.Context) (url string, body []byte, err error), opened func(body []byte) any) {
	env.Go(func() { // owner: the session. Ends when the dial ends or the session closes; Env.WG waits.
		if sess.ctx.Value(pacedKey{}) != nil {
			if err := env.Connects.Wait(sess.ctx); err != nil {
				return // the session closed: nobody waits for an answer
			}
		}
		url, body, err := openWithin(sess.ctx, env.openTimeout(), open)
		if err != nil {
			env.send(self, OpenFailed{Session: sess.gen, Err: err})
			return
		}
		ws, batch, resp, err := dialBatched(sess.ctx, dialer, url, header)
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		if err != nil {
			env.send(self, OpenFailed{Session: sess.gen, Err: &messages.SocketError{Op: "dial " + redact.URL(url), Err: err}})
			return
		}
		ws.SetReadLimit(maxFrameBytes)
		sess.batch = batch // before attach: the writer, spawned after, reads it
		if !sess.attach(ws) {
			_ = ws.Close()
			return
		}
		env.send(self, opened(body))
	})
}

func (e *Env) openTimeout() time.Duration {
	if e.OpenTimeout > 0 {
		return e.OpenTimeout
	}
	return DefaultOpenTimeout
}

// openWithin calls open with a deadline of d on top of ctx.
func openWithin(ctx context.Context, d time.Duration, open func(context.Context) (string, []byte, error)) (string, []byte, error) {
	octx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	url, body, err := open(octx)
	if err != nil && ctx.Err() == nil && octx.Err() != nil {
		err = fmt.Errorf("no answer within %v: %w", d, err)
	}
	return url, body, err
}

// dialContext dials like dialer.DialContext, but also ends the WebSocket handshake when ctx ends:
// gorilla watches ctx only while it connects, and then waits for the server's handshake answer
// until HandshakeTimeout. The connections it dials are closed when ctx ends before it returns.
// When dialer.Proxy names an http or https proxy, dialContext opens the CONNECT tunnel itself (see
// connectVia); other proxies (socks5) are left to gorilla.
func dialContext(ctx context.Context, dialer *websocket.Dialer, url string, header http.Header) (*websocket.Conn, *http.Response, error) {
	ws, _, resp, err := dialBatched(ctx, dialer, url, header)
	return ws, resp, err
}

// dialBatched is dialContext that also returns the socket's TCP connection, wrapped for the
// writer's batching (see batchConn).
func dialBatched(ctx context.Context, dialer *websocket.Dialer, url string, header http.Header) (*websocket.Conn, *batchConn, *http.Response, error) {
	var (
		mu     sync.Mutex
		conns  []net.Conn
		last   *batchConn
		closed bool
	)
	track := func(c net.Conn, err error) (net.Conn, error) {
		if err != nil {
			return c, err
		}
		mu.Lock()
		defer mu.Unlock()
		if closed {
			_ = c.Close()
			return nil, ctx.Err()
		}
		bc := &batchConn{Conn: c}
		conns = append(conns, bc)
		last = bc
		return bc, nil
	}
	var dial func(ctx context.Context, network, addr string) (net.Conn, error)
	switch {
	case dialer.NetDialContext != nil:
		dial = func(c context.Context, network, addr string) (net.Conn, error) {
			return track(dialer.NetDialContext(c, network, addr))
		}
	case dialer.NetDial != nil:
		dial = func(_ context.Context, network, addr string) (net.Conn, error) {
			return track(dialer.NetDial(network, addr))
		}
	default:
		var nd net.Dialer
		dial = func(c context.Context, network, addr string) (net.Conn, error) {
			return track(nd.DialContext(c, network, addr))
		}
	}
	d := *dialer
	d.NetDial, d.NetDialContext = nil, dial
	proxy, err := socketProxy(dialer, url)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("proxy: %w", err)
	}
	if proxy != nil && (proxy.Scheme == "http" || proxy.Scheme == "https") {
		// The tunnel is ours; TLS to Slack runs inside it, with TLSClientConfig.
		d.Proxy, d.NetDialTLSContext = nil, nil
		d.NetDialContext = func(c context.Context, network, addr string) (net.Conn, error) {
			return connectVia(c, dial, proxy, addr, dialer.TLSClientConfig)
		}
	} else if dialer.NetDialTLSContext != nil {
		d.NetDialTLSContext = func(c context.Context, network, addr string) (net.Conn, error) {
			return track(dialer.NetDialTLSContext(c, network, addr))
		}
	}
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		closed = true
		for _, c := range conns {
			_ = c.Close()
		}
	})
	ws, resp, err := d.DialContext(ctx, url, header)
	if !stop() && err == nil {
		// ctx ended while the handshake finished: the socket may be closed under it.
		_ = ws.Close()
		return nil, nil, resp, ctx.Err()
	}
	mu.Lock()
	defer mu.Unlock()
	return ws, last, resp, err
}

// socketProxy returns the proxy dialer.Proxy chooses for the socket URL raw, asked as gorilla
// asks it: with scheme http for ws and https for wss (so http.ProxyFromEnvironment reads
// HTTP_PROXY for ws:// and HTTPS_PROXY for wss://). Nil means a direct dial.
func socketProxy(dialer *websocket.Dialer, raw string) (*url.URL, error) {
	if dialer.Proxy == nil {
		return nil, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	}
	return dialer.Proxy(&http.Request{Method: http.MethodGet, URL: u, Host: u.Host, Header: http.Header{}})
}

// connectVia opens a tunnel to addr through the http or https proxy p, over a connection dial
// opens to p: a CONNECT carrying p's user and password as Proxy-Authorization (Basic), within
// ctx's deadline. Gorilla has its own, but it returns a refusal as its status text only; here it
// is a *messages.ProxyError, whose 407 or 401 (ErrProxyAuth) stops the link instead of retrying.
func connectVia(ctx context.Context, dial func(context.Context, string, string) (net.Conn, error),
	p *url.URL, addr string, tlsConf *tls.Config) (net.Conn, error) {
	host := p.Host
	if p.Port() == "" {
		port := "80"
		if p.Scheme == "https" {
			port = "443"
		}
		host = net.JoinHostPort(p.Hostname(), port)
	}
	conn, err := dial(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if p.Scheme == "https" {
		cfg := &tls.Config{}
		if tlsConf != nil {
			cfg = tlsConf.Clone()
		}
		cfg.ServerName = p.Hostname()
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("proxy %s: %w", redact.URL(p.String()), err)
		}
		conn = tc
	}
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: addr}, Host: addr, Header: http.Header{}}
	if p.User != nil {
		pass, _ := p.User.Password()
		cred := base64.StdEncoding.EncodeToString([]byte(p.User.Username() + ":" + pass))
		req.Header.Set("Proxy-Authorization", "Basic "+cred)
	}
	if err := req.Write(conn); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("proxy %s: connect: %w", redact.URL(p.String()), err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("proxy %s: connect: %w", redact.URL(p.String()), err)
	}
	_ = resp.Body.Close()
	if err := ProxyConnectResponse(ctx, p, req, resp); err != nil {
		_ = conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return conn, nil
}

// ProxyConnectResponse turns a proxy's refusal of a CONNECT (any status but 200) into a
// *messages.ProxyError; it is the runtime transports' http.Transport.OnProxyConnectResponse.
func ProxyConnectResponse(_ context.Context, p *url.URL, _ *http.Request, resp *http.Response) error {
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	return &messages.ProxyError{Proxy: redact.URL(p.String()), StatusCode: resp.StatusCode, Status: resp.Status}
}
