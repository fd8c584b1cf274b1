package switchboard

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"
)

// TestProxyPrecedence checks which proxy each of the runtime's clients and dialers uses: WithProxy,
// then the Proxy of WithHTTPClient's transport, then the environment. The environment is checked
// by identity (the function is http.ProxyFromEnvironment), not by setting HTTPS_PROXY: Go reads
// the environment once per process, and never proxies the loopback addresses tests run on.
func TestProxyPrecedence(t *testing.T) {
	fromTransport := &url.URL{Scheme: "http", Host: "transport.example:3128"}
	explicit := &url.URL{Scheme: "http", Host: "explicit.example:3128", User: url.UserPassword("u", "p")}
	withTransport := func() Option {
		return WithHTTPClient(&http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(fromTransport)}})
	}
	const env = "environment"
	for _, tt := range []struct {
		name string
		opts []Option
		want any // *url.URL, nil for no proxy, or env
	}{
		{"default: the environment", nil, env},
		{"WithHTTPClient's transport", []Option{withTransport()}, fromTransport},
		{"WithHTTPClient with a nil transport: the environment", []Option{WithHTTPClient(&http.Client{})}, env},
		{"WithProxy", []Option{WithProxy(explicit)}, explicit},
		{"WithProxy over WithHTTPClient's transport", []Option{withTransport(), WithProxy(explicit)}, explicit},
		{"WithProxy before WithHTTPClient still wins", []Option{WithProxy(explicit), withTransport()}, explicit},
		{"WithProxy(nil): none, whatever the environment", []Option{WithProxy(nil)}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rt, err := New(tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = rt.Stop(ctx)
			}()
			tr := transportOf(rt.cfg.http)
			if tr == nil {
				t.Fatalf("runtime client's transport is %T", rt.cfg.http.Transport)
			}
			for what, proxy := range map[string]func(*http.Request) (*url.URL, error){
				"web api transport":  tr.Proxy,
				"socket mode dialer": rt.env.Dialer.Proxy,
				"rtm dialer":         rt.rtmDialer(nil).Proxy,
			} {
				checkProxy(t, what, proxy, tt.want)
			}
		})
	}
}

func checkProxy(t *testing.T, what string, proxy func(*http.Request) (*url.URL, error), want any) {
	t.Helper()
	if want == "environment" {
		if proxy == nil || reflect.ValueOf(proxy).Pointer() != reflect.ValueOf(http.ProxyFromEnvironment).Pointer() {
			t.Errorf("%s: proxy is not http.ProxyFromEnvironment", what)
		}
		return
	}
	var got *url.URL
	if proxy != nil {
		req, _ := http.NewRequest(http.MethodGet, "https://slack.com/api/rtm.connect", nil)
		var err error
		if got, err = proxy(req); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	w, _ := want.(*url.URL)
	if (got == nil) != (w == nil) || got != nil && got.String() != w.String() {
		t.Errorf("%s: proxy %v, want %v", what, got, w)
	}
}

// WithProxy keeps the caller's client and transport unchanged, and refuses what it cannot apply.
func TestWithProxyValidates(t *testing.T) {
	tr := &http.Transport{}
	h := &http.Client{Transport: tr}
	rt, err := New(WithHTTPClient(h), WithProxy(&url.URL{Scheme: "http", Host: "p:1"}))
	if err != nil {
		t.Fatal(err)
	}
	if rt.cfg.http == h || tr.Proxy != nil || h.Transport != tr {
		t.Error("WithProxy changed the caller's client or transport")
	}
	_ = rt.Stop(context.Background())
	for _, opts := range [][]Option{
		{WithProxy(&url.URL{Scheme: "socks5", Host: "p:1"})},
		{WithProxy(&url.URL{Scheme: "http"})},
		{WithHTTPClient(&http.Client{Transport: roundTripper(nil)}), WithProxy(&url.URL{Scheme: "http", Host: "p:1"})},
	} {
		if rt, err := New(opts...); err == nil {
			_ = rt.Stop(context.Background())
			t.Errorf("New accepted %d options it cannot apply", len(opts))
		}
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
