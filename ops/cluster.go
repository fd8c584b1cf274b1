package ops

import (
	"net/http"

	switchboard "github.com/switchboard-go/switchboard"
)

// ClusterHealth is the /cluster answer of a member of a cluster (switchboard.WithCluster): its view
// of the members and of every link's owner, and whether it is ready: joined, every desired link
// owned, and every link it runs connected.
type ClusterHealth struct {
	Ready bool `json:"ready"`
	switchboard.ClusterStatus
	// Links is the state of each link this member runs.
	Links map[string]switchboard.State `json:"links"`
}

// ClusterHandler serves ClusterHealth as JSON: 200 when ready, else 503 (and 404 for a runtime
// without a cluster). Mount it next to Handler, at /cluster.
func ClusterHandler(rt *switchboard.Runtime) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		cs, ok := rt.ClusterStatus()
		if !ok {
			http.Error(w, "not a cluster member", http.StatusNotFound)
			return
		}
		h := ClusterHealth{ClusterStatus: cs, Links: map[string]switchboard.State{}}
		up := true
		for _, st := range rt.Status() {
			h.Links[st.Link.Name] = st.State
			up = up && (st.State == switchboard.StateConnected || st.State == switchboard.StateFatal)
		}
		h.Ready = cs.Joined && len(cs.Unowned) == 0 && up
		code := http.StatusOK
		if !h.Ready {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, h)
	})
}
