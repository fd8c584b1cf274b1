package oauth

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/slack-go/slack"

	"github.com/switchboard-go/switchboard/installstore"
)

// Default paths and URLs.
const (
	DefaultInstallPath  = "/slack/install"
	DefaultRedirectPath = "/slack/oauth_redirect"
	DefaultAuthorizeURL = "https://slack.com/oauth/v2/authorize"
	DefaultAPIURL       = "https://slack.com/api/"
)

// Installer is the install flow of one app. Set the fields before serving; they are not changed
// afterwards. ClientID, ClientSecret, RedirectURL, Store and States are required.
type Installer struct {
	ClientID, ClientSecret string
	Scopes                 []string // bot scopes
	UserScopes             []string // user scopes; none means no user token
	// RedirectURL is the redirect path's absolute URL, as in the app's OAuth settings.
	RedirectURL string
	Store       installstore.Store
	States      installstore.StateStore
	// StateTTL is how long an install may take from the install path to the redirect. Default
	// installstore.DefaultStateTTL (10 minutes).
	StateTTL time.Duration
	// InstallPath and RedirectPath are the paths served. Defaults DefaultInstallPath and
	// DefaultRedirectPath.
	InstallPath, RedirectPath string
	// AuthorizeURL is Slack's authorize page (DefaultAuthorizeURL); APIURL the Web API base
	// (DefaultAPIURL), for oauth.v2.access and auth.test. A stand-in's in tests.
	AuthorizeURL, APIURL string
	// HTTPClient calls oauth.v2.access and auth.test. Default: a client with a 10 s timeout.
	HTTPClient *http.Client
	// OnInstalled is called once an installation is saved, before the success page: wire it to
	// the runtime's InstallationsChanged(inst.TeamID).
	OnInstalled func(ctx context.Context, inst installstore.Installation)
	// Log logs installs and failures (never tokens, codes or states). Default: none.
	Log *logrus.Logger
}

// ServeHTTP serves the install path (GET) and the redirect path (GET); any other path is 404.
func (in *Installer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case orDefault(in.InstallPath, DefaultInstallPath):
		in.install(w, r)
	case orDefault(in.RedirectPath, DefaultRedirectPath):
		in.redirect(w, r)
	default:
		http.NotFound(w, r)
	}
}

// AuthorizeURLWithState returns the URL of Slack's authorize page for an install with a new state.
func (in *Installer) AuthorizeURLWithState(ctx context.Context) (string, error) {
	if err := in.check(); err != nil {
		return "", err
	}
	state, err := in.States.Issue(ctx, in.StateTTL)
	if err != nil {
		return "", fmt.Errorf("oauth: issue a state: %w", err)
	}
	u, err := url.Parse(orDefault(in.AuthorizeURL, DefaultAuthorizeURL))
	if err != nil {
		return "", fmt.Errorf("oauth: authorize url: %w", err)
	}
	q := u.Query()
	q.Set("client_id", in.ClientID)
	q.Set("scope", strings.Join(in.Scopes, ","))
	if len(in.UserScopes) > 0 {
		q.Set("user_scope", strings.Join(in.UserScopes, ","))
	}
	q.Set("redirect_uri", in.RedirectURL)
	q.Set("state", state)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func (in *Installer) check() error {
	switch {
	case in.ClientID == "" || in.ClientSecret == "":
		return errors.New("oauth: installer needs ClientID and ClientSecret")
	case in.RedirectURL == "":
		return errors.New("oauth: installer needs RedirectURL")
	case in.Store == nil || in.States == nil:
		return errors.New("oauth: installer needs Store and States")
	}
	return nil
}

func (in *Installer) install(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	}
	target, err := in.AuthorizeURLWithState(r.Context())
	if err != nil {
		in.log().WithError(err).Error("oauth: install")
		in.page(w, http.StatusInternalServerError, false, "The install could not start. Try again later.")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusFound)
}

