// Package loadgen measures a Slack client against bare socket loops: a purpose-built Slack side
// that serves apps.connections.open and rtm.connect and floods the sockets they name with
// realistic message events, and the reference clients it is compared with.
//
// The Server runs one measurement at a time (a Run): it hands out one socket per connection slot,
// sends hello on each, waits until every slot is connected, then writes PerConn events on each
// socket at once. On Socket Mode each event is a ~1.2 KB events_api envelope carrying a message
// event_callback (blocks, authorizations, a unique envelope_id and event_id), at most Window of
// them unacked per socket; the run ends when every envelope is acked, and the Result gives
// events/s and the ack latency (envelope written → ack read) quantiles. On RTM each event is a
// message frame written as fast as the socket takes it; the client counts what it read.
//
// The reference clients are the loops a person would write without a framework: Bare reads with
// gorilla/websocket, decodes the envelope with encoding/json and writes the ack; Ceiling finds
// the envelope_id with a byte search and acks, decoding nothing, one write(2) per ack;
// CeilingCoalesced does the same with its acks coalesced (a writer goroutine sends every ack
// waiting in one write); BareRTM reads and decodes each RTM frame. Each runs in a process of its own (cmd/loadgen), as the Switchboard client does
// (cmd/loadgen-switchboard), so each one's peak RSS and CPU are its own; test/bench_ratio_test.go
// drives them in interleaved rounds.
package loadgen
