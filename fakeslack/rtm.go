package fakeslack

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
)

// RTMOptions configures RTM sockets. Zero fields take the defaults named on each field.
type RTMOptions struct {
	// URLTTL is how long an rtm.connect URL stays valid. Default 30s.
	URLTTL time.Duration
	// Lifetime is how long a socket lives before the server sends goodbye and closes it. Default 8h.
	Lifetime time.Duration
	// WriteBurst is the capacity of each socket's write bucket, spent by the client's message and
	// typing frames. Default 5.
	WriteBurst int
	// WriteRefill is how long the bucket takes to regain one write. Default 1s (Slack asks for one
	// message per second). A write finding the bucket empty is answered
	// {"ok":false,"reply_to":N,"error":{"code":-1,"msg":"slow down, too many messages..."}}.
	WriteRefill time.Duration
	// WritePerChannel keeps one write bucket per channel instead of one per socket (Slack does not
	// say which; per socket, the default, is the stricter reading).
	WritePerChannel bool
	// MaxViolations is how many writes in a row may be refused for the rate before the server
	// closes the socket (close code 1008). Default 10.
	MaxViolations int
	// MaxFrameBytes is the largest client frame accepted; a larger one ends the socket with close
	// code 1009. Default 16384 (Slack's 16 KB).
	MaxFrameBytes int64
	// MaxTextChars is the longest message text accepted, in characters; longer text gets an error
	// reply. Default 4000.
	MaxTextChars int
	// ErrorCodes are the codes of the error replies Slack does not document. Zero fields take
	// DefaultRTMErrorCodes.
	ErrorCodes RTMErrorCodes
}

// RTMErrorCodes are the error.code values of RTM error replies
// ({"ok":false,"reply_to":N,"error":{"code":C,"msg":"…"}}) for refusals whose code Slack does not
// document. Slack documents only -1 (rate limit, "slow down, too many messages..."), 1 ("Socket URL
// has expired", in the connection's error frame) and 2 ("message text is missing"); these others
// are fakeslack's own, named so a test can set what it expects.
type RTMErrorCodes struct {
	NoChannel       int `json:"no_channel"`        // a message or typing frame without channel
	ChannelNotFound int `json:"channel_not_found"` // a channel the workspace does not have
	TooLong         int `json:"too_long"`          // text over MaxTextChars
	BadType         int `json:"bad_type"`          // a frame with an id and an unknown or missing type
	Archived        int `json:"archived"`          // a message to an archived channel
	BadFrame        int `json:"bad_frame"`         // a frame that is not JSON but has an "id"
}

// DefaultRTMErrorCodes returns the codes RTMOptions.ErrorCodes defaults to: 3 to 8, in the order
// of RTMErrorCodes' fields.
func DefaultRTMErrorCodes() RTMErrorCodes {
	return RTMErrorCodes{NoChannel: 3, ChannelNotFound: 4, TooLong: 5, BadType: 6, Archived: 7, BadFrame: 8}
}

func (c RTMErrorCodes) withDefaults() RTMErrorCodes {
	d := DefaultRTMErrorCodes()
	for _, f := range []struct{ v, def *int }{
		{&c.NoChannel, &d.NoChannel}, {&c.ChannelNotFound, &d.ChannelNotFound}, {&c.TooLong, &d.TooLong},
		{&c.BadType, &d.BadType}, {&c.Archived, &d.Archived}, {&c.BadFrame, &d.BadFrame},
	} {
		if *f.v == 0 {
			*f.v = *f.def
		}
	}
	return c
}

func (o RTMOptions) withDefaults() RTMOptions {
	if o.URLTTL <= 0 {
		o.URLTTL = 30 * time.Second
	}
	if o.Lifetime <= 0 {
		o.Lifetime = 8 * time.Hour
	}
	if o.WriteBurst <= 0 {
		o.WriteBurst = 5
	}
	if o.WriteRefill <= 0 {
		o.WriteRefill = time.Second
	}
	if o.MaxViolations <= 0 {
		o.MaxViolations = 10
	}
	if o.MaxFrameBytes <= 0 {
		o.MaxFrameBytes = 16384
	}
	if o.MaxTextChars <= 0 {
		o.MaxTextChars = 4000
	}
	o.ErrorCodes = o.ErrorCodes.withDefaults()
	return o
}

