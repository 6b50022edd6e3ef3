package materializer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
	"github.com/arena-hq/arena/modules/kafka"
)

// Group is the materializer's consumer group.
const Group = "arena-materializer"

// Materializer is the materializer module. Each assigned partition is owned
// by one worker goroutine at a time; the mutex only guards the map of
// partitions across assignment changes.
type Materializer struct {
	clients *kafka.Clients
	logger  *slog.Logger

	producer *kgo.Client
	group    *kafka.Group

	mu    sync.Mutex
	parts map[int32]*partitionState
}

// partitionState is the fold of one match-events partition.
type partitionState struct {
	matches map[string]*Snapshot
	dirty   map[string]bool
}

// New builds the module; it starts nothing.
func New(clients *kafka.Clients, logger *slog.Logger) *Materializer {
	return &Materializer{clients: clients, logger: logger.With("module", "materializer"), parts: map[int32]*partitionState{}}
}

func (m *Materializer) Name() string { return "materializer" }

func (m *Materializer) Start(context.Context) error {
	p, err := m.clients.New("materializer-producer")
	if err != nil {
		return err
	}
	m.producer = p
	g, err := kafka.NewGroup(m.clients, kafka.GroupConfig{
		Name:       "materializer",
		Group:      Group,
		Topics:     []string{m.clients.Topics.MatchEvents},
		Handle:     m.handle,
		Flush:      m.flush,
		OnAssigned: m.assigned,
		OnRevoked:  m.revoked,
	}, m.logger)
	if err != nil {
		return err
	}
	m.group = g
	return nil
}

func (m *Materializer) Run(ctx context.Context) error { return m.group.Run(ctx) }

func (m *Materializer) Stop(context.Context) error {
	if m.producer != nil {
		m.producer.Close()
	}
	return nil
}

// assigned loads the newest snapshots of the new partitions, so folding
// resumes where the published views end instead of at the start of the log.
func (m *Materializer) assigned(ctx context.Context, assigned map[string][]int32) error {
	ps := assigned[m.clients.Topics.MatchEvents]
	snaps, err := LoadSnapshots(ctx, m.clients, ps)
	if err != nil {
		return fmt.Errorf("load snapshots: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range ps {
		m.parts[p] = &partitionState{matches: map[string]*Snapshot{}, dirty: map[string]bool{}}
	}
	for id, s := range snaps {
		if ps := m.parts[s.Partition]; ps != nil {
			ps.matches[id] = &s
		}
	}
	m.logger.Info("partitions assigned", "partitions", ps, "matches", len(snaps))
	return nil
}

func (m *Materializer) revoked(_ context.Context, revoked map[string][]int32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range revoked[m.clients.Topics.MatchEvents] {
		delete(m.parts, p)
	}
}

func (m *Materializer) partition(p int32) *partitionState {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.parts[p]
}

// handle folds one event into its match. It is idempotent: an event at or
// before the snapshot's offset is skipped, and the reducer drops duplicate
// event ids. A malformed record goes straight to the dead-letter topic.
func (m *Materializer) handle(_ context.Context, r *kgo.Record) error {
	ps := m.partition(r.Partition)
	if ps == nil {
		return errors.New("partition not assigned")
	}
	e, err := events.Decode(r.Value)
	if err != nil {
		return kafka.Permanent(err)
	}
	snap := ps.matches[e.MatchID]
	if snap == nil {
		snap = &Snapshot{MatchID: e.MatchID, Partition: r.Partition, Offset: -1, State: game.New(e.MatchID)}
		ps.matches[e.MatchID] = snap
	}
	if r.Offset <= snap.Offset {
		return nil
	}
	if err := game.Apply(snap.State, e); err != nil {
		m.logger.Debug("event rejected", "match_id", e.MatchID, "event_id", e.ID, "type", e.Type, "reason", err)
	}
	snap.Offset = r.Offset
	ps.dirty[e.MatchID] = true
	return nil
}

// flush publishes every match the last batch changed, once, and waits for
// the broker's ack; only then are the batch's offsets marked for commit.
func (m *Materializer) flush(ctx context.Context, _ string, p int32) error {
	ps := m.partition(p)
	if ps == nil || len(ps.dirty) == 0 {
		return nil
	}
	recs := make([]*kgo.Record, 0, len(ps.dirty))
	for id := range ps.dirty {
		b, err := ps.matches[id].Encode()
		if err != nil {
			return err
		}
		recs = append(recs, &kgo.Record{Topic: m.clients.Topics.MatchState, Key: []byte(id), Value: b})
	}
	if err := m.producer.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("publish match-state: %w", err)
	}
	clear(ps.dirty)
	return nil
}
