package gateway

import (
	"sync"
	"time"
)

// Flood control of one connection: a token bucket admits rateLimit frames
// a second with bursts of rateBurst; a frame over it is dropped with a
// "rate_limited" error. A client that has floodDrops frames dropped within
// floodWindow is disconnected.
const (
	rateLimit   = 10
	rateBurst   = 20
	floodDrops  = 100
	floodWindow = 10 * time.Second
)

// bucket is a token bucket. It is owned by one connection's reader.
type bucket struct {
	rate, burst float64
	tokens      float64
	last        time.Time

	dropStart time.Time // start of the current flood window
	drops     int
}

func newBucket(rate, burst float64) *bucket {
	return &bucket{rate: rate, burst: burst, tokens: burst}
}

// allow takes a token if there is one.
func (b *bucket) allow(now time.Time) bool {
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}

// dropped counts a dropped frame and reports whether the client is
// flooding: floodDrops drops within floodWindow.
func (b *bucket) dropped(now time.Time) bool {
	if b.dropStart.IsZero() || now.Sub(b.dropStart) > floodWindow {
		b.dropStart, b.drops = now, 0
	}
	b.drops++
	return b.drops >= floodDrops
}

// typingInterval is the least time between two typing events of a seat.
const typingInterval = 2 * time.Second

// typingThrottle lets at most one typing event per seat through per
// interval, across every connection of this instance. It is safe for
// concurrent use.
type typingThrottle struct {
	interval time.Duration
	mu       sync.Mutex
	last     map[string]time.Time // match id + seat -> last typing let through
}

func newTypingThrottle(interval time.Duration) *typingThrottle {
	return &typingThrottle{interval: interval, last: map[string]time.Time{}}
}

// allow reports whether a typing event of seat in match may go out now,
// and if so remembers it.
func (t *typingThrottle) allow(match, seat string, now time.Time) bool {
	key := match + "/" + seat
	t.mu.Lock()
	defer t.mu.Unlock()
	if last, ok := t.last[key]; ok && now.Sub(last) < t.interval {
		return false
	}
	if len(t.last) >= 4096 { // forget seats that stopped typing
		for k, at := range t.last {
			if now.Sub(at) >= t.interval {
				delete(t.last, k)
			}
		}
	}
	t.last[key] = now
	return true
}

// forget lets the seat's next typing event through (used when producing
// the one let through failed).
func (t *typingThrottle) forget(match, seat string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.last, match+"/"+seat)
}