func (in *Installer) redirect(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	ctx := r.Context()
	q := r.URL.Query()
	log := in.log().WithField("remote", r.RemoteAddr)
	if e := q.Get("error"); e != "" {
		log.WithField("error", e).Info("oauth: install refused on slack")
		in.page(w, http.StatusOK, false, "The app was not installed: "+e+".")
		return
	}
	if err := in.check(); err != nil {
		log.WithError(err).Error("oauth: redirect")
		in.page(w, http.StatusInternalServerError, false, "The install could not finish. Try again later.")
		return
	}
	switch err := in.States.Consume(ctx, q.Get("state")); {
	case errors.Is(err, installstore.ErrStateExpired):
		log.Warn("oauth: redirect with an expired state")
		in.page(w, http.StatusBadRequest, false, "This install link expired. Start the install again.")
		return
	case err != nil:
		log.WithError(err).Warn("oauth: redirect with an unknown or used state")
		in.page(w, http.StatusBadRequest, false, "This install link is not valid (used already, or not from here). Start the install again.")
		return
	}
	code := q.Get("code")
	if code == "" {
		log.Warn("oauth: redirect without a code")
		in.page(w, http.StatusBadRequest, false, "Slack sent no authorization code. Start the install again.")
		return
	}
	inst, err := in.Exchange(ctx, code)
	if err != nil {
		log.WithError(err).Error("oauth: install failed")
		in.page(w, http.StatusBadGateway, false, "The app could not be installed: Slack refused the exchange. Start the install again.")
		return
	}
	log.WithFields(logrus.Fields{"team": inst.TeamID, "enterprise": inst.EnterpriseID, "app": inst.AppID}).Info("oauth: installed")
	name := inst.TeamName
	if inst.IsEnterpriseInstall {
		name = inst.EnterpriseName
	}
	in.page(w, http.StatusOK, true, "The app is installed in "+name+".")
}

// Exchange trades an authorization code for an installation with oauth.v2.access, fills in the
// bot's ID with auth.test, saves it and calls OnInstalled.
func (in *Installer) Exchange(ctx context.Context, code string) (installstore.Installation, error) {
	api := orDefault(in.APIURL, DefaultAPIURL)
	resp, err := slack.GetOAuthV2ResponseContext(ctx, httpClient(in.HTTPClient), in.ClientID, in.ClientSecret, code, in.RedirectURL, slack.OAuthOptionAPIURL(api))
	if err != nil {
		return installstore.Installation{}, fmt.Errorf("oauth: oauth.v2.access: %w", err)
	}
	inst := installstore.FromOAuthV2(resp, time.Now())
	if inst.BotToken != "" {
		who, err := slack.New(inst.BotToken, slack.OptionAPIURL(api), slack.OptionHTTPClient(httpClient(in.HTTPClient))).AuthTestContext(ctx)
		if err != nil {
			return installstore.Installation{}, fmt.Errorf("oauth: auth.test of the new bot token: %w", err)
		}
		inst.BotID = who.BotID
	}
	if err := in.Store.Save(ctx, inst); err != nil {
		return installstore.Installation{}, fmt.Errorf("oauth: save the installation: %w", err)
	}
	if in.OnInstalled != nil {
		in.OnInstalled(ctx, inst)
	}
	return inst, nil
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>{{if .OK}}Installed{{else}}Not installed{{end}}</title></head>
<body><h1>{{if .OK}}Installed{{else}}Not installed{{end}}</h1><p>{{.Message}}</p></body></html>
`))

func (in *Installer) page(w http.ResponseWriter, status int, ok bool, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = pageTemplate.Execute(w, struct {
		OK      bool
		Message string
	}{ok, msg})
}

func (in *Installer) log() *logrus.Logger { return loggerOr(in.Log) }

func loggerOr(l *logrus.Logger) *logrus.Logger {
	if l != nil {
		return l
	}
	d := logrus.New()
	d.SetLevel(logrus.PanicLevel)
	return d
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

var defaultClient = &http.Client{Timeout: 10 * time.Second}

func httpClient(h *http.Client) *http.Client {
	if h != nil {
		return h
	}
	return defaultClient
}
