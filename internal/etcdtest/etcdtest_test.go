package etcdtest_test

import (
	"net/http"
	"testing"

	"github.com/switchboard-go/switchboard/internal/etcdtest"
)

func TestStart(t *testing.T) {
	ep := etcdtest.Start(t)
	resp, err := http.Get("http://" + ep + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("health: %s", resp.Status)
	}
}
