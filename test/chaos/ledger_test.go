package chaos

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/messages"
)

// riskBefore and riskAfter bound the window around an RTM session's end in which an event written
// to that workspace's socket is "at risk": RTM has no redelivery, so a frame still in the kernel's
// buffers, or written to a socket the client has already given up, is lost with the socket. An
// event written outside every such window must be delivered.
const (
	riskBefore = 100 * time.Millisecond // the end was seen up to 100ms before the write returned
	riskAfter  = 500 * time.Millisecond // the end was seen up to 500ms after it
)

// smBatch is one InjectMessages call: texts prefix+"1" … prefix+count.
type smBatch struct {
	prefix string
	count  int
}

// rtmClass is what an injected RTM event is expected to do.
type rtmClass int

const (
	rtmMust         rtmClass = iota // written to a live, unsilenced socket: must be delivered once
	rtmNotConnected                 // no socket took it (the workspace was between sessions)
	rtmSilenced                     // the workspace's socket was silenced: the server swallowed it
)

type rtmRecord struct {
	text  string
	team  string
	at    time.Time // when the write returned
	class rtmClass
}

// ledger is what was injected and what the counting subscriber received.
type ledger struct {
	mu   sync.Mutex
	seen map[string]int // event text → deliveries to the counting subscriber
	sm   []smBatch
	rtm  []rtmRecord

	// lifecycle
	ends       map[string][]time.Time // link → when each Disconnected was seen
	down       map[string]time.Time   // link → start of the current outage
	limited    map[string]bool        // link → the current outage included a 429
	reconnects []time.Duration        // outages without a 429
	limitedRec []time.Duration        // outages with a 429 Retry-After
	fatal      map[string]error       // link → its last Fatal
	tooMany    int                    // sessions ended by too_many_websockets
	disconnect int
	reasons    map[string]int
	causes     map[string][]string // link → the reasons of the current outage's session ends
	longest    string              // the longest outage without a 429: link and reasons
	longestD   time.Duration
	session    map[string]uint64 // link → session of its last Connected
}

func newLedger() *ledger {
	return &ledger{seen: map[string]int{}, ends: map[string][]time.Time{}, down: map[string]time.Time{},
		limited: map[string]bool{}, fatal: map[string]error{}, reasons: map[string]int{}, causes: map[string][]string{}, session: map[string]uint64{}}
}

// textOf returns the text of an injected message event, or "".
func textOf(ev *switchboard.Event) string {
	switch ev.Kind {
	case messages.KindEventsAPI:
		var p struct {
			Event struct {
				Text string `json:"text"`
			} `json:"event"`
		}
		if json.Unmarshal(ev.Raw, &p) == nil {
			return p.Event.Text
		}
	case messages.KindRTM:
		if ev.Type != "message" {
			return ""
		}
		var p struct {
			Text string `json:"text"`
		}
		if json.Unmarshal(ev.Raw, &p) == nil {
			return p.Text
		}
	}
	return ""
}

func (l *ledger) see(text string) {
	if text == "" {
		return
	}
	l.mu.Lock()
	l.seen[text]++
	l.mu.Unlock()
}

func (l *ledger) seenCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.seen {
		n += c
	}
	return n
}

func (l *ledger) addSM(b smBatch) {
	l.mu.Lock()
	l.sm = append(l.sm, b)
	l.mu.Unlock()
}

func (l *ledger) addRTM(r rtmRecord) {
	l.mu.Lock()
	l.rtm = append(l.rtm, r)
	l.mu.Unlock()
}

// smMissing counts Socket Mode events not yet delivered.
func (l *ledger) smMissing() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, b := range l.sm {
		for i := 1; i <= b.count; i++ {
			if l.seen[b.prefix+fmt.Sprint(i)] == 0 {
				n++
			}
		}
	}
	return n
}

