package cluster

import (
	"context"
	"log/slog"
	"strings"
)

// routine are protoactor cluster messages it logs as errors for what a cluster does every day: a
// peer that is down or restarting (the automanaged provider polls every peer it was given, each
// refresh), a remote connection closing as its member leaves, the health server closing at Leave.
var routine = []string{
	"Bad connection to the node health status",
	"Failure reaching nodes",
	"EndpointWriter", // lost connection, failed to connect or to create its receive stream
	"Automanaged server stopping",
	"EndpointManager",
}

// levelled lowers protoactor's routine errors to Debug; everything else keeps its level.
type levelled struct{ slog.Handler }

func (h levelled) Enabled(ctx context.Context, l slog.Level) bool { return h.Handler.Enabled(ctx, l) }

func (h levelled) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		for _, m := range routine {
			if strings.HasPrefix(r.Message, m) {
				if !h.Handler.Enabled(ctx, slog.LevelDebug) {
					return nil
				}
				r.Level = slog.LevelDebug
				break
			}
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h levelled) WithAttrs(as []slog.Attr) slog.Handler { return levelled{h.Handler.WithAttrs(as)} }
func (h levelled) WithGroup(n string) slog.Handler       { return levelled{h.Handler.WithGroup(n)} }
