// Package cluster runs one Switchboard runtime as a member of a cluster of processes: membership
// comes from protoactor-go's cluster (its automanaged provider: static peers, no other service),
// every link (an RTM workspace, a Socket Mode connection slot of an app) is placed on exactly one
// member by rendezvous hashing over the member list, and the desired set of links lives in a
// shared SQL table (SQLite for one host, PostgreSQL for several) that every member reads.
//
// Users join with switchboard.WithCluster(cluster.Config{…}); AddApp and AddWorkspace then write
// the desired set, and each member connects its share.
//
// # Handover
//
// A member that stops (Runtime.Stop, on SIGTERM) marks itself leaving: the others take its links
// over. Socket Mode slots are made before they are broken (the new owner connects, then the old
// socket is drained and closed); RTM workspaces are broken before they are made (the old socket
// closes, then the new owner connects), so a workspace never has two RTM sockets.
//
// # Clustered keys
//
// A keyed subscription registered with switchboard.Clustered has one grain per key (KeyKind),
// placed by protoactor's identity lookup: every member sends the key's events there (SendKeyed),
// and the grain's member runs them (its KeyHost). A key's new grain waits until the other members
// are done with the key (KeyIdle), so its events never run on two members at once. Members
// exchange protobuf messages of package clusterpb; a guard in front of protoactor's remote drops
// the messages it would panic on (RemoteDropped).
//
// # Caveats
//
// Only a link's token travels in the shared table: a member that owns a link it was not told
// about by its own AddApp or AddWorkspace runs it with the runtime's defaults (no Installations,
// default RTM settings). Send on a member that does not run the workspace goes to the one that
// does (SendRTM, ServeRTM).
package cluster