// The RTM error codes Slack documents: -1 (rate), 1 (in the connection error frame) and 2 (text
// missing). The others are RTMOptions.ErrorCodes.
const (
	rtmErrSlowDown = -1
	rtmErrNoText   = 2
)

// rtmIDPattern finds the id of a frame that is not valid JSON, to answer it.
var rtmIDPattern = regexp.MustCompile(`"id"\s*:\s*(\d+)`)

const rtmSlowDown = "slow down, too many messages..."

var (
	rtmHello   = []byte(`{"type": "hello"}`)
	rtmGoodbye = []byte(`{"type":"goodbye"}`)
	rtmExpired = []byte(`{"type":"error","error":{"code":1,"msg":"Socket URL has expired"}}`)
)

// rtmServer serves rtm.connect, rtm.start and the RTM sockets at /websocket/{ticket}. Each socket is
// served by its HTTP handler goroutine (socket.serve); its lifetime timer is a goroutine on s.wg.
type rtmServer struct {
	s    *Server
	opts RTMOptions

	mu      sync.Mutex
	tickets map[string]rtmTicket // unused socket URLs, by ticket
	conns   map[*socket]*rtmConn // sockets past hello
}

// rtmTicket is a single-use socket URL handed out by rtm.connect or rtm.start.
type rtmTicket struct {
	token         string
	team          string
	user          string
	bot           string // the bot ID when the token is a bot's
	batchPresence bool
	expires       time.Time
}

// rtmConn is the RTM state of one socket. Only the socket's read loop touches the bucket,
// violations and presence fields.
type rtmConn struct {
	sk            *socket
	team, user    string
	bot           string
	batchPresence bool

	buckets    map[string]*rtmBucket // by channel ID, or "" for the whole socket
	violations int
	presence   map[string]bool
}

func newRTMServer(s *Server) *rtmServer {
	r := &rtmServer{s: s, opts: s.opts.RTM, tickets: map[string]rtmTicket{}, conns: map[*socket]*rtmConn{}}
	kinds := []tokenKind{tokenClassicBot, tokenUser}
	s.handle("rtm.connect", methodSpec{handler: r.connect, kinds: kinds, opens: true})
	s.handle("rtm.start", methodSpec{handler: r.start, kinds: kinds, opens: true})
	s.routeWebAPIMethods()
	s.mux.HandleFunc("GET /websocket/{ticket}", r.serveSocket)
	r.routeAdmin()
	return r
}

// close forgets the unused tickets; the sockets and their timers end with the server.
func (r *rtmServer) close() {
	r.mu.Lock()
	clear(r.tickets)
	r.mu.Unlock()
}

// issue makes a fresh single-use socket URL for tok.
func (r *rtmServer) issue(token string, tok tokenInfo, batchPresence bool) string {
	who := r.s.identify(tok)
	ticket := randomHex(16)
	now := time.Now()
	r.mu.Lock()
	for k, t := range r.tickets {
		if now.After(t.expires) {
			delete(r.tickets, k)
		}
	}
	r.tickets[ticket] = rtmTicket{token: token, team: tok.team, user: who.userID, bot: who.botID,
		batchPresence: batchPresence, expires: now.Add(r.opts.URLTTL)}
	r.mu.Unlock()
	return "ws" + strings.TrimPrefix(r.s.base, "http") + "/websocket/" + ticket
}

// claim consumes a ticket; it reports false for an unknown, used or expired one.
func (r *rtmServer) claim(ticket string) (rtmTicket, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.tickets[ticket]
	delete(r.tickets, ticket)
	return t, ok && time.Now().Before(t.expires)
}

