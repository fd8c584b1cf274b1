package test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/messages"
)

// awaitRTMEnd waits for the Disconnected of team's session and the Reconnecting after it, and
// returns them.
func (h *rtmHarness) awaitRTMEnd(team string) (messages.Disconnected, messages.Reconnecting) {
	h.t.Helper()
	d := h.await(10*time.Second, "disconnected", func(ev messages.Lifecycle) bool {
		_, ok := ev.(messages.Disconnected)
		return ok && ev.LinkOf().Team == team
	}).(messages.Disconnected)
	r := h.await(10*time.Second, "reconnecting", func(ev messages.Lifecycle) bool {
		_, ok := ev.(messages.Reconnecting)
		return ok && ev.LinkOf().Team == team
	}).(messages.Reconnecting)
	return d, r
}

func (h *rtmHarness) awaitFatal(team string) messages.Fatal {
	h.t.Helper()
	return h.await(10*time.Second, "fatal", func(ev messages.Lifecycle) bool {
		_, ok := ev.(messages.Fatal)
		return ok && ev.LinkOf().Team == team
	}).(messages.Fatal)
}

func TestRTMDropReconnects(t *testing.T) {
	t.Parallel()
	h := newRTMHarness(t, fakeslack.Options{Workspaces: 1})
	ws := h.workspace(0)
	h.add(ws)
	h.await(10*time.Second, "connected", rtmConnected(ws.Team))
	if err := h.srv.DropConnection(h.connID(ws.Team), false); err != nil {
		t.Fatal(err)
	}
	d, r := h.awaitRTMEnd(ws.Team)
	var se *messages.SocketError
	if !errors.As(d.Reason, &se) || r.Attempt != 1 {
		t.Errorf("after a drop: %v / %v, want a socket error and retry 1", d, r)
	}
	h.await(10*time.Second, "reconnected", rtmConnected(ws.Team))
	if st := h.rt.Status(); len(st) != 1 || st[0].Reconnects != 1 || st[0].State != "connected" {
		t.Errorf("status %+v", st)
	}
}

func TestRTMGoodbyeReconnectsAtOnce(t *testing.T) {
	t.Parallel()
	// A slow backoff: only a goodbye's immediate reconnect gets through in time.
	h := newRTMHarness(t, fakeslack.Options{Workspaces: 1}, switchboard.WithBackoff(time.Minute, time.Minute, time.Minute))
	ws := h.workspace(0)
	h.add(ws)
	h.await(10*time.Second, "connected", rtmConnected(ws.Team))
	if n, err := h.srv.SendRTMGoodbye(ws.Team, ""); err != nil || n != 1 {
		t.Fatalf("SendRTMGoodbye = %d, %v", n, err)
	}
	d, r := h.awaitRTMEnd(ws.Team)
	if !errors.Is(d.Reason, messages.ErrGoodbye) || r.Delay != 0 {
		t.Errorf("after goodbye: %v / %v, want ErrGoodbye and no delay", d, r)
	}
	h.await(5*time.Second, "reconnected", rtmConnected(ws.Team))
}

func TestRTMErrorFrameEndsSession(t *testing.T) {
	t.Parallel()
	h := newRTMHarness(t, fakeslack.Options{Workspaces: 1})
	ws := h.workspace(0)
	h.add(ws)
	h.await(10*time.Second, "connected", rtmConnected(ws.Team))
	if _, err := h.srv.InjectRTMEvent(ws.Team, map[string]any{"type": "error", "error": map[string]any{"code": 99, "msg": "boom"}}); err != nil {
		t.Fatal(err)
	}
	d, _ := h.awaitRTMEnd(ws.Team)
	var re *messages.RTMReplyError
	if !errors.As(d.Reason, &re) || re.Code != 99 || re.Msg != "boom" {
		t.Errorf("after an error frame: %v, want an RTMReplyError 99 boom", d.Reason)
	}
	h.await(10*time.Second, "reconnected", rtmConnected(ws.Team))
}

func TestRTMStalePongReconnectsWithBackoff(t *testing.T) {
	t.Parallel()
	h := newRTMHarness(t, fakeslack.Options{Workspaces: 1})
	ws := h.workspace(0)
	ws.PingInterval, ws.PongTimeout = 100*time.Millisecond, 300*time.Millisecond
	h.add(ws)
	h.await(10*time.Second, "connected", rtmConnected(ws.Team))
	id := h.connID(ws.Team)
	waitFor(t, 5*time.Second, "three JSON pings answered", func() bool {
		return len(h.srv.Transcript().Entries(func(e fakeslack.Entry) bool {
			return e.Kind == fakeslack.KindFrameOut && e.Conn == id && bytes.Contains(e.Data, []byte(`"type":"pong"`))
		})) >= 3
	})
	if st := h.rt.Status(); st[0].Reconnects != 0 {
		t.Fatalf("reconnected while pongs came: %+v", st[0])
	}
	if err := h.srv.StopAnsweringPings(id); err != nil {
		t.Fatal(err)
	}
	d, r := h.awaitRTMEnd(ws.Team)
	if !errors.Is(d.Reason, messages.ErrStale) || r.Attempt != 1 {
		t.Errorf("after pongs stopped: %v / %v, want ErrStale, attempt 1", d, r)
	}
	h.await(10*time.Second, "reconnected", rtmConnected(ws.Team))
}

func TestRTMConnectRateLimitedHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	h := newRTMHarness(t, fakeslack.Options{Workspaces: 1})
	ws := h.workspace(0)
	h.srv.RefuseOpens(ws.Team, 1, "ratelimited", time.Second)
	start := time.Now()
	h.add(ws)
	d, r := h.awaitRTMEnd(ws.Team)
	if !errors.Is(d.Reason, messages.ErrRateLimited) || messages.RetryAfter(d.Reason) != time.Second {
		t.Errorf("refused connect: %v, want ratelimited with Retry-After 1s", d.Reason)
	}
	if r.Delay < time.Second {
		t.Errorf("Reconnecting delay %v, want >= the 1s Retry-After", r.Delay)
	}
	h.await(10*time.Second, "connected", rtmConnected(ws.Team))
	if el := time.Since(start); el < time.Second {
		t.Errorf("connected after %v, before Retry-After", el)
	}
}

func TestRTMRevokedTokenMidSessionIsFatal(t *testing.T) {
	t.Parallel()
	h := newRTMHarness(t, fakeslack.Options{Workspaces: 1})
	ws := h.workspace(0)
	h.add(ws)
	h.await(10*time.Second, "connected", rtmConnected(ws.Team))
	if !h.srv.RevokeToken(ws.Token) {
		t.Fatal("token unknown")
	}
	f := h.awaitFatal(ws.Team)
	if !errors.Is(f.Error, messages.ErrTokenRevoked) || !strings.Contains(f.Advice, "reinstall") {
		t.Errorf("fatal %v", f)
	}
	waitFor(t, 5*time.Second, "state fatal", func() bool { return h.rt.Status()[0].State == "fatal" })
	if _, err := h.rt.Send(context.Background(), ws.Team, switchboard.RTMMessage{Channel: "C1", Text: "x"}); !errors.Is(err, switchboard.ErrNotConnected) {
		t.Errorf("send to a stopped workspace: %v, want ErrNotConnected", err)
	}
	if strings.Contains(h.logs.String(), ws.Token) {
		t.Error("the token was logged")
	}
}

func TestRTMGranularTokenIsFatalWithAdvice(t *testing.T) {
	t.Parallel()
	h := newRTMHarness(t, fakeslack.Options{Workspaces: 1})
	fws := h.srv.Workspaces()[0]
	h.add(switchboard.Workspace{Team: fws.TeamID, Token: fws.BotToken})
	f := h.awaitFatal(fws.TeamID)
	if !errors.Is(f.Error, messages.ErrNotAllowedTokenType) || !strings.Contains(f.Advice, "RTM needs a classic app's bot token") {
		t.Errorf("fatal %v", f)
	}
	if f.Link.Transport != messages.RTM || f.Link.Name != fws.TeamID {
		t.Errorf("fatal link %+v", f.Link)
	}
	if strings.Contains(h.logs.String(), fws.BotToken) {
		t.Error("the token was logged")
	}
}

func TestRTMAutoReconnectOffStopsTheLink(t *testing.T) {
	t.Parallel()
	h := newRTMHarness(t, fakeslack.Options{Workspaces: 1})
	ws := h.workspace(0)
	off := false
	ws.AutoReconnect = &off
	h.add(ws)
	h.await(10*time.Second, "connected", rtmConnected(ws.Team))
	if err := h.srv.DropConnection(h.connID(ws.Team), false); err != nil {
		t.Fatal(err)
	}
	f := h.awaitFatal(ws.Team)
	var se *messages.SocketError
	if !errors.As(f.Error, &se) || !strings.Contains(f.Advice, "reconnecting is off") {
		t.Errorf("fatal %v", f)
	}
	waitFor(t, 5*time.Second, "state stopped", func() bool { return h.rt.Status()[0].State == "stopped" })
	if err := h.rt.RemoveWorkspace(context.Background(), ws.Team); err != nil {
		t.Fatal(err)
	}
	h.add(ws) // added again, it connects again
	h.await(10*time.Second, "connected again", rtmConnected(ws.Team))
}

func TestRTMAddWorkspaceValidates(t *testing.T) {
	t.Parallel()
	h := newRTMHarness(t, fakeslack.Options{Workspaces: 1})
	ws := h.workspace(0)
	for name, bad := range map[string]switchboard.Workspace{
		"no team":     {Token: ws.Token},
		"app token":   {Team: ws.Team, Token: "xapp-1-A-1-x"},
		"bad method":  {Team: ws.Team, Token: ws.Token, ConnectMethod: "rtm.open"},
		"negative":    {Team: ws.Team, Token: ws.Token, PingInterval: -time.Second},
		"empty token": {Team: ws.Team},
	} {
		if err := h.rt.AddWorkspace(context.Background(), bad); err == nil {
			t.Errorf("%s: AddWorkspace accepted %+v", name, bad.Team)
		} else if strings.Contains(err.Error(), ws.Token) {
			t.Errorf("%s: error shows the token", name)
		}
	}
	h.add(ws)
	if err := h.rt.AddWorkspace(context.Background(), ws); err == nil {
		t.Error("added the same workspace twice")
	}
}
