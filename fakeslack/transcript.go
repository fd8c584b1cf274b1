package fakeslack

import (
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"
)

// Kind classifies a transcript entry.
type Kind string

// Transcript entry kinds.
const (
	KindAPI      Kind = "api"       // a Web API call; Method and Status set, Data holds its arguments
	KindFrameIn  Kind = "frame_in"  // a WebSocket frame a client sent
	KindFrameOut Kind = "frame_out" // a WebSocket frame the server sent
	KindAck      Kind = "ack"       // a Socket Mode ack matched to an envelope; Data is the ack's payload
	KindWebhook  Kind = "webhook"   // an incoming webhook or response_url post; Status is the answer
	KindConn     Kind = "conn"      // a socket opened or closed; Status says which and why
	KindHTTP     Kind = "http"      // a request to an app's request URL; Status is its HTTP status or failure, Data its body
)

// Entry is one thing a client sent or the server answered.
type Entry struct {
	Seq    uint64    `json:"seq"`
	Time   time.Time `json:"time"`
	Kind   Kind      `json:"kind"`
	Conn   string    `json:"conn,omitempty"`   // socket ID for socket entries
	Team   string    `json:"team,omitempty"`   // team ID, when known
	App    string    `json:"app,omitempty"`    // app ID, when known
	Method string    `json:"method,omitempty"` // Web API method, envelope type, or webhook kind
	Status string    `json:"status,omitempty"` // "ok", an error code, or an HTTP status
	// Data is the frame, ack payload, request arguments (without token) or webhook body. The
	// server never modifies it after recording: treat it as read-only.
	Data []byte `json:"-"`
}

// MarshalJSON renders Data as text.
func (e Entry) MarshalJSON() ([]byte, error) {
	type plain Entry
	return json.Marshal(struct {
		plain
		Data string `json:"data,omitempty"`
	}{plain(e), string(e.Data)})
}

// UnmarshalJSON reads what MarshalJSON wrote (a line of a recording).
func (e *Entry) UnmarshalJSON(b []byte) error {
	type plain Entry
	var v struct {
		plain
		Data string `json:"data"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*e = Entry(v.plain)
	if v.Data != "" {
		e.Data = []byte(v.Data)
	}
	return nil
}

// Transcript is a bounded, ordered record of traffic, oldest entries dropped first: at most
// Options.TranscriptSize entries holding at most Options.TranscriptBytes of Data in all.
type Transcript struct {
	mu       sync.Mutex
	size     int     // entries kept at most; < 0: none
	maxBytes int     // Data bytes kept at most
	buf      []Entry // ring storage, grown up to size
	start, n int     // oldest entry's index, entries kept
	bytes    int     // Data bytes kept
	seq      uint64
	rec      *recorder // Options.Record; nil for none. Set once by newTranscript.
}

// newTranscript makes a transcript; rec may be nil.
func newTranscript(size, maxBytes int, rec *recorder) *Transcript {
	return &Transcript{size: size, maxBytes: maxBytes, rec: rec}
}

func (t *Transcript) add(e Entry) {
	if t.size < 0 && t.rec == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	e.Seq = t.seq
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if t.rec != nil {
		t.rec.write(e)
	}
	if t.size < 1 {
		return
	}
	for t.n > 0 && (t.n == t.size || t.bytes+len(e.Data) > t.maxBytes) {
		old := &t.buf[t.start]
		t.bytes -= len(old.Data)
		*old = Entry{}
		t.start = (t.start + 1) % len(t.buf)
		t.n--
	}
	if t.n == len(t.buf) { // storage full below size: double it, oldest first
		grown := make([]Entry, min(t.size, max(64, 2*t.n)))
		for i := range t.n {
			grown[i] = t.buf[(t.start+i)%len(t.buf)]
		}
		t.buf, t.start = grown, 0
	}
	t.buf[(t.start+t.n)%len(t.buf)] = e
	t.n++
	t.bytes += len(e.Data)
}

// Entries returns the kept entries matching keep (all when keep is nil), oldest first.
func (t *Transcript) Entries(keep func(Entry) bool) []Entry {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Entry, 0, t.n)
	for i := range t.n {
		e := t.buf[(t.start+i)%len(t.buf)]
		if keep == nil || keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// Transcript returns the server's transcript.
func (s *Server) Transcript() *Transcript { return s.transcript }

// counters are the server's running totals.
type counters struct {
	apiCalls       atomic.Int64
	socketsOpened  atomic.Int64
	framesIn       atomic.Int64
	framesOut      atomic.Int64
	delivered      atomic.Int64
	acked          atomic.Int64
	redelivered    atomic.Int64
	unacked        atomic.Int64
	rtmEvents      atomic.Int64
	rtmReplies     atomic.Int64
	webhookPosts   atomic.Int64
	httpRequests   atomic.Int64
	httpRetries    atomic.Int64
	httpFailed     atomic.Int64
	oauthGrants    atomic.Int64
	tokenRefreshes atomic.Int64
}

// Stats is a snapshot of the server's counters.
type Stats struct {
	APICalls      int64 `json:"api_calls"`
	SocketsOpened int64 `json:"sockets_opened"`
	FramesIn      int64 `json:"frames_in"`
	FramesOut     int64 `json:"frames_out"`
	// Delivered counts Socket Mode envelope deliveries, redeliveries included.
	Delivered int64 `json:"delivered"`
	// Acked counts envelopes acked in time (each envelope once).
	Acked int64 `json:"acked"`
	// Redelivered counts events_api redeliveries after a missed ack.
	Redelivered int64 `json:"redelivered"`
	// Unacked counts envelopes given up on: ack deadline missed with no retry left, or not retried.
	Unacked int64 `json:"unacked"`
	// RTMEvents counts events sent over RTM sockets; RTMReplies counts reply_to answers.
	RTMEvents  int64 `json:"rtm_events"`
	RTMReplies int64 `json:"rtm_replies"`
	// WebhookPosts counts posts to incoming webhooks and response_urls, whatever the answer.
	WebhookPosts int64 `json:"webhook_posts"`
	// HTTPRequests counts requests to apps' request URLs, retries included; HTTPRetries the
	// retries; HTTPFailed the deliveries given up. A delivery answered 2xx counts in Delivered.
	HTTPRequests int64 `json:"http_requests"`
	HTTPRetries  int64 `json:"http_retries"`
	HTTPFailed   int64 `json:"http_failed"`
	// OAuthGrants counts installations (code exchanges and Install); TokenRefreshes refreshes.
	OAuthGrants    int64 `json:"oauth_grants"`
	TokenRefreshes int64 `json:"token_refreshes"`
}

// Stats returns the current counters.
func (s *Server) Stats() Stats {
	c := &s.counters
	return Stats{
		APICalls: c.apiCalls.Load(), SocketsOpened: c.socketsOpened.Load(),
		FramesIn: c.framesIn.Load(), FramesOut: c.framesOut.Load(),
		Delivered: c.delivered.Load(), Acked: c.acked.Load(), Redelivered: c.redelivered.Load(),
		Unacked: c.unacked.Load(), RTMEvents: c.rtmEvents.Load(), RTMReplies: c.rtmReplies.Load(),
		WebhookPosts: c.webhookPosts.Load(),
		HTTPRequests: c.httpRequests.Load(), HTTPRetries: c.httpRetries.Load(), HTTPFailed: c.httpFailed.Load(),
		OAuthGrants: c.oauthGrants.Load(), TokenRefreshes: c.tokenRefreshes.Load(),
	}
}
