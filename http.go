package switchboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboard-go/switchboard/internal/engine"
	"github.com/switchboard-go/switchboard/messages"
)

// Transport is how an app receives its events: SocketMode (the default) or HTTP.
type Transport string

// Transports of an App.
const (
	// SocketMode: the runtime opens the app's sockets with its app-level token (App.Token).
	SocketMode Transport = "socketmode"
	// HTTP: Slack posts the app's events, commands and interactions to its request URL, which
	// the runtime serves (HTTPHandler, ListenAndServe); App.SigningSecret verifies them.
	HTTP Transport = "http"
)

// MaxHTTPBody bounds the body of a request HTTPHandler accepts (413 above it).
const MaxHTTPBody = 1 << 20

// httpApp is an app that receives its events over HTTP.
type httpApp struct {
	id      string
	secret  string
	clients engine.ClientSource
	link    messages.Link
}

// HTTPHandler returns the handler of the apps added with Transport HTTP: mount it at their request
// URL (for events, slash commands and interactivity alike) on a server of yours, or use
// ListenAndServe. It takes POST requests only, of at most MaxHTTPBody bytes, as JSON (Events API)
// or form-encoded (commands, interactions with payload=). An app is picked by the last path
// element when it is an app's ID (/slack/events/A0123), else when only one HTTP app is added,
// that one, else by the body's api_app_id. Every request's signature is verified with the app's
// signing secret (v0, timestamp within 5 minutes); a failure is a bare 401. url_verification is
// answered with its challenge, app_rate_limited logged, ssl_check answered 200; events, commands and interactions go to
// the same dispatcher, dedupe, handlers and flow control as Socket Mode envelopes (Link.Transport
// is "http"), and the answer is the ack: 200 with a handler's Respond payload or empty, within the
// response deadline. While the flow gate holds readers back, or when the event is not in every
// queue by then, the answer is 503 and nothing is acked, so that Slack retries (the retry's
// X-Slack-Retry-Num is Event.RetryAttempt; a retry of an event already in is dropped as a
// duplicate and answered 200). Bad requests are 4xx (with X-Slack-No-Retry: 1 but for a 404)
// and logged without bodies or secrets.
func (rt *Runtime) HTTPHandler() http.Handler { return httpReceiver{rt} }

type httpReceiver struct{ rt *Runtime }

