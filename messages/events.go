package messages

import (
	"fmt"
	"time"
)

// Transport names how a link reaches Slack.
type Transport string

// Transports.
const (
	SocketMode Transport = "socketmode"
	RTM        Transport = "rtm"
	HTTP       Transport = "http" // an app's request URL: events, commands and interactions by HTTP
)

// Link identifies one supervised connection: an app connection (Socket Mode) or a workspace (RTM).
// Its JSON names are snake_case, as everywhere in ops' /status.
type Link struct {
	Transport Transport `json:"transport"`
	App       string    `json:"app,omitempty"`  // Socket Mode: the app's ID (App.ID)
	Team      string    `json:"team,omitempty"` // RTM: the workspace's team ID
	Name      string    `json:"name"`           // unique in the runtime: "A0APP/1", "T024BE7LH"
}

func (l Link) String() string { return l.Name }

// Lifecycle is implemented by the lifecycle events: Connecting, Connected, Disconnected,
// Reconnecting, Fatal.
type Lifecycle interface {
	fmt.Stringer
	LinkOf() Link
	lifecycle()
}

// Connecting reports that a link is opening a session.
type Connecting struct {
	Link    Link
	Session uint64
	Attempt int // 0 for the first session, n for the n-th retry since the last healthy session
}

// Connected reports that a session is up (the server's hello arrived).
type Connected struct {
	Link           Link
	Session        uint64
	Attempt        int
	NumConnections int // Socket Mode: the app's open sockets, this one included
}

// Disconnected reports that a session ended.
type Disconnected struct {
	Link    Link
	Session uint64
	Reason  error
}

// Reconnecting reports that a session ended and the next one opens after Delay.
type Reconnecting struct {
	Link    Link
	Session uint64 // the session that ended
	Attempt int    // 1 on the first retry after a healthy session
	Delay   time.Duration
	Cause   error
}

// Fatal reports that a link stopped for good; Advice says what a person can do.
type Fatal struct {
	Link   Link
	Error  error
	Advice string
}

func (e Connecting) String() string {
	return fmt.Sprintf("%s: connecting (session %d, attempt %d)", e.Link, e.Session, e.Attempt)
}
func (e Connected) String() string {
	return fmt.Sprintf("%s: connected (session %d, %d connections)", e.Link, e.Session, e.NumConnections)
}
func (e Disconnected) String() string {
	return fmt.Sprintf("%s: disconnected (session %d): %v", e.Link, e.Session, e.Reason)
}
func (e Reconnecting) String() string {
	return fmt.Sprintf("%s: reconnecting in %v (attempt %d): %v", e.Link, e.Delay.Round(time.Millisecond), e.Attempt, e.Cause)
}
func (e Fatal) String() string { return fmt.Sprintf("%s: stopped: %v (%s)", e.Link, e.Error, e.Advice) }

// LinkOf returns the link the event is about.
func (e Connecting) LinkOf() Link { return e.Link }

// LinkOf returns the link the event is about.
func (e Connected) LinkOf() Link { return e.Link }

// LinkOf returns the link the event is about.
func (e Disconnected) LinkOf() Link { return e.Link }

// LinkOf returns the link the event is about.
func (e Reconnecting) LinkOf() Link { return e.Link }

// LinkOf returns the link the event is about.
func (e Fatal) LinkOf() Link { return e.Link }

func (Connecting) lifecycle()   {}
func (Connected) lifecycle()    {}
func (Disconnected) lifecycle() {}
func (Reconnecting) lifecycle() {}
func (Fatal) lifecycle()        {}
