package switchboard_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
)

// store is an InstallationStore whose lookups can be held back or made to panic, per team.
type store struct {
	tokens  map[string]string
	slow    string        // this team's lookups wait for release
	release chan struct{} // closed to let them go
	entered chan string   // a slow lookup began
	panicky string        // this team's lookups panic
	calls   sync.Map      // team → *atomic.Int32
}

func (s *store) BotToken(ctx context.Context, team string) (string, error) {
	n, _ := s.calls.LoadOrStore(team, new(atomic.Int32))
	n.(*atomic.Int32).Add(1)
	switch team {
	case s.slow:
		s.entered <- team
		select {
		case <-s.release:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	case s.panicky:
		panic("store boom " + s.tokens[team])
	}
	if tok, ok := s.tokens[team]; ok {
		return tok, nil
	}
	return "", errors.New("no token")
}

func (s *store) count(team string) int32 {
	n, ok := s.calls.Load(team)
	if !ok {
		return 0
	}
	return n.(*atomic.Int32).Load()
}

type logSink struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A slow InstallationStore for one team delays no other team's Web API client; two handlers
// asking for the slow team's client share one lookup; a store that panics gives no client, is
// logged redacted and counted, and ends nothing.
func TestInstallationStorePerTeam(t *testing.T) {
	t.Parallel()
	srv, err := fakeslack.New(fakeslack.Options{Workspaces: 3, Apps: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	wss := srv.Workspaces()
	slow, fast, panicky := wss[0], wss[1], wss[2]
	st := &store{tokens: map[string]string{}, slow: slow.TeamID, panicky: panicky.TeamID,
		release: make(chan struct{}), entered: make(chan string, 10)}
	for _, ws := range wss {
		st.tokens[ws.TeamID] = ws.BotToken
	}
	logs := &logSink{}
	log := logrus.New()
	log.SetOutput(logs)
	rt, err := switchboard.New(switchboard.WithAPIURL(srv.APIURL()), switchboard.WithLogger(log))
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
	type got struct {
		sub, team string
		ok        bool
	}
	results := make(chan got, 10)
	for _, name := range []string{"a", "b"} {
		h := func(ctx context.Context, ev *switchboard.Event) error {
			results <- got{name, ev.Team, hasClient(ev)}
			return nil
		}
		if err := rt.Handle(switchboard.Filter{}, h, switchboard.Named(name), switchboard.PerTeam(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	app := srv.Apps()[0]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rt.AddApp(ctx, switchboard.App{ID: app.AppID, Token: app.AppToken, Installations: st}); err != nil {
		t.Fatal(err)
	}
	inject := func(team, channel string) {
		t.Helper()
		if _, err := srv.InjectMessages(ctx, app.AppID, fakeslack.MessageStream{Team: team, Channel: channel, TextPrefix: "m", Count: 1}); err != nil {
			t.Fatal(err)
		}
	}
	await := func(what string) got {
		t.Helper()
		select {
		case g := <-results:
			return g
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		}
		return got{}
	}

	inject(slow.TeamID, slow.Channels[0].ID)
	select {
	case <-st.entered:
	case <-ctx.Done():
		t.Fatal("the slow lookup never began")
	}
	inject(fast.TeamID, fast.Channels[0].ID)
	for range 2 {
		if g := await("the fast team's clients"); g.team != fast.TeamID || !g.ok {
			t.Fatalf("while the slow team's lookup waits: %+v, want the fast team's client", g)
		}
	}
	close(st.release)
	for range 2 {
		if g := await("the slow team's clients"); g.team != slow.TeamID || !g.ok {
			t.Fatalf("after release: %+v, want the slow team's client", g)
		}
	}
	if n := st.count(slow.TeamID); n != 1 {
		t.Errorf("the slow team was looked up %d times, want 1 (single flight)", n)
	}

	inject(panicky.TeamID, panicky.Channels[0].ID)
	for range 2 {
		if g := await("the panicky team's events"); g.team != panicky.TeamID || g.ok {
			t.Fatalf("a panicking store: %+v, want no client", g)
		}
	}
	if n := rt.Stats().CallbackPanics; n < 1 || n > 2 {
		t.Errorf("CallbackPanics = %d, want 1 or 2 (one per lookup)", n)
	}
	l := logs.String()
	if !strings.Contains(l, "installation store panicked") || strings.Contains(l, panicky.BotToken[5:]) {
		t.Errorf("logs:\n%s", l)
	}
}

// hasClient reports whether ev has a Web API client.
func hasClient(ev *switchboard.Event) bool {
	c, err := ev.Client(context.Background())
	return c != nil && err == nil
}
