package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/messages"

	switchboard "github.com/switchboard-go/switchboard"
)

// scene drives the embedded Slack stand-in: steady traffic into every workspace, and one fault at
// a time, each announced in the live view.
type scene struct {
	srv      *fakeslack.Server
	rt       *switchboard.Runtime
	bot      *bot
	app      fakeslack.App
	rtmTeams []fakeslack.Workspace // workspaces the bot also joins over RTM
	revoke   fakeslack.Workspace   // the RTM workspace whose token the scene revokes
	rate     int                   // Socket Mode messages a second, all workspaces together
	notes    func(string)

	quiet   atomic.Bool // set around faults: commands, interactions and RTM messages pause
	revoked atomic.Bool
}

// run injects traffic for at least trafficFor and plays the faults at their times; on a slow
// machine a fault may wait for the links to settle, and the traffic then lasts until the last
// fault has played. It returns when both are done, or ctx ends.
func (s *scene) run(ctx context.Context, trafficFor time.Duration) {
	tctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // owner: run. Ends with tctx; run waits.
		defer wg.Done()
		s.traffic(tctx)
	}()
	end := time.Now().Add(trafficFor)
	s.faults(ctx, trafficFor)
	sleepCtx(ctx, time.Until(end))
	cancel()
	wg.Wait()
}

func (s *scene) traffic(ctx context.Context) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	workspaces := s.srv.Workspaces()
	perTick := max(1, s.rate/10/len(workspaces))
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for i, ws := range workspaces {
			ch := ws.Channels[n%len(ws.Channels)].ID
			st := fakeslack.MessageStream{Team: ws.TeamID, Channel: ch, User: ws.Users[1].ID, TextPrefix: marker + " message ", Count: perTick}
			if n%10 == i { // once a second per workspace, a Hello the bot answers in its thread
				st.TextPrefix, st.Count = marker+" Hello from the scene ", 1
			}
			k, err := s.srv.InjectMessages(ctx, s.app.AppID, st)
			s.bot.sm.injected.Add(int64(k))
			if err != nil && ctx.Err() == nil {
				s.notes("inject: " + err.Error())
			}
		}
		if s.quiet.Load() {
			continue
		}
		if n%5 == 0 {
			for _, ws := range s.rtmTeams {
				if ws.TeamID == s.revoke.TeamID && s.revoked.Load() || !s.connected(ws.TeamID) {
					continue
				}
				text, count := marker+" rtm ", 3
				if n%20 == 0 { // a Hello every 2s: RTM sends go at one a second per workspace
					text, count = marker+" Hello over RTM ", 1
				}
				k, _ := s.srv.InjectRTMStream(ws.TeamID, fakeslack.RTMMessage{Channel: ws.Channels[0].ID, User: ws.Users[1].ID, Text: text}, count)
				s.bot.rtm.injected.Add(int64(k))
			}
		}
		ws := workspaces[n%len(workspaces)]
		if n%7 == 0 {
			if _, err := s.srv.InjectSlashCommand(s.app.AppID, fakeslack.SlashCommand{Team: ws.TeamID, Channel: ws.Channels[0].ID, Command: "/count"}); err == nil {
				s.bot.commands.injected.Add(1)
			}
		}
		if n%10 == 3 {
			if _, err := s.srv.InjectInteraction(s.app.AppID, fakeslack.Interaction{Team: ws.TeamID, Channel: ws.Channels[0].ID, Type: "block_actions"}); err == nil {
				s.bot.actions.injected.Add(1)
			}
		}
	}
}

// fault is one scripted failure, played at At (a fraction of the traffic time).
type fault struct {
	At   float64
	Name string
	Do   func() error
}

func (s *scene) faults(ctx context.Context, span time.Duration) {
	start := time.Now()
	conn := func(i int) string {
		conns := s.srv.Connections(s.app.AppID)
		if len(conns) == 0 {
			return ""
		}
		return conns[i%len(conns)].ID
	}
	script := []fault{
		{0.2, "drop a Socket Mode socket (no close frame)", func() error { return s.srv.DropConnection(conn(0), false) }},
		{0.35, "Slack asks a socket to refresh (refresh_requested)", func() error { return s.srv.RefreshConnection(conn(1), false) }},
		{0.5, "apps.connections.open answers 429 Retry-After 1s, then a socket drops", func() error {
			s.srv.RefuseOpens(s.app.AppID, 1, "ratelimited", time.Second)
			return s.srv.DropConnection(conn(0), false)
		}},
		{0.65, "revoke the RTM bot token of " + s.revoke.TeamID, func() error {
			s.revoked.Store(true)
			if !s.srv.RevokeToken(s.revoke.ClassicBotToken) {
				return fmt.Errorf("unknown token")
			}
			return nil
		}},
	}
	for _, f := range script {
		at := start.Add(time.Duration(f.At * float64(span)))
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(at)):
		}
		s.quiet.Store(true)
		if !sleepCtx(ctx, 300*time.Millisecond) {
			return
		}
		if err := f.Do(); err != nil {
			s.notes("fault " + f.Name + ": " + err.Error())
		} else {
			s.notes("fault: " + f.Name)
		}
		s.awaitSettled(ctx, 5*time.Second)
		s.quiet.Store(false)
	}
}

// awaitSettled waits until every link is connected or fatal, or timeout.
func (s *scene) awaitSettled(ctx context.Context, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	sleepCtx(ctx, 100*time.Millisecond)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		settled := true
		for _, st := range s.rt.Status() {
			if st.State != switchboard.StateConnected && st.State != switchboard.StateFatal {
				settled = false
			}
		}
		if settled {
			return
		}
		sleepCtx(ctx, 50*time.Millisecond)
	}
}

func (s *scene) connected(team string) bool {
	for _, st := range s.rt.Status() {
		if st.Link.Transport == messages.RTM && st.Link.Team == team {
			return st.State == switchboard.StateConnected
		}
	}
	return false
}

// sleepCtx sleeps d and reports whether ctx is still live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
