package ops_test

import (
	"context"
	"errors"
	"testing"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
)

// handler_duration_seconds times every handler subscription, by subscription, kind and outcome,
// and leaves out ops' own counting subscription.
func TestHandlerDuration(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if err := f.rt.OnCommand("/ok", func(context.Context, *switchboard.Event) error { return nil }, switchboard.Named("ok")); err != nil {
		t.Fatal(err)
	}
	if err := f.rt.OnCommand("/fail", func(context.Context, *switchboard.Event) error { return errors.New("no") }, switchboard.Named("fail")); err != nil {
		t.Fatal(err)
	}
	if err := f.rt.OnCommand("/panic", func(context.Context, *switchboard.Event) error { panic("no") }, switchboard.Named("panic")); err != nil {
		t.Fatal(err)
	}
	app := f.addApp(1)
	eventually(t, "the app's socket", func() bool { return len(f.srv.Connections(app.AppID)) > 0 })
	team := f.srv.Workspaces()[0].TeamID
	for _, c := range []string{"/ok", "/fail", "/panic"} {
		if _, err := f.srv.InjectSlashCommand(app.AppID, fakeslack.SlashCommand{Team: team, Command: c}); err != nil {
			t.Fatal(err)
		}
	}
	series := func(sub, outcome string) string {
		return `switchboard_handler_duration_seconds_count{kind="slash_commands",outcome="` + outcome + `",subscription="` + sub + `"}`
	}
	eventually(t, "the three handlers timed", func() bool {
		_, body := f.get("/metrics")
		return metric(body, series("ok", "ok")) == "1" && metric(body, series("fail", "error")) == "1" && metric(body, series("panic", "panic")) == "1"
	})
	if _, body := f.get("/metrics"); grep(body, `handler_duration_seconds_count{kind="slash_commands",outcome="ok",subscription="ops-events"`) != "" {
		t.Error("ops-events timed")
	}
}
