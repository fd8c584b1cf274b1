package webhook

import "time"

// bucket is a token bucket: it holds up to burst posts and refills at rate posts a second. A 429
// pauses it until the Retry-After has passed.
type bucket struct {
	rate   float64 // posts per second, > 0
	burst  float64 // >= 1
	tokens float64
	last   time.Time // when tokens was last brought up to date
	until  time.Time // paused until then
}

func newBucket(rate float64, burst int, now time.Time) *bucket {
	b := float64(max(burst, 1))
	return &bucket{rate: rate, burst: b, tokens: b, last: now}
}

// take spends one post and returns 0, or returns how long until one is allowed and spends nothing.
func (b *bucket) take(now time.Time) time.Duration {
	if now.Before(b.until) {
		return b.until.Sub(now)
	}
	b.refill(now)
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	d := time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
	return max(d, time.Millisecond)
}

// pause empties the bucket and allows nothing before now+d.
func (b *bucket) pause(now time.Time, d time.Duration) {
	b.refill(now)
	b.tokens = 0
	b.last = now.Add(d)
	if t := now.Add(d); t.After(b.until) {
		b.until = t
	}
}

// fullIn returns how long until the bucket is full again and unpaused.
func (b *bucket) fullIn(now time.Time) time.Duration {
	b.refill(now)
	d := time.Duration((b.burst - b.tokens) / b.rate * float64(time.Second))
	if now.Before(b.until) {
		d += b.until.Sub(now)
	}
	return d
}

func (b *bucket) refill(now time.Time) {
	if now.After(b.last) {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
	}
}
