package ops_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	switchboard "github.com/switchboard-go/switchboard"
	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/ops"
)

// Serve a runtime's metrics, health and status; here on a free port, against the stand-in.
func ExampleNew() {
	srv, _ := fakeslack.New(fakeslack.Options{Workspaces: 1})
	defer srv.Close()
	rt, _ := switchboard.New(switchboard.WithAPIURL(srv.APIURL()))
	o, err := ops.New(rt, ops.Options{Addr: "127.0.0.1:0"}) // before adding links: no connect goes uncounted
	if err != nil {
		panic(err)
	}
	addr, _ := o.Start()
	app, ws := srv.Apps()[0], srv.Workspaces()[0]
	_ = rt.AddApp(context.Background(), switchboard.App{ID: app.AppID, Token: app.AppToken,
		Installations: switchboard.Installations{ws.TeamID: ws.BotToken}})

	get := func(path string) int {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	for deadline := time.Now().Add(5 * time.Second); get("/healthz") != 200 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Println(get("/healthz"), get("/status"), get("/metrics"))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = rt.Stop(ctx)
	_ = o.Close(ctx)
	http.DefaultClient.CloseIdleConnections()
	// Output: 200 200 200
}
