package gateway

import (
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	t0 := time.Unix(1000, 0)
	b := newBucket(rateLimit, rateBurst)
	for i := range rateBurst {
		if !b.allow(t0) {
			t.Fatalf("frame %d of a burst refused", i+1)
		}
	}
	if b.allow(t0) {
		t.Fatal("a frame over the burst was let through")
	}
	// Tokens come back at rateLimit a second.
	if !b.allow(t0.Add(time.Second / rateLimit)) {
		t.Fatal("no token after 1/rate seconds")
	}
	if b.allow(t0.Add(time.Second / rateLimit)) {
		t.Fatal("two tokens after 1/rate seconds")
	}
	// Never more than the burst, however long the pause.
	later := t0.Add(time.Hour)
	n := 0
	for b.allow(later) {
		n++
	}
	if n != rateBurst {
		t.Fatalf("%d frames after a long pause, want the burst of %d", n, rateBurst)
	}
}

func TestFloodDrops(t *testing.T) {
	t0 := time.Unix(1000, 0)
	b := newBucket(rateLimit, rateBurst)
	for i := 1; i < floodDrops; i++ {
		if b.dropped(t0) {
			t.Fatalf("flooding after %d drops, want %d", i, floodDrops)
		}
	}
	if !b.dropped(t0) {
		t.Fatalf("not flooding after %d drops", floodDrops)
	}
	// Drops spread wider than the window never add up to a flood.
	b = newBucket(rateLimit, rateBurst)
	at := t0
	for range 3 * floodDrops {
		at = at.Add(floodWindow / floodDrops * 2)
		if b.dropped(at) {
			t.Fatal("slow drops counted as a flood")
		}
	}
}

func TestTypingThrottle(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tt := newTypingThrottle(typingInterval)
	if !tt.allow("m", "A", t0) || tt.allow("m", "A", t0.Add(typingInterval-time.Millisecond)) {
		t.Fatal("a seat's typing is not throttled to one per interval")
	}
	if !tt.allow("m", "B", t0) || !tt.allow("n", "A", t0) {
		t.Fatal("one seat's typing throttled another's")
	}
	if !tt.allow("m", "A", t0.Add(typingInterval)) {
		t.Fatal("typing refused after the interval")
	}
	tt.forget("m", "A")
	if !tt.allow("m", "A", t0.Add(typingInterval)) {
		t.Fatal("typing refused after forget")
	}
}