// serveSocket runs one RTM socket in the HTTP handler goroutine, until it ends.
func (r *rtmServer) serveSocket(w http.ResponseWriter, req *http.Request) {
	tk, ok := r.claim(req.PathValue("ticket"))
	if ok {
		if t, known := r.s.lookupToken(tk.token); !known || t.revoked || t.inactive {
			http.Error(w, "invalid_auth", http.StatusUnauthorized)
			return
		}
	}
	sk, err := r.s.acceptSocket(w, req, ConnRTM, tk.team, "", tk.token)
	if err != nil {
		r.s.log.WithError(err).Warn("rtm upgrade failed")
		return
	}
	if !ok {
		r.s.log.WithField("conn", sk.info.ID).Info("rtm socket URL expired or reused")
		if sk.send(rtmExpired) == nil {
			r.s.counters.rtmEvents.Add(1)
		}
		sk.closeClean(websocket.CloseNormalClosure, "")
		sk.serve(r.opts.MaxFrameBytes, func([]byte) {})
		return
	}
	rc := &rtmConn{sk: sk, team: tk.team, user: tk.user, bot: tk.bot, batchPresence: tk.batchPresence,
		buckets: map[string]*rtmBucket{}, presence: map[string]bool{}}
	// Registering and saying hello under r.mu makes hello the first frame and every event
	// broadcast after the client has read hello reach this socket.
	r.mu.Lock()
	r.conns[sk] = rc
	if sk.send(rtmHello) == nil {
		r.s.counters.rtmEvents.Add(1)
	}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.conns, sk)
		r.mu.Unlock()
	}()
	r.startLifetime(sk)
	sk.serve(r.opts.MaxFrameBytes, func(data []byte) { r.onFrame(rc, data) })
}

// startLifetime sends goodbye once the socket has lived opts.Lifetime.
func (r *rtmServer) startLifetime(sk *socket) {
	if r.s.ctx.Err() != nil {
		return
	}
	r.s.wg.Add(1)
	go func() { // owner: rtmServer, one per socket. Ends at Lifetime, when the socket closes or the server closes; Close waits on s.wg.
		defer r.s.wg.Done()
		t := time.NewTimer(r.opts.Lifetime)
		defer t.Stop()
		select {
		case <-t.C:
			r.goodbye(sk)
		case <-sk.closed:
		case <-r.s.ctx.Done():
		}
	}()
}

// goodbye sends goodbye and closes the socket cleanly.
func (r *rtmServer) goodbye(sk *socket) {
	if sk.send(rtmGoodbye) == nil {
		r.s.counters.rtmEvents.Add(1)
	}
	sk.closeClean(websocket.CloseNormalClosure, "")
}

// onFrame handles one client frame. A frame that cannot be answered (not a JSON object; a message
// or unknown type without an integer id) is logged and ignored; a ping without an id still gets a
// pong (without reply_to).
func (r *rtmServer) onFrame(rc *rtmConn, data []byte) {
	log := r.s.log.WithField("conn", rc.sk.info.ID)
	var f map[string]json.RawMessage
	if err := json.Unmarshal(data, &f); err != nil {
		if m := rtmIDPattern.FindSubmatch(data); m != nil {
			if id, err2 := strconv.ParseInt(string(m[1]), 10, 64); err2 == nil {
				r.replyError(rc, id, r.opts.ErrorCodes.BadFrame, "invalid JSON: "+err.Error())
				return
			}
		}
		log.WithError(err).Warn("rtm frame is not a JSON object, ignored")
		return
	}
	// The frame as slack-go sends it. Its JSON is good, so an error here is a field of the wrong
	// kind, which is left empty as a missing one would be. (encoding/json also takes a key that
	// differs only in case, "Channel" for "channel"; Slack's reading of those is unknown.)
	var out slack.OutgoingMessage
	_ = json.Unmarshal(data, &out)
	id, hasID := frameID(f["id"])
	typ := jsonString(f["type"]) // from the map: encoding/json would also take "Type"
	switch typ {
	case "ping":
		r.pong(rc, f, id, hasID)
	case "message":
		r.clientMessage(rc, data, out, id, hasID)
	case "typing":
		r.typing(rc, out, id, hasID)
	case "presence_sub", "presence_query":
		r.presence(rc, f, typ == "presence_sub")
	default:
		if !hasID {
			log.WithField("type", typ).Warn("rtm frame without id and of unknown type, ignored")
			return
		}
		msg := "unsupported type: " + typ
		if typ == "" {
			msg = "message type is missing"
		}
		r.replyError(rc, id, r.opts.ErrorCodes.BadType, msg)
	}
}

// pong answers a JSON ping, echoing its extra flat fields (§3.4), unless the socket is deaf. It is
// not a slack.Pong, whose timestamp is the only extra field it knows.
func (r *rtmServer) pong(rc *rtmConn, f map[string]json.RawMessage, id int64, hasID bool) {
	if rc.sk.deaf.Load() {
		return
	}
	out := map[string]json.RawMessage{"type": json.RawMessage(`"pong"`)}
	if hasID {
		out["reply_to"] = json.RawMessage(itoa(id))
	}
	for k, v := range f {
		if k == "id" || k == "type" || k == "reply_to" {
			continue
		}
		if b := bytes.TrimSpace(v); len(b) > 0 && b[0] != '{' && b[0] != '[' {
			out[k] = v
		}
	}
	r.reply(rc, out)
}

