// Package clusterpb holds the protobuf messages that Switchboard's cluster members send each
// other over protoactor-go's remote: a clustered keyed subscription's events on their way to the
// grain of their key, its answers, and the idle check a key's new grain makes before it takes
// events. The Go code is generated from clusterpb.proto by `make proto` and committed; its test
// checks that it matches what the pinned generators make of the .proto.
package clusterpb
