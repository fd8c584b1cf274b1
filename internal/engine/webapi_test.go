package engine

import (
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	huge := time.Duration(maxRetryAfterSecs) * time.Second
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"30", 30 * time.Second},
		{" 7 ", 7 * time.Second},
		{"0", 0},
		{"999999999", 999999999 * time.Second}, // 31.7 years: kept, the supervisor caps it
		{"18446744074", huge},                  // wrapped to 290ms through slack-go
		{"99999999999999999999999999", huge},   // past uint64
		{"-5", 0},
		{"1.5", 0},
		{"abc", 0},
		{now.Add(2 * time.Minute).Format(http.TimeFormat), 2 * time.Minute},
		{now.Add(90 * time.Second).Format(time.RFC850), 90 * time.Second},
		{now.Add(time.Hour).Format(time.ANSIC), time.Hour},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0}, // in the past
	} {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestConnectBudget(t *testing.T) {
	b := &ConnectBudget{Every: 100 * time.Millisecond, Burst: 3}
	now := time.Now()
	var got []time.Duration
	for range 6 {
		got = append(got, b.reserve(now).Sub(now))
	}
	want := []time.Duration{0, 0, 0, 100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("slots %v, want %v", got, want)
		}
	}
	// Once the queue has drained and a full burst's time has passed, the burst is free again.
	later := now.Add(time.Second)
	for i := range 3 {
		if s := b.reserve(later); !s.Equal(later) {
			t.Errorf("slot %d after idling: %v later, want at once", i, s.Sub(later))
		}
	}
	var zero ConnectBudget // defaults: 10 at once, then one per 50ms
	for i := range DefaultConnectBurst {
		if s := zero.reserve(now); !s.Equal(now) {
			t.Fatalf("default slot %d not at once", i)
		}
	}
	if s := zero.reserve(now); s.Sub(now) != DefaultConnectEvery {
		t.Errorf("first slot past the default burst %v later, want %v", s.Sub(now), DefaultConnectEvery)
	}
}