// rtmBucket is a token bucket of client writes.
type rtmBucket struct {
	tokens float64
	last   time.Time
}

// allowWrite spends one write from the bucket of rc (or of the frame's channel, with
// WritePerChannel). When it is empty it answers the slow-down error (if the frame has an id), and
// after MaxViolations refusals in a row it closes the socket.
func (r *rtmServer) allowWrite(rc *rtmConn, channel string, id int64, hasID bool) bool {
	key := ""
	if r.opts.WritePerChannel {
		key = channel
	}
	now := time.Now()
	b := rc.buckets[key]
	if b == nil {
		b = &rtmBucket{tokens: float64(r.opts.WriteBurst), last: now}
		rc.buckets[key] = b
	}
	b.tokens = min(float64(r.opts.WriteBurst), b.tokens+float64(now.Sub(b.last))/float64(r.opts.WriteRefill))
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		rc.violations = 0
		return true
	}
	rc.violations++
	if hasID {
		r.replyError(rc, id, rtmErrSlowDown, rtmSlowDown)
	}
	if rc.violations >= r.opts.MaxViolations {
		r.s.log.WithField("conn", rc.sk.info.ID).Warn("rtm client kept writing too fast, disconnecting")
		rc.sk.closeClean(websocket.ClosePolicyViolation, "too many messages")
	}
	return false
}

// clientMessage posts a client's message frame (§3.3) and answers it.
func (r *rtmServer) clientMessage(rc *rtmConn, data []byte, f slack.OutgoingMessage, id int64, hasID bool) {
	if !hasID {
		r.s.log.WithField("conn", rc.sk.info.ID).Warn("rtm message without id, ignored")
		return
	}
	if !r.allowWrite(rc, f.Channel, id, hasID) {
		return
	}
	chArg, text, threadTS := f.Channel, f.Text, f.ThreadTimestamp
	switch {
	case chArg == "":
		r.replyError(rc, id, r.opts.ErrorCodes.NoChannel, "message channel is missing")
		return
	case text == "":
		r.replyError(rc, id, rtmErrNoText, "message text is missing")
		return
	case utf8.RuneCountInString(text) > r.opts.MaxTextChars:
		r.replyError(rc, id, r.opts.ErrorCodes.TooLong, "msg_too_long: message text is longer than "+itoa(int64(r.opts.MaxTextChars))+" characters")
		return
	}
	r.s.world.mu.Lock()
	ch, ok := r.s.world.channel(rc.team, chArg)
	var chID string
	var archived bool
	if ok {
		chID, archived = ch.ID, ch.Archived
	}
	r.s.world.mu.Unlock()
	switch {
	case !ok:
		r.replyError(rc, id, r.opts.ErrorCodes.ChannelNotFound, "channel_not_found: no channel "+chArg)
		return
	case archived:
		r.replyError(rc, id, r.opts.ErrorCodes.Archived, "is_archived: channel "+chID+" is archived")
		return
	}
	m := r.s.world.post(Message{Channel: chID, ThreadTS: threadTS, User: rc.user, BotID: rc.bot,
		Text: text, Raw: append([]byte(nil), data...), Via: "rtm"})
	ack, _ := project(slack.AckMessage{ReplyTo: int(id), Timestamp: m.TS, Text: text, RTMResponse: slack.RTMResponse{Ok: true}}, rtmAckShape)
	r.reply(rc, ack)
	r.broadcast(rc.team, messageFrame(rc.team, m), nil)
}

// typing fans a typing frame out as user_typing to the workspace's other RTM sockets (§3.5).
func (r *rtmServer) typing(rc *rtmConn, f slack.OutgoingMessage, id int64, hasID bool) {
	if !r.allowWrite(rc, f.Channel, id, hasID) {
		return
	}
	chArg := f.Channel
	r.s.world.mu.Lock()
	ch, ok := r.s.world.channel(rc.team, chArg)
	var chID string
	if ok {
		chID = ch.ID
	}
	r.s.world.mu.Unlock()
	if !ok {
		if hasID {
			code, msg := r.opts.ErrorCodes.ChannelNotFound, "channel_not_found: no channel "+chArg
			if chArg == "" {
				code, msg = r.opts.ErrorCodes.NoChannel, "typing channel is missing"
			}
			r.replyError(rc, id, code, msg)
		}
		return
	}
	ev, _ := json.Marshal(slack.UserTypingEvent{Type: "user_typing", Channel: chID, User: rc.user})
	r.broadcast(rc.team, ev, rc.sk)
}

