package fold

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
	"github.com/arena-hq/arena/modules/kafka"
)

// CheckpointGroup is the consumer group of the materializer, the one writer
// of checkpoints. Its committed offset on a match-events partition is the
// watermark: every event before it is in a published checkpoint, so any
// reader can start from the checkpoints and fold the log from there.
const CheckpointGroup = "arena-materializer"

// Checkpoint is the value of a match-state record, keyed by match id: a
// match's state as of match-events offset Offset of partition Partition.
// The materializer writes one when a phase ends, when a match ends, and for
// a match it has not checkpointed for a while; not one per event.
//
// Phase, EndedAt and Summary come before State so that a reader that needs
// only them (the gateway, for the history of finished matches) can leave the
// state undecoded.
type Checkpoint struct {
	MatchID   string          `json:"matchId"`
	Partition int32           `json:"partition"`
	Offset    int64           `json:"offset"`
	Phase     string          `json:"phase,omitempty"`
	EndedAt   time.Time       `json:"endedAt,omitzero"`
	Summary   *game.Summary   `json:"summary,omitempty"` // finished matches only
	State     json.RawMessage `json:"state"`
}

// Encode returns the checkpoint of m as a record value.
func Encode(m *Match) ([]byte, error) {
	s := m.State
	state, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	c := Checkpoint{MatchID: s.MatchID, Partition: m.Partition, Offset: m.Offset, Phase: s.Phase, EndedAt: s.EndedAt, State: state}
	if s.Phase == events.PhaseFinished {
		sum := game.Summarize(s)
		c.Summary = &sum
	}
	return json.Marshal(c)
}

// DecodeCheckpoint parses a match-state record value; the state stays raw
// until DecodeState.
func DecodeCheckpoint(b []byte) (Checkpoint, error) {
	var c Checkpoint
	if err := jsonv2.Unmarshal(b, &c); err != nil { // v2: see events.Decode
		return Checkpoint{}, fmt.Errorf("match-state record: %w", err)
	}
	if c.MatchID == "" || len(c.State) == 0 || string(c.State) == "null" {
		return Checkpoint{}, fmt.Errorf("match-state record: missing matchId or state")
	}
	if c.Phase == "" { // written before checkpoints named their phase
		s, err := c.DecodeState()
		if err != nil {
			return Checkpoint{}, err
		}
		c.Phase, c.EndedAt = s.Phase, s.EndedAt
		if s.Phase == events.PhaseFinished {
			sum := game.Summarize(s)
			c.Summary = &sum
		}
	}
	return c, nil
}

// decodeHeader reads a checkpoint's fields up to "state" and stops there:
// the history of a finished match needs no more, and the state is most of
// a checkpoint's bytes. A checkpoint of the older shape (state before
// phase) comes back without a phase, for DecodeCheckpoint to read whole.
func decodeHeader(b []byte) (Checkpoint, error) {
	var c Checkpoint
	d := jsontext.NewDecoder(bytes.NewReader(b))
	if tok, err := d.ReadToken(); err != nil || tok.Kind() != '{' {
		return Checkpoint{}, fmt.Errorf("match-state record: not a JSON object")
	}
	fields := map[string]any{
		"matchId": &c.MatchID, "partition": &c.Partition, "offset": &c.Offset,
		"phase": &c.Phase, "endedAt": &c.EndedAt, "summary": &c.Summary,
	}
	for d.PeekKind() == '"' {
		name, err := d.ReadToken()
		if err != nil {
			return Checkpoint{}, fmt.Errorf("match-state record: %w", err)
		}
		if name.String() == "state" {
			if c.MatchID == "" {
				return Checkpoint{}, fmt.Errorf("match-state record: missing matchId")
			}
			return c, nil
		}
		if f, ok := fields[name.String()]; ok {
			err = jsonv2.UnmarshalDecode(d, f)
		} else {
			err = d.SkipValue()
		}
		if err != nil {
			return Checkpoint{}, fmt.Errorf("match-state record: %s: %w", name.String(), err)
		}
	}
	return Checkpoint{}, fmt.Errorf("match-state record: missing matchId or state")
}

// DecodeState decodes the checkpoint's state.
func (c Checkpoint) DecodeState() (*game.State, error) {
	s := new(game.State)
	if err := jsonv2.Unmarshal(c.State, s); err != nil {
		return nil, fmt.Errorf("match-state record of %s: state: %w", c.MatchID, err)
	}
	if s.MatchID == "" {
		s.MatchID = c.MatchID
	}
	return s, nil
}

