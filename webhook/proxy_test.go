package webhook_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/switchboard-go/switchboard/messages"
	"github.com/switchboard-go/switchboard/webhook"
)

// A proxy that refuses the credentials of an https post's CONNECT fails the send at once with
// ErrProxyAuth: no retry, and the password in no error.
func TestProxyRefusalIsNotRetried(t *testing.T) {
	t.Parallel()
	target := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	defer target.Close()
	var connects atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		connects.Add(1)
		w.Header().Set("Proxy-Authenticate", `Basic realm="test"`)
		w.WriteHeader(http.StatusProxyAuthRequired)
	}))
	defer proxy.Close()
	pu, _ := url.Parse(proxy.URL)
	pu.User = url.UserPassword("u", "wrong-SECRET")
	c, err := webhook.New(webhook.WithProxy(http.ProxyURL(pu)),
		webhook.WithTLSConfig(&tls.Config{RootCAs: target.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Send(context.Background(), target.URL+"/services/T1/B1/x", webhook.Message{Text: "hi"})
	var pe *messages.ProxyError
	if !errors.Is(err, messages.ErrProxyAuth) || !errors.As(err, &pe) || pe.StatusCode != http.StatusProxyAuthRequired {
		t.Fatalf("Send = %v, want a 407 ProxyError", err)
	}
	if n := connects.Load(); n != 1 {
		t.Errorf("%d CONNECTs, want 1: a refused proxy password is not retried", n)
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("error %q holds the proxy password", err)
	}
}
