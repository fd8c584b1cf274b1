package cluster

import "github.com/switchboard-go/switchboard/internal/clusterlink"

// Owner returns the member that owns link among members, by rendezvous (highest random weight)
// hashing: every member computes the same owner from the same list, links spread evenly, and a
// member joining or leaving moves only the links it takes or had. It returns "" for no members.
func Owner(link string, members []string) string { return clusterlink.Owner(link, members) }
