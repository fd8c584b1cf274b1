package fakeslack_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/fakeslack"
)

// heapInUse returns the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestHistoryBounded streams messages into a channel with no socket open, as the three rtm/stream
// calls of 1,000,000 messages did that grew the server to 1.9 GB (600,000 here): the
// channel keeps its last HistorySize messages and the heap stays flat. Not parallel: it measures
// the heap.
func TestHistoryBounded(t *testing.T) {
	srv := start(t, fakeslack.Options{Workspaces: 1, Apps: -1})
	ws := srv.Workspaces()[0]
	before := heapInUse()
	for range 3 {
		if _, err := srv.InjectRTMStream(ws.TeamID, fakeslack.RTMMessage{Channel: "general", Text: "m"}, 200000); err != nil {
			t.Fatal(err)
		}
	}
	h := srv.History(ws.Channels[0].ID)
	if len(h) != 10000 || h[0].Text != "m190001" || h[len(h)-1].Text != "m200000" {
		t.Fatalf("history keeps %d messages, %q … %q; want the last 10000 (default HistorySize)", len(h), h[0].Text, h[len(h)-1].Text)
	}
	h = nil
	if grew := int64(heapInUse()) - int64(before); grew > 16<<20 {
		t.Errorf("600,000 streamed messages grew the heap by %d MiB", grew>>20)
	}

	small := start(t, fakeslack.Options{Workspaces: 1, Apps: -1, HistorySize: 3})
	sws := small.Workspaces()[0]
	for _, text := range []string{"a", "b", "c", "d"} {
		if _, err := small.InjectRTMMessage(sws.TeamID, fakeslack.RTMMessage{Channel: "general", Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	if h := small.History(sws.Channels[0].ID); len(h) != 3 || h[0].Text != "b" || h[2].Text != "d" {
		t.Errorf("HistorySize 3 keeps %+v", h)
	}
	none := start(t, fakeslack.Options{Workspaces: 1, Apps: -1, HistorySize: -1})
	nws := none.Workspaces()[0]
	_, _ = none.InjectRTMMessage(nws.TeamID, fakeslack.RTMMessage{Channel: "general", Text: "x"})
	if h := none.History(nws.Channels[0].ID); len(h) != 0 {
		t.Errorf("HistorySize -1 keeps %d messages", len(h))
	}
}

// TestTranscriptBounded checks both of the transcript's bounds: entries and bytes of Data.
func TestTranscriptBounded(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name        string
		size, bytes int
	}{
		{"entries", 50, 0},
		{"bytes", 0, 4096},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := start(t, fakeslack.Options{Workspaces: 1, Apps: -1, TranscriptSize: tt.size, TranscriptBytes: tt.bytes})
			ws := srv.Workspaces()[0]
			c := rtmDial(t, srv, ws.ClassicBotToken)
			const n = 500
			if _, err := srv.InjectRTMStream(ws.TeamID, fakeslack.RTMMessage{Channel: "general", Text: "m"}, n); err != nil {
				t.Fatal(err)
			}
			for range n {
				readFrame(t, c, 5*time.Second)
			}
			all := srv.Transcript().Entries(nil)
			total := 0
			for _, e := range all {
				total += len(e.Data)
			}
			last := all[len(all)-1]
			switch {
			case tt.size > 0 && len(all) != tt.size:
				t.Errorf("%d entries kept, want %d", len(all), tt.size)
			case tt.bytes > 0 && (total > tt.bytes || total < tt.bytes/2):
				t.Errorf("%d bytes of data kept, want at most %d (and most of it)", total, tt.bytes)
			}
			if last.Kind != fakeslack.KindFrameOut || last.Seq < n {
				t.Errorf("last entry = %+v, want the last frame sent", last)
			}
			for i := 1; i < len(all); i++ {
				if all[i].Seq != all[i-1].Seq+1 {
					t.Fatalf("entries %d and %d not consecutive: %d, %d", i-1, i, all[i-1].Seq, all[i].Seq)
				}
			}
		})
	}
}
