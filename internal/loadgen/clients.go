package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// A Client connects every socket of a World and counts what it handles in c until ctx ends; it
// returns ctx's error then, or the first failure before.
type Client func(ctx context.Context, w World, c *Counter) error

// ClientNamed returns the reference client called name: "bare", "ceiling", "ceiling-coalesced"
// or "bare-rtm".
func ClientNamed(name string) (Client, bool) {
	switch name {
	case "bare":
		return Bare, true
	case "ceiling":
		return Ceiling, true
	case "ceiling-coalesced":
		return CeilingCoalesced, true
	case "bare-rtm":
		return BareRTM, true
	}
	return nil, false
}

// envelope is a Socket Mode frame as a bare client decodes it: the payload stays raw.
type envelope struct {
	EnvelopeID             string          `json:"envelope_id"`
	Type                   string          `json:"type"`
	Payload                json.RawMessage `json:"payload"`
	AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	RetryAttempt           int             `json:"retry_attempt"`
	RetryReason            string          `json:"retry_reason"`
	Reason                 string          `json:"reason"` // disconnect
}

// ack is a Socket Mode acknowledgement.
type ack struct {
	EnvelopeID string `json:"envelope_id"`
}

// rtmFrame is an RTM frame as a bare client decodes it: what a bot reads of a message.
type rtmFrame struct {
	Type     string `json:"type"`
	Subtype  string `json:"subtype"`
	Channel  string `json:"channel"`
	User     string `json:"user"`
	Team     string `json:"team"`
	Text     string `json:"text"`
	TS       string `json:"ts"`
	ThreadTS string `json:"thread_ts"`
}

// Bare is the bare Socket Mode loop on each socket: gorilla's ReadMessage, encoding/json decodes
// the envelope (payload left raw), json.Marshal renders the ack, WriteMessage writes it.
func Bare(ctx context.Context, w World, c *Counter) error {
	return eachSocket(ctx, w, "apps.connections.open", func(ws *websocket.Conn) error {
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return err
			}
			var env envelope
			if err := json.Unmarshal(data, &env); err != nil {
				return err
			}
			switch env.Type {
			case "events_api", "slash_commands", "interactive":
				b, err := json.Marshal(ack{EnvelopeID: env.EnvelopeID})
				if err != nil {
					return err
				}
				if err := ws.WriteMessage(websocket.TextMessage, b); err != nil {
					return err
				}
				c.Add()
			case "disconnect":
				return fmt.Errorf("disconnect: %s", env.Reason)
			}
		}
	})
}

// Ceiling is the least a Socket Mode client can do: find the envelope_id with a byte search and
// ack it, decoding nothing.
func Ceiling(ctx context.Context, w World, c *Counter) error {
	return eachSocket(ctx, w, "apps.connections.open", func(ws *websocket.Conn) error {
		out := make([]byte, 0, 64)
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return err
			}
			id := envelopeIDOf(data)
			if id == nil {
				continue // hello
			}
			out = append(append(append(out[:0], `{"envelope_id":"`...), id...), `"}`...)
			if err := ws.WriteMessage(websocket.TextMessage, out); err != nil {
				return err
			}
			c.Add()
		}
	})
}

// CeilingCoalesced is Ceiling with its acks coalesced: a reader goroutine finds each envelope_id
// and hands it to a writer goroutine, which writes every ack waiting into a buffer and sends the
// buffer with one write(2) once none is left waiting.
func CeilingCoalesced(ctx context.Context, w World, c *Counter) error {
	return eachSocketDialer(ctx, w, "apps.connections.open", coalescingDialer(), func(ws *websocket.Conn) error {
		fc := ws.UnderlyingConn().(*flushConn)
		fc.buffer()
		ws.SetPingHandler(func(data string) error { // pongs must not wait for the next ack
			err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
			if err == nil {
				err = fc.flush()
			}
			return err
		})
		ids := make(chan []byte, 256)
		wrote := make(chan struct{})
		var werr error
		go func() { // owner: this loop. Ends when ids closes or a write fails; waited for below.
			defer close(wrote)
			werr = writeAcks(ws, fc, ids, c)
		}()
		defer func() {
			close(ids)
			<-wrote
		}()
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return err
			}
			if id := envelopeIDOf(data); id != nil {
				select {
				case ids <- id: // data is ReadMessage's own buffer: id stays valid
				case <-wrote:
					return werr
				}
			}
		}
	})
}

