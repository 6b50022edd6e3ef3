// Package fold is the one fold of match-events that every reader shares.
// The gateway, the orchestrator and the materializer each take some
// partitions, load their checkpoints from match-state (checkpoint.go), and
// fold the records after them with game.Apply, one Partition per partition.
// Kafka Streams' local state stores are the model: each instance folds the
// partitions it needs from the log; a compacted topic holds checkpoints so
// that a restart is quick.
package fold

import (
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
)

// Match is one match as folded so far.
type Match struct {
	State     *game.State
	Partition int32
	Offset    int64 // last match-events offset folded into State; -1 before any
}

// ErrMisplaced is wrapped by Fold's error for a record whose key does not
// belong to the partition it was read from (an outside tool that produced
// it with another partitioner than Kafka's murmur2), or whose key is not
// its envelope's match id. Folding it would split a match over two
// partitions, whose offsets cannot be compared.
var ErrMisplaced = errors.New("misplaced record")

// Outcome is what folding one record did.
type Outcome struct {
	// Match is the match the record belongs to, nil when the record was
	// skipped: already folded (at or before a checkpoint's offset) or of a
	// match this partition does not hold (finished and evicted, or never
	// created).
	Match *Match
	Event events.Envelope
	// Verdict is the reducer's *game.Rejection of Event, nil when it was
	// applied or is a duplicate of an event already applied or rejected.
	Verdict   error
	Duplicate bool
	Before    string // the phase before the record
	Created   bool   // the record created Match
}

// Applied reports whether the record changed the match's game (not a
// duplicate, not refused).
func (o Outcome) Applied() bool { return o.Match != nil && o.Verdict == nil && !o.Duplicate }

// Partition is the fold of one match-events partition. It is not safe for
// concurrent use: one goroutine owns it (a group worker, or the gateway's
// fold of that partition), and readers elsewhere need their own locking.
type Partition struct {
	ID      int32
	Matches map[string]*Match
	// Latest is the envelope time of the newest record folded: the log's
	// own clock, used to evict finished matches the same way everywhere.
	Latest time.Time

	n         int       // partition count, for the key check
	lastSweep time.Time // of EvictFinished
}

// murmur2 is Kafka's default partitioner; for keyed records it is a pure
// hash, safe for concurrent use.
var murmur2 = kgo.StickyKeyPartitioner(nil).ForTopic("")

// NewPartition returns the empty fold of partition id of a topic with n
// partitions.
func NewPartition(id int32, n int) *Partition {
	return &Partition{ID: id, Matches: map[string]*Match{}, n: n}
}

// Add takes a match loaded from a checkpoint.
func (p *Partition) Add(m *Match) { p.Matches[m.State.MatchID] = m }

// Home returns the partition Kafka's default partitioner (murmur2, as used by
// every arena writer and by the Java client) puts key in, out of n.
func Home(key []byte, n int) int32 {
	return int32(murmur2.Partition(&kgo.Record{Key: key}, n))
}

// Fold folds one record of the partition. A record at or before its match's
// offset is skipped, so records may be delivered again. The error is
// permanent (retrying cannot help): the record is malformed or misplaced,
// and the caller decides whether to dead-letter it (the materializer) or
// skip it (every other reader).
func (p *Partition) Fold(r *kgo.Record) (Outcome, error) {
	if r.Partition != p.ID {
		return Outcome{}, fmt.Errorf("%w: record of partition %d folded into partition %d", ErrMisplaced, r.Partition, p.ID)
	}
	if p.n > 0 && len(r.Key) > 0 {
		if home := Home(r.Key, p.n); home != r.Partition {
			return Outcome{}, fmt.Errorf("%w: key %q belongs to partition %d of %d, not %d (produce with Kafka's default murmur2 partitioner)",
				ErrMisplaced, r.Key, home, p.n, r.Partition)
		}
	}
	e, err := events.Decode(r.Value)
	if err != nil {
		return Outcome{}, err
	}
	if string(r.Key) != e.MatchID {
		return Outcome{}, fmt.Errorf("%w: key %q is not the event's match id %q", ErrMisplaced, r.Key, e.MatchID)
	}
	if e.Time.After(p.Latest) {
		p.Latest = e.Time
	}
	o := Outcome{Event: e}
	m := p.Matches[e.MatchID]
	if m == nil {
		if e.Type != events.TypeMatchCreated {
			return o, nil
		}
		m = &Match{State: game.New(e.MatchID), Partition: p.ID, Offset: -1}
		o.Created = true
	}
	if r.Offset <= m.Offset {
		return o, nil
	}
	o.Match, o.Before = m, m.State.Phase
	o.Duplicate = game.IsDuplicate(m.State, e)
	o.Verdict = game.Apply(m.State, e)
	m.Offset = r.Offset
	if o.Created {
		if m.State.Phase == "" { // a refused match.created: nothing to hold
			o.Match = nil
			return o, nil
		}
		p.Matches[e.MatchID] = m
	}
	return o, nil
}

// EvictFinished drops the matches that finished more than ttl before the
// partition's newest record, and returns them. Readers keep a finished
// match a while for its players (the reveal, play again); the log's clock
// decides, so every reader of the partition drops it at about the same
// record. It sweeps at most every few seconds of log time, so callers may
// call it after every batch.
func (p *Partition) EvictFinished(ttl time.Duration) []*Match {
	if p.Latest.Sub(p.lastSweep) < sweepEvery {
		return nil
	}
	p.lastSweep = p.Latest
	var out []*Match
	cut := p.Latest.Add(-ttl)
	for id, m := range p.Matches {
		if s := m.State; s.Phase == events.PhaseFinished && s.EndedAt.Before(cut) {
			out = append(out, m)
			delete(p.Matches, id)
		}
	}
	return out
}

// FinishedTTL is how long after its end a finished match stays in the live
// folds (and play again is offered), measured on the log's clock.
const FinishedTTL = 5 * time.Minute

const sweepEvery = 5 * time.Second