// Match returns the checkpoint as a Match to fold on from.
func (c Checkpoint) Match() (*Match, error) {
	s, err := c.DecodeState()
	if err != nil {
		return nil, err
	}
	return &Match{State: s, Partition: c.Partition, Offset: c.Offset}, nil
}

// Location is where a checkpoint record is in match-state.
type Location struct {
	Partition int32 `json:"partition"`
	Offset    int64 `json:"offset"`
}

// Loaded is a checkpoint read from match-state and where it was read.
type Loaded struct {
	Checkpoint
	At Location
}

// Valid reports whether a checkpoint read from match-state partition
// partition (of n) is one a reader may trust: it covers the match-events
// partition its match id belongs to, which is also the match-state
// partition it was written to. One written by an outside tool to another
// partition, or covering another, is ignored: its offset counts in another
// partition's sequence and would beat the real checkpoint forever.
func (c Checkpoint) Valid(partition int32, n int) bool {
	home := Home([]byte(c.MatchID), n)
	return c.Partition == partition && home == partition
}

// Newer reports whether c is a later checkpoint of its match than old. Both
// are valid checkpoints of one match, so of one partition, where offsets
// order them.
func (c Checkpoint) Newer(old Checkpoint) bool { return c.Offset >= old.Offset }

// Load reads partitions ps of match-state (n partitions in all) to their end
// and returns the newest valid checkpoint of every match in them. keep
// decides whose state stays in memory; the others keep only their header
// and summary (the gateway's history needs no more of a finished match).
func Load(ctx context.Context, c *kafka.Clients, ps []int32, n int, keep func(Checkpoint) bool) (map[string]Loaded, error) {
	out := map[string]Loaded{}
	err := c.ReadToEnd(ctx, c.Topics.MatchState, ps, nil, func(r *kgo.Record) error {
		cp, err := decodeHeader(r.Value)
		if err == nil && (cp.Phase == "" || keep(cp)) {
			cp, err = DecodeCheckpoint(r.Value)
		}
		if err != nil || !cp.Valid(r.Partition, n) {
			return nil // a bad or misplaced checkpoint is skipped; the log rebuilds it
		}
		if old, ok := out[cp.MatchID]; ok && !cp.Newer(old.Checkpoint) {
			return nil
		}
		if !keep(cp) {
			cp.State = nil
		} else {
			// The record's buffer is the fetch's: copy what is kept.
			cp.State = append(json.RawMessage(nil), cp.State...)
		}
		out[cp.MatchID] = Loaded{Checkpoint: cp, At: Location{Partition: r.Partition, Offset: r.Offset}}
		return nil
	})
	return out, err
}

// Watermarks returns, per partition of ps, the match-events offset from
// which a reader that loaded the checkpoints must fold: the checkpoint
// group's committed offset, or 0 where it never committed.
func Watermarks(ctx context.Context, c *kafka.Clients, ps []int32) (map[int32]int64, error) {
	cl, err := c.NewUnmetered("watermarks")
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	fetched, err := kadm.NewClient(cl).FetchOffsets(ctx, CheckpointGroup)
	if errors.Is(err, kerr.GroupIDNotFound) {
		err = nil // no materializer ever ran (the embedded broker says so; Kafka answers empty)
	}
	if err != nil {
		return nil, fmt.Errorf("fetch %s offsets: %w", CheckpointGroup, err)
	}
	from := map[int32]int64{}
	for _, p := range ps {
		from[p] = 0
		if off, ok := fetched.Lookup(c.Topics.MatchEvents, p); ok && off.Err == nil && off.At > 0 {
			from[p] = off.At
		}
	}
	return from, nil
}

// EndOffsets lists the end offset of every partition of topic.
func EndOffsets(ctx context.Context, c *kafka.Clients, topic string) (map[int32]int64, error) {
	cl, err := c.NewUnmetered("end-offsets")
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	listed, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err == nil {
		err = listed.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	out := map[int32]int64{}
	listed.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out, nil
}

// PartitionCount returns how many partitions match-events has.
func PartitionCount(ctx context.Context, c *kafka.Clients) (int, error) {
	cl, err := c.NewUnmetered("partition-count")
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, c.Topics.MatchEvents)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return 0, fmt.Errorf("partitions of %s: %w", c.Topics.MatchEvents, err)
	}
	n := len(ends[c.Topics.MatchEvents])
	if n == 0 {
		return 0, fmt.Errorf("topic %s has no partitions (does it exist?)", c.Topics.MatchEvents)
	}
	return n, nil
}