// writeAcks writes an ack per ID from ids into fc's buffer, flushing whenever ids is empty.
func writeAcks(ws *websocket.Conn, fc *flushConn, ids <-chan []byte, c *Counter) error {
	out := make([]byte, 0, 64)
	write := func(id []byte) error {
		out = append(append(append(out[:0], `{"envelope_id":"`...), id...), `"}`...)
		if err := ws.WriteMessage(websocket.TextMessage, out); err != nil {
			return err
		}
		c.Add()
		return nil
	}
	for id := range ids {
		if err := write(id); err != nil {
			return err
		}
	waiting:
		for {
			select {
			case next, ok := <-ids:
				if !ok {
					break waiting
				}
				if err := write(next); err != nil {
					return err
				}
			default:
				break waiting
			}
		}
		if err := fc.flush(); err != nil {
			return err
		}
	}
	return nil
}

// flushConn holds writes in a buffer, once buffer was called (after the handshake), until flush.
type flushConn struct {
	net.Conn
	mu  sync.Mutex
	on  bool
	buf []byte
}

func (f *flushConn) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.on {
		return f.Conn.Write(p)
	}
	f.buf = append(f.buf, p...)
	return len(p), nil
}

func (f *flushConn) buffer() {
	f.mu.Lock()
	f.on = true
	f.mu.Unlock()
}

func (f *flushConn) flush() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.buf) == 0 {
		return nil
	}
	_, err := f.Conn.Write(f.buf)
	f.buf = f.buf[:0]
	return err
}

// coalescingDialer dials sockets whose net.Conn is a flushConn.
func coalescingDialer() *websocket.Dialer {
	d := *websocket.DefaultDialer
	d.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var nd net.Dialer
		c, err := nd.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &flushConn{Conn: c}, nil
	}
	return &d
}

// BareRTM is the bare RTM loop on each socket: ReadMessage, then encoding/json decodes the
// frame's message fields; every message counts.
func BareRTM(ctx context.Context, w World, c *Counter) error {
	return eachSocket(ctx, w, "rtm.connect", func(ws *websocket.Conn) error {
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return err
			}
			var f rtmFrame
			if err := json.Unmarshal(data, &f); err != nil {
				return err
			}
			if f.Type == "message" {
				c.Add()
			}
		}
	})
}

// eachSocket opens w.Conns sockets per token with method and runs loop on each in a goroutine of
// its own, until ctx ends (the sockets are closed then) or a loop fails.
func eachSocket(ctx context.Context, w World, method string, loop func(*websocket.Conn) error) error {
	return eachSocketDialer(ctx, w, method, websocket.DefaultDialer, loop)
}

// eachSocketDialer is eachSocket with the sockets dialed by d.
func eachSocketDialer(ctx context.Context, w World, method string, d *websocket.Dialer, loop func(*websocket.Conn) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, len(w.Tokens)*w.Conns)
	for _, tok := range w.Tokens {
		for range w.Conns {
			url, err := openSocketURL(ctx, w.API, method, tok)
			if err != nil {
				cancel()
				wg.Wait()
				return err
			}
			ws, _, err := d.DialContext(ctx, url, nil)
			if err != nil {
				cancel()
				wg.Wait()
				return fmt.Errorf("dial: %w", err)
			}
			wg.Add(2)
			go func() { // owner: eachSocket. Ends when the loop fails or the socket closes; waited below.
				defer wg.Done()
				errc <- loop(ws)
			}()
			go func() { // owner: eachSocket. Closes the socket once ctx ends; waited below.
				defer wg.Done()
				<-ctx.Done()
				_ = ws.Close()
			}()
		}
	}
	var err error
	select {
	case <-ctx.Done():
		err = ctx.Err()
	case err = <-errc:
	}
	cancel()
	wg.Wait()
	return err
}

// openSocketURL calls apps.connections.open or rtm.connect and returns the socket URL.
func openSocketURL(ctx context.Context, api, method, token string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, api+method, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("%s: %w", method, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("%s: %w", method, err)
	}
	var a struct {
		OK    bool   `json:"ok"`
		URL   string `json:"url"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return "", fmt.Errorf("%s: %w", method, err)
	}
	if !a.OK {
		return "", errors.New(method + ": " + a.Error)
	}
	return a.URL, nil
}
