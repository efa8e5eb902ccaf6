package edge

import "time"

// bucket is a token bucket owned by one socket's reader, so it needs no
// lock and costs a few words per socket.
type bucket struct {
	tokens float64
	last   time.Time
}

// take spends one token. When none is left it reports false and how long
// until one will be.
func (b *bucket) take(now time.Time, rate float64, burst int) (time.Duration, bool) {
	if b.last.IsZero() {
		b.tokens = float64(burst)
	} else {
		b.tokens = min(float64(burst), b.tokens+now.Sub(b.last).Seconds()*rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	return time.Duration((1 - b.tokens) / rate * float64(time.Second)), false
}