// Bootstrap is every reader's start: the checkpoints of partitions ps, each
// partition's fold holding the matches keep chose, and the offsets to fold
// match-events from. loaded has every match's newest checkpoint (without
// state for those keep did not choose).
func Bootstrap(ctx context.Context, c *kafka.Clients, ps []int32, keep func(Checkpoint) bool) (parts map[int32]*Partition, loaded map[string]Loaded, from map[int32]int64, err error) {
	n, err := PartitionCount(ctx, c)
	if err != nil {
		return nil, nil, nil, err
	}
	// The watermark is read first: checkpoints published after it only
	// move matches further on, and their offsets make the tail skip what
	// they hold.
	from, err = Watermarks(ctx, c, ps)
	if err != nil {
		return nil, nil, nil, err
	}
	loaded, err = Load(ctx, c, ps, n, keep)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("load checkpoints: %w", err)
	}
	// A log cut under its checkpoints (`arena broker repair`, a restore
	// onto older data): a checkpoint that covers offsets the log no longer
	// has is not trusted, so the history never lists a match the log lost,
	// and a watermark past the end means the partition is folded afresh.
	// The ends are read after the checkpoints, so that every checkpoint
	// written before them lies below them.
	ends, err := EndOffsets(ctx, c, c.Topics.MatchEvents)
	if err != nil {
		return nil, nil, nil, err
	}
	for id, l := range loaded {
		if end, ok := ends[l.Partition]; ok && l.Offset >= end {
			delete(loaded, id)
		}
	}
	for _, p := range ps {
		if from[p] > ends[p] {
			from[p] = 0
		}
	}
	parts = map[int32]*Partition{}
	for _, p := range ps {
		parts[p] = NewPartition(p, n)
	}
	for _, l := range loaded {
		if l.State == nil {
			continue
		}
		m, err := l.Match()
		if err != nil {
			continue // the log rebuilds it
		}
		if part := parts[l.Partition]; part != nil {
			part.Add(m)
		}
	}
	return parts, loaded, from, nil
}

// Tail folds match-events into parts from the offsets in from up to the end
// offsets the partitions have when it begins, each partition on its own
// goroutine (a rebuild is bound by decoding, and partitions are
// independent). each, if not nil, sees every record's outcome on the
// goroutine of its partition. It returns how many records it folded and the
// offsets it folded to, where a follower goes on.
func Tail(ctx context.Context, c *kafka.Clients, parts map[int32]*Partition, from map[int32]int64, each func(*Partition, *kgo.Record, Outcome, error)) (int64, map[int32]int64, error) {
	topic := c.Topics.MatchEvents
	admCl, err := c.NewUnmetered("tail-admin")
	if err != nil {
		return 0, nil, err
	}
	ends, err := kadm.NewClient(admCl).ListEndOffsets(ctx, topic)
	admCl.Close()
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return 0, nil, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	want := map[int32]kgo.Offset{}
	remaining := map[int32]int64{}
	to := map[int32]int64{}
	for p := range parts {
		end, ok := ends.Lookup(topic, p)
		if !ok {
			return 0, nil, fmt.Errorf("end offset of %s/%d: partition not found", topic, p)
		}
		to[p] = max(end.Offset, from[p])
		if from[p] < end.Offset {
			want[p] = kgo.NewOffset().At(from[p])
			remaining[p] = end.Offset
		}
	}
	if len(want) == 0 {
		return 0, to, nil
	}
	cl, err := c.NewUnmetered("tail", kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: want}),
		kgo.FetchMaxWait(100*time.Millisecond), kgo.FetchMaxBytes(64<<20), kgo.FetchMaxPartitionBytes(16<<20))
	if err != nil {
		return 0, nil, err
	}
	defer cl.Close()
	var total int64
	var mu sync.Mutex
	for len(remaining) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return total, nil, err
		}
		for _, fe := range fs.Errors() {
			return total, nil, fmt.Errorf("read %s/%d: %w", fe.Topic, fe.Partition, fe.Err)
		}
		var wg sync.WaitGroup
		fs.EachPartition(func(fp kgo.FetchTopicPartition) {
			end, ok := remaining[fp.Partition]
			part := parts[fp.Partition]
			if !ok || part == nil || len(fp.Records) == 0 {
				return
			}
			if fp.Records[len(fp.Records)-1].Offset >= end-1 {
				delete(remaining, fp.Partition)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				n := int64(0)
				for _, r := range fp.Records {
					if r.Offset >= end {
						break
					}
					o, err := part.Fold(r)
					if each != nil {
						each(part, r, o, err)
					}
					n++
				}
				mu.Lock()
				total += n
				mu.Unlock()
			}()
		})
		wg.Wait()
	}
	return total, to, nil
}
