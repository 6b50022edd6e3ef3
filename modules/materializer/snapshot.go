// Package materializer folds match-events with the game reducer into
// per-match state and publishes it to the compacted match-state topic, with
// the match-events offset each snapshot includes. It also holds the read
// views built from those snapshots (history, stats) that the gateway serves.
package materializer

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/modules/game"
	"github.com/arena-hq/arena/modules/kafka"
)

// Snapshot is the value of a match-state record, keyed by match id.
// Offset is the match-events offset of the last event folded into State:
// a reader bootstraps from the snapshot and tails match-events after it.
type Snapshot struct {
	MatchID   string      `json:"matchId"`
	Partition int32       `json:"partition"`
	Offset    int64       `json:"offset"`
	State     *game.State `json:"state"`
}

// Encode returns the record value.
func (s Snapshot) Encode() ([]byte, error) { return json.Marshal(s) }

// DecodeSnapshot parses a match-state record value.
func DecodeSnapshot(b []byte) (Snapshot, error) {
	var s Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return Snapshot{}, fmt.Errorf("match-state record: %w", err)
	}
	if s.MatchID == "" || s.State == nil {
		return Snapshot{}, fmt.Errorf("match-state record: missing matchId or state")
	}
	return s, nil
}

// LoadSnapshots reads the given partitions of match-state to their current
// end and returns the newest snapshot of every match in them. Partition p of
// match-state holds the matches of partition p of match-events, because both
// are keyed by match id with the same partition count.
func LoadSnapshots(ctx context.Context, c *kafka.Clients, partitions []int32) (map[string]Snapshot, error) {
	out := map[string]Snapshot{}
	err := c.ReadToEnd(ctx, c.Topics.MatchState, partitions, nil, func(r *kgo.Record) error {
		s, err := DecodeSnapshot(r.Value)
		if err != nil {
			return nil // a bad view record is skipped; the log rebuilds it
		}
		if old, ok := out[s.MatchID]; !ok || s.Offset >= old.Offset {
			out[s.MatchID] = s
		}
		return nil
	})
	return out, err
}