// lifecycle records one lifecycle event.
func (l *ledger) lifecycle(ev messages.Lifecycle) {
	now := time.Now()
	name := ev.LinkOf().Name
	l.mu.Lock()
	defer l.mu.Unlock()
	switch e := ev.(type) {
	case messages.Disconnected:
		l.disconnect++
		l.reasons[reasonKind(e.Reason)]++
		l.ends[name] = append(l.ends[name], now)
		if errors.Is(e.Reason, messages.ErrTooManyWebsockets) {
			l.tooMany++
		}
		// A make-before-break refresh reports the old session's end after the replacement's
		// Connected (with Session 0 or an older session): that is no outage.
		if _, ok := l.down[name]; !ok && e.Session != 0 && e.Session >= l.session[name] {
			l.down[name] = now
		}
		if len(l.causes[name]) < 8 {
			l.causes[name] = append(l.causes[name], reasonKind(e.Reason))
		}
	case messages.Reconnecting:
		if errors.Is(e.Cause, messages.ErrRateLimited) || messages.RetryAfter(e.Cause) > 0 {
			l.limited[name] = true
		}
	case messages.Connected:
		l.session[name] = e.Session
		if t, ok := l.down[name]; ok {
			if l.limited[name] {
				l.limitedRec = append(l.limitedRec, now.Sub(t))
			} else {
				l.reconnects = append(l.reconnects, now.Sub(t))
				if d := now.Sub(t); d > l.longestD {
					l.longestD, l.longest = d, fmt.Sprintf("%s after %v", name, l.causes[name])
				}
			}
			delete(l.down, name)
			delete(l.limited, name)
		}
		delete(l.fatal, name)
		delete(l.causes, name)
	case messages.Fatal:
		l.fatal[name] = e.Error
		delete(l.causes, name)
		delete(l.down, name) // an outage ended by Fatal is not a reconnect
		delete(l.limited, name)
	}
}

// reasonKind names a session's end for the report.
func reasonKind(err error) string {
	var se *messages.SocketError
	switch {
	case err == nil:
		return "none"
	case messages.CodeOf(err) != "":
		return string(messages.CodeOf(err))
	case errors.Is(err, messages.ErrStale):
		return "stale"
	case errors.Is(err, messages.ErrGoodbye):
		return "goodbye/refresh"
	case errors.Is(err, messages.ErrReplaced):
		return "replaced"
	case errors.Is(err, messages.ErrHelloTimeout):
		return "hello timeout"
	case errors.As(err, &se):
		return "socket " + se.Op
	}
	s := err.Error()
	if len(s) > 40 {
		s = s[:40]
	}
	return s
}

func (l *ledger) fatalOf(link string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fatal[link]
}

// atRisk reports whether team's session ended near t.
func (l *ledger) atRiskLocked(team string, t time.Time) bool {
	for _, end := range l.ends[team] {
		if !end.Before(t.Add(-riskBefore)) && !end.After(t.Add(riskAfter)) {
			return true
		}
	}
	return false
}

// verdict is the soak's outcome for events.
type verdict struct {
	smInjected, smDelivered, smLost, smDup                 int
	rtmInjected, rtmMust, rtmDelivered, rtmLost, rtmDup    int
	rtmAtRisk, rtmAtRiskLost, rtmNotConnected, rtmSilenced int
	rtmExtra                                               int // delivered though not expected (not an error)
	lostSamples, dupSamples                                []string
}

func (l *ledger) verdict() verdict {
	l.mu.Lock()
	defer l.mu.Unlock()
	var v verdict
	sample := func(s *[]string, x string) {
		if len(*s) < 10 {
			*s = append(*s, x)
		}
	}
	for _, b := range l.sm {
		for i := 1; i <= b.count; i++ {
			text := b.prefix + fmt.Sprint(i)
			v.smInjected++
			switch c := l.seen[text]; {
			case c == 0:
				v.smLost++
				sample(&v.lostSamples, text)
			case c > 1:
				v.smDup++
				sample(&v.dupSamples, fmt.Sprintf("%s×%d", text, c))
				fallthrough
			default:
				v.smDelivered++
			}
		}
	}
	for _, r := range l.rtm {
		v.rtmInjected++
		c := l.seen[r.text]
		if c > 1 {
			v.rtmDup++
			sample(&v.dupSamples, fmt.Sprintf("%s×%d", r.text, c))
		}
		switch r.class {
		case rtmNotConnected:
			v.rtmNotConnected++
			if c > 0 {
				v.rtmExtra++
			}
			continue
		case rtmSilenced:
			v.rtmSilenced++
			if c > 0 {
				v.rtmExtra++
			}
			continue
		}
		v.rtmMust++
		risky := l.atRiskLocked(r.team, r.at)
		if risky {
			v.rtmAtRisk++
		}
		switch {
		case c > 0:
			v.rtmDelivered++
		case risky:
			v.rtmAtRiskLost++
		default:
			v.rtmLost++
			sample(&v.lostSamples, r.text+"@"+r.team+" "+r.at.Format("15:04:05.000"))
		}
	}
	return v
}

// durations summarises a list of durations: n, p50, p99, max.
func durations(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	q := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	return fmt.Sprintf("n=%d p50=%v p99=%v max=%v", len(s), q(0.5).Round(time.Millisecond),
		q(0.99).Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond))
}

// counts renders a map of counts in key order.
func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}