// presence handles presence_sub (the whole list each time; newly added users get a
// presence_change) and presence_query (a presence_change for each user asked about).
func (r *rtmServer) presence(rc *rtmConn, f map[string]json.RawMessage, sub bool) {
	var ids []string
	if err := json.Unmarshal(f["ids"], &ids); err != nil {
		r.s.log.WithField("conn", rc.sk.info.ID).Warn("rtm presence frame without an ids list, ignored")
		return
	}
	want := ids
	if sub {
		want = nil
		next := make(map[string]bool, len(ids))
		for _, u := range ids {
			next[u] = true
			if !rc.presence[u] {
				want = append(want, u)
			}
		}
		rc.presence = next
	}
	r.s.world.mu.Lock()
	known := map[string]bool{}
	if ws := r.s.world.byTeam[rc.team]; ws != nil {
		for _, u := range ws.Users {
			known[u.ID] = true
		}
	}
	r.s.world.mu.Unlock()
	var users []string
	for _, u := range want {
		if known[u] {
			users = append(users, u)
		}
	}
	if len(users) == 0 {
		return
	}
	// slack.PresenceChangeEvent marshals both user and users; Slack sends one of them.
	if rc.batchPresence {
		ev, _ := project(slack.PresenceChangeEvent{Type: "presence_change", Users: users, Presence: "active"}, keys("type", "users", "presence"))
		r.sendValue(rc.sk, ev)
		return
	}
	for _, u := range users {
		ev, _ := project(slack.PresenceChangeEvent{Type: "presence_change", User: u, Presence: "active"}, keys("type", "user", "presence"))
		r.sendValue(rc.sk, ev)
	}
}

// rtmAckShape is a reply to a message frame: slack.AckMessage without the "error":null it
// marshals.
var rtmAckShape = keys("ok", "reply_to", "ts", "text")

// rtmErrorReply is an error reply, {"ok":false,"reply_to":N,"error":{"code":C,"msg":"…"}}. It is
// not a slack.AckMessage: that would add "ts" and "text", and its slack.RTMError has no JSON tags,
// so it marshals "Code" and "Msg" (slack-go reads Slack's lower-case keys only because
// encoding/json matches keys without regard to case).
type rtmErrorReply struct {
	OK      bool  `json:"ok"`
	ReplyTo int64 `json:"reply_to"`
	Error   struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	} `json:"error"`
}

// replyError answers frame id with an error reply.
func (r *rtmServer) replyError(rc *rtmConn, id int64, code int, msg string) {
	reply := rtmErrorReply{ReplyTo: id}
	reply.Error.Code, reply.Error.Msg = code, msg
	r.reply(rc, reply)
}

// reply writes v, encoded as JSON, as a reply frame and counts it.
func (r *rtmServer) reply(rc *rtmConn, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		r.s.log.WithError(err).Error("encode rtm reply")
		return
	}
	if rc.sk.send(data) == nil {
		r.s.counters.rtmReplies.Add(1)
	}
}

// sendValue writes v, encoded as JSON, as one event frame and counts it.
func (r *rtmServer) sendValue(sk *socket, v any) bool {
	frame, err := json.Marshal(v)
	if err != nil {
		r.s.log.WithError(err).Error("encode rtm event")
		return false
	}
	return r.sendEvent(sk, frame)
}

// sendEvent writes one event frame and counts it.
func (r *rtmServer) sendEvent(sk *socket, frame []byte) bool {
	if sk.send(frame) != nil {
		return false
	}
	r.s.counters.rtmEvents.Add(1)
	return true
}

// frameID reads a frame's id: a JSON integer.
func frameID(raw json.RawMessage) (int64, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	var n json.Number
	if json.Unmarshal(raw, &n) != nil {
		return 0, false
	}
	v, err := n.Int64()
	return v, err == nil
}

// jsonString unquotes a JSON string; anything else is "".
func jsonString(raw json.RawMessage) string {
	var s string
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
