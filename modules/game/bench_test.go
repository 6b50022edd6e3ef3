package game

import (
	"testing"

	"github.com/arena-hq/arena/modules/events"
)

func BenchmarkApply(b *testing.B) {
	evs := fullMatch(b).evs
	b.ReportAllocs()
	for b.Loop() {
		s := New(testMatch)
		for _, e := range evs {
			_ = Apply(s, e)
		}
	}
	b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkViewFor(b *testing.B) {
	l := fullMatch(b)
	positions := map[string]*State{
		"voting":   Replay(testMatch, l.evs[:indexOf(l, events.TypeDeadlineReached, 4)]),
		"finished": Replay(testMatch, l.evs),
	}
	for name, s := range positions {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = ViewFor(s, "C")
			}
		})
	}
}

// indexOf is the index of the nth (1-based) event of type typ in l.
func indexOf(l *matchLog, typ string, nth int) int {
	for i, e := range l.evs {
		if e.Type == typ {
			if nth--; nth == 0 {
				return i
			}
		}
	}
	return len(l.evs)
}
