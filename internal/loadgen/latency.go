package loadgen

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// Latencies collects samples of one kind (action to every player's view).
// It is safe for concurrent use.
type Latencies struct {
	mu      sync.Mutex
	samples []time.Duration
}

// Add records one sample.
func (l *Latencies) Add(d time.Duration) {
	l.mu.Lock()
	l.samples = append(l.samples, d)
	l.mu.Unlock()
}

// Summary returns the count, percentiles and maximum of the samples so far.
func (l *Latencies) Summary() Summary {
	l.mu.Lock()
	s := slices.Clone(l.samples)
	l.mu.Unlock()
	return Summarize(s)
}

// Summary describes a set of latency samples.
type Summary struct {
	N             int
	P50, P99, Max time.Duration
}

// Summarize sorts samples (in place) and returns their summary. The p-th
// percentile is the smallest sample with at least p% of samples at or
// below it (nearest rank).
func Summarize(samples []time.Duration) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	slices.Sort(samples)
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(samples))+0.999999) - 1
		return samples[min(max(i, 0), len(samples)-1)]
	}
	return Summary{N: len(samples), P50: rank(0.50), P99: rank(0.99), Max: samples[len(samples)-1]}
}

func (s Summary) String() string {
	if s.N == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %s  p99 %s  max %s  (n=%d)", ms(s.P50), ms(s.P99), ms(s.Max), s.N)
}

// ms formats a duration in milliseconds with two decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }
