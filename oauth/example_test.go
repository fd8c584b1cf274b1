package oauth_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/fakeslack"
	"github.com/switchboard-go/switchboard/installstore"
	"github.com/switchboard-go/switchboard/oauth"
)

// An install with "Add to Slack" on the Slack stand-in, then a refresh of its rotating token: the
// browser follows /slack/install to Slack's authorize page and back to /slack/oauth_redirect,
// which saves the installation.
func Example() {
	srv, _ := fakeslack.New(fakeslack.Options{Workspaces: 1, Apps: 1})
	defer srv.Close()
	app := srv.Apps()[0]
	_ = srv.ConfigureApp(app.AppID, fakeslack.AppConfig{TokenRotation: true})
	store, _ := installstore.NewMemory()
	ctx := context.Background()

	in := &oauth.Installer{ClientID: app.ClientID, ClientSecret: app.ClientSecret, Scopes: []string{"chat:write"},
		Store: store, States: store, AuthorizeURL: srv.URL() + "/oauth/v2/authorize", APIURL: srv.APIURL(),
		OnInstalled: func(_ context.Context, i installstore.Installation) {
			fmt.Println("installed; call rt.InstallationsChanged here:", i.TeamID == srv.Workspaces()[0].TeamID)
		}}
	site := httptest.NewServer(in)
	defer site.Close()
	in.RedirectURL = site.URL + oauth.DefaultRedirectPath

	resp, err := http.Get(site.URL + oauth.DefaultInstallPath) // the browser, redirects followed
	if err != nil {
		panic(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, strings.Contains(string(page), "<h1>Installed</h1>"))

	r := &oauth.Refresher{ClientID: app.ClientID, ClientSecret: app.ClientSecret, Store: store, APIURL: srv.APIURL(),
		Ahead: 24 * time.Hour} // everything is due: the stand-in's tokens live 12 h
	n, err := r.RefreshDue(ctx)
	fmt.Println("refreshed", n, err)
	// Output:
	// installed; call rt.InstallationsChanged here: true
	// 200 true
	// refreshed 1 <nil>
}