func (h httpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt := h.rt
	received := time.Now()
	log := rt.log.WithField("remote", r.RemoteAddr)
	refuse := func(status int, reason string) {
		log.WithField("status", status).WithField("reason", reason).Warn("http request refused")
		if status != http.StatusNotFound { // an app not added yet may be by the retry
			w.Header().Set("X-Slack-No-Retry", "1") // the same request would be refused again
		}
		http.Error(w, reason, status)
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		refuse(http.StatusMethodNotAllowed, "method not allowed: POST only")
		return
	}
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (ct != "application/json" && ct != "application/x-www-form-urlencoded") {
		refuse(http.StatusUnsupportedMediaType, "content type must be application/json or application/x-www-form-urlencoded")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxHTTPBody))
	if err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			refuse(http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", MaxHTTPBody))
			return
		}
		refuse(http.StatusBadRequest, "body unreadable")
		return
	}
	var form url.Values
	if ct == "application/x-www-form-urlencoded" {
		if form, err = url.ParseQuery(string(body)); err != nil {
			refuse(http.StatusBadRequest, "malformed form body")
			return
		}
	}
	app := rt.pickHTTPApp(r.URL.Path, body, form)
	if app == nil {
		refuse(http.StatusNotFound, "no http app for this request")
		return
	}
	log = log.WithField("app", app.id)
	if reason := verifySignature(r.Header, app.secret, body); reason != "" {
		log.WithField("status", http.StatusUnauthorized).WithField("reason", reason).Warn("http request refused")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if rt.isStopped() {
		http.Error(w, "stopping", http.StatusServiceUnavailable)
		return
	}
	ev := engine.HTTPEvent{
		Link: app.link, Clients: app.clients, Received: received,
		Deadline: rt.cfg.responseDeadline, AckAfterHandlers: rt.cfg.ackAfterHandlers,
	}
	ev.RetryAttempt, _ = strconv.Atoi(r.Header.Get("X-Slack-Retry-Num"))
	ev.RetryReason = r.Header.Get("X-Slack-Retry-Reason")
	switch {
	case form == nil:
		var head struct {
			Type      string `json:"type"`
			Challenge string `json:"challenge"`
		}
		if err := json.Unmarshal(body, &head); err != nil {
			refuse(http.StatusBadRequest, "malformed json body")
			return
		}
		switch head.Type {
		case "url_verification":
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]string{"challenge": head.Challenge})
			return
		case "app_rate_limited":
			log.Warn("slack rate-limits this app's events (app_rate_limited): some are not delivered")
			w.WriteHeader(http.StatusOK)
			return
		case "event_callback":
			ev.Kind, ev.Payload = messages.KindEventsAPI, body
		default:
			refuse(http.StatusBadRequest, fmt.Sprintf("unknown event type %q", head.Type))
			return
		}
	case form.Has("ssl_check"):
		w.WriteHeader(http.StatusOK) // Slack checking the certificate of a command's URL
		return
	case form.Has("payload"):
		ev.Kind, ev.Payload = messages.KindInteractive, []byte(form.Get("payload"))
		var head struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(ev.Payload, &head); err != nil {
			refuse(http.StatusBadRequest, "malformed interaction payload")
			return
		}
		ev.Accepts = head.Type == "view_submission" || head.Type == "block_suggestion"
	case form.Has("command"):
		fields := make(map[string]string, len(form))
		for k := range form {
			fields[k] = form.Get(k)
		}
		ev.Kind, ev.Accepts = messages.KindSlashCommand, true
		ev.Payload, _ = json.Marshal(fields)
	default:
		refuse(http.StatusBadRequest, "unknown form body: neither payload nor command")
		return
	}
	answer, err := engine.InjectHTTP(r.Context(), rt.env, ev)
	switch {
	case errors.Is(err, engine.ErrMalformedPayload):
		refuse(http.StatusBadRequest, "malformed "+string(ev.Kind)+" payload")
		return
	case err != nil:
		log.WithField("kind", string(ev.Kind)).Warn("http event not accepted in time (flow control or stopping): 503, slack retries events")
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	if len(answer) == 0 {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(answer)
}

// verifySignature checks a request's v0 signature; it returns why it fails, or "".
func verifySignature(h http.Header, secret string, body []byte) string {
	sv, err := slack.NewSecretsVerifier(h, secret)
	switch {
	case errors.Is(err, slack.ErrExpiredTimestamp):
		return "stale timestamp (more than 5 minutes off)"
	case err != nil:
		return "missing or malformed signature headers"
	}
	if _, err := sv.Write(body); err != nil {
		return "signature check failed"
	}
	if sv.Ensure() != nil {
		return "wrong signature"
	}
	return ""
}

// pickHTTPApp finds the app a request is for: by path, as the only one, or by api_app_id.
func (rt *Runtime) pickHTTPApp(p string, body []byte, form url.Values) *httpApp {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if a := rt.httpApps[path.Base(p)]; a != nil {
		return a
	}
	if len(rt.httpApps) == 1 {
		for _, a := range rt.httpApps {
			return a
		}
	}
	var id struct {
		APIAppID string `json:"api_app_id"`
	}
	switch {
	case form == nil:
		_ = json.Unmarshal(body, &id)
	case form.Has("payload"):
		_ = json.Unmarshal([]byte(form.Get("payload")), &id)
	default:
		id.APIAppID = form.Get("api_app_id")
	}
	return rt.httpApps[id.APIAppID]
}

// addHTTPApp adds an app with Transport HTTP.
func (rt *Runtime) addHTTPApp(app App) error {
	if app.ID == "" {
		return errors.New("switchboard: an http app needs its ID (Slack's app ID, the api_app_id of its requests)")
	}
	if app.SigningSecret == "" {
		return fmt.Errorf("%w: http app %s has no signing secret (is SLACK_SIGNING_SECRET set?)", ErrEmptyToken, app.ID)
	}
	clients := rt.clientSource(app.Installations)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.stopped {
		return ErrStopped
	}
	if _, ok := rt.apps[app.ID]; ok {
		return fmt.Errorf("%w: app %s (RemoveApp it first to add it again)", ErrAlreadyAdded, app.ID)
	}
	rt.apps[app.ID] = nil
	rt.httpApps[app.ID] = &httpApp{id: app.ID, secret: app.SigningSecret, clients: clients,
		link: messages.Link{Transport: messages.HTTP, App: app.ID, Name: app.ID + "/http"}}
	return nil
}

// Server timeouts of ListenAndServe and Serve.
const (
	httpReadHeaderTimeout = 5 * time.Second
	httpReadTimeout       = 10 * time.Second
	httpWriteTimeout      = 10 * time.Second // above the 3 s Slack waits for an answer
	httpIdleTimeout       = 2 * time.Minute
	httpShutdownTimeout   = 5 * time.Second
)

// ListenAndServe serves h (HTTPHandler when nil) on addr until ctx ends, then shuts the server
// down gracefully (requests in flight get 5 s). Its timeouts: 5 s to read the headers, 10 s for the
// request, 10 s to write the answer, 2 min idle. It returns nil once ctx has ended, or the error
// that stopped the server. To serve HTTPHandler beside other routes (an oauth.Installer,
// ops.Handler), give it a mux of yours.
func (rt *Runtime) ListenAndServe(ctx context.Context, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("switchboard: listen: %w", err)
	}
	return rt.Serve(ctx, ln, h)
}

// Serve is ListenAndServe on a listener of yours; it closes ln.
func (rt *Runtime) Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	if h == nil {
		h = rt.HTTPHandler()
	}
	srv := &http.Server{
		Handler: h, ReadHeaderTimeout: httpReadHeaderTimeout, ReadTimeout: httpReadTimeout,
		WriteTimeout: httpWriteTimeout, IdleTimeout: httpIdleTimeout,
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }() // owner: Serve; ends at Shutdown below
	select {
	case err := <-done:
		return fmt.Errorf("switchboard: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), httpShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-done
	if err != nil {
		return fmt.Errorf("switchboard: shut down the http server: %w", err)
	}
	return nil
}
