// Package orchestrator owns a match's clock and its robots' turns. It folds
// match-events with the game reducer, publishes deadline facts when a phase's
// time is up, sends robots their commands, and turns robot-events back into
// match facts (bridge.go). Everything it knows is rebuilt from the log, so
// any instance can take over a partition after a crash or a rebalance.
package orchestrator

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
	"github.com/arena-hq/arena/modules/kafka"
	"github.com/arena-hq/arena/modules/materializer"
)

// Consumer groups.
const (
	Group       = "arena-orchestrator"        // match-events: the clock
	BridgeGroup = "arena-orchestrator-bridge" // robot-events: robots' replies
)

// Orchestrator is the orchestrator module.
type Orchestrator struct {
	clients *kafka.Clients
	logger  *slog.Logger
	metrics *metrics
	now     func() time.Time

	producer *kgo.Client
	clock    *kafka.Group
	bridge   *kafka.Group

	mu      sync.Mutex
	matches map[string]*match // live matches only: a finished one is dropped
}

// match is one live match of an assigned partition.
type match struct {
	state     *game.State
	partition int32
	offset    int64 // last match-events offset folded into state
	sent      sent
	timer     *time.Timer
}

// New builds the module; it starts nothing. reg may be nil.
func New(clients *kafka.Clients, reg prometheus.Registerer, logger *slog.Logger) (*Orchestrator, error) {
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Orchestrator{
		clients: clients, logger: logger.With("module", "orchestrator"), metrics: m, now: time.Now,
		matches: map[string]*match{},
	}, nil
}

func (o *Orchestrator) Name() string { return "orchestrator" }

func (o *Orchestrator) Start(context.Context) error {
	p, err := o.clients.New("orchestrator-producer")
	if err != nil {
		return err
	}
	o.producer = p
	o.clock, err = kafka.NewGroup(o.clients, kafka.GroupConfig{
		Name: "orchestrator", Group: Group, Topics: []string{o.clients.Topics.MatchEvents},
		Handle: o.handle, OnAssigned: o.assigned, OnRevoked: o.revoked,
	}, o.logger)
	if err != nil {
		return err
	}
	o.bridge, err = kafka.NewGroup(o.clients, kafka.GroupConfig{
		Name: "orchestrator-bridge", Group: BridgeGroup, Topics: []string{o.clients.Topics.RobotEvents},
		Handle: o.bridgeHandle, Concurrency: 16,
	}, o.logger)
	return err
}

// Run runs the clock and the bridge until ctx ends or one of them fails.
func (o *Orchestrator) Run(ctx context.Context) error {
	return kafka.RunGroups(ctx, o.clock, o.bridge)
}

func (o *Orchestrator) Stop(context.Context) error {
	o.mu.Lock()
	for _, m := range o.matches {
		m.timer.Stop()
	}
	clear(o.matches) // a tick already running finds nothing to retry
	o.mu.Unlock()
	if o.producer != nil {
		o.producer.Close()
	}
	return nil
}

// assigned rebuilds the live matches of the new partitions: the
// materializer's snapshots, then the log from the materializer's committed
// offsets (everything before them is in the snapshots) to the end.
func (o *Orchestrator) assigned(ctx context.Context, assigned map[string][]int32) error {
	ps := assigned[o.clients.Topics.MatchEvents]
	if len(ps) == 0 {
		return nil
	}
	start := time.Now()
	snaps, err := materializer.LoadSnapshots(ctx, o.clients, ps)
	if err != nil {
		return fmt.Errorf("load snapshots: %w", err)
	}
	from, err := o.coveredOffsets(ctx, ps)
	if err != nil {
		return err
	}
	live := map[string]*match{}
	for id, s := range snaps {
		if s.State.Phase == events.PhaseFinished {
			continue
		}
		live[id] = &match{state: s.State, partition: s.Partition, offset: s.Offset, sent: sent{}}
	}
	tail := 0
	err = o.clients.ReadToEnd(ctx, o.clients.Topics.MatchEvents, ps, from, func(r *kgo.Record) error {
		tail++
		o.fold(live, r)
		return nil
	})
	if err != nil {
		return fmt.Errorf("read match-events tail: %w", err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for id, m := range live {
		if old := o.matches[id]; old != nil {
			old.timer.Stop()
		}
		o.matches[id] = m
		o.arm(id, m, 0)
	}
	o.logger.Info("partitions assigned", "partitions", ps, "live_matches", len(live), "tail_records", tail, "took", time.Since(start))
	return nil
}

// coveredOffsets returns, per partition, the materializer's committed
// offset: every event before it is folded into a published snapshot.
func (o *Orchestrator) coveredOffsets(ctx context.Context, ps []int32) (map[int32]int64, error) {
	cl, err := o.clients.NewUnmetered("orchestrator-admin")
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	fetched, err := kadm.NewClient(cl).FetchOffsets(ctx, materializer.Group)
	if err != nil {
		return nil, fmt.Errorf("fetch %s offsets: %w", materializer.Group, err)
	}
	from := map[int32]int64{}
	for _, p := range ps {
		if off, ok := fetched.Lookup(o.clients.Topics.MatchEvents, p); ok && off.Err == nil && off.At > 0 {
			from[p] = off.At
		}
	}
	return from, nil
}

func (o *Orchestrator) revoked(_ context.Context, revoked map[string][]int32) {
	gone := map[int32]bool{}
	for _, p := range revoked[o.clients.Topics.MatchEvents] {
		gone[p] = true
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for id, m := range o.matches {
		if gone[m.partition] {
			m.timer.Stop()
			delete(o.matches, id)
		}
	}
}

// fold applies record r to the match it belongs to in live, once: a record
// at or before a match's offset is already in its state. A record of a match
// not in live starts a fresh state; if that is not a match.created (a late
// fact of a finished match), the reducer rejects it and the state is dropped,
// so finished matches need no tombstones.
func (o *Orchestrator) fold(live map[string]*match, r *kgo.Record) (*match, string) {
	e, err := events.Decode(r.Value)
	if err != nil {
		return nil, "" // malformed: the materializer dead-letters it
	}
	m := live[e.MatchID]
	if m == nil {
		m = &match{state: game.New(e.MatchID), partition: r.Partition, offset: -1, sent: sent{}}
		live[e.MatchID] = m
	}
	if r.Offset <= m.offset {
		return m, e.MatchID
	}
	m.offset = r.Offset
	if err := game.Apply(m.state, e); err != nil {
		o.logger.Debug("event rejected", "match_id", e.MatchID, "event_id", e.ID, "type", e.Type, "reason", err)
	}
	switch m.state.Phase {
	case "": // events of a match whose creation this partition never saw
		delete(live, e.MatchID)
		return nil, e.MatchID
	case events.PhaseFinished:
		delete(live, e.MatchID)
		return nil, e.MatchID
	}
	return m, e.MatchID
}

// handle folds one match event and re-arms the match's timer.
func (o *Orchestrator) handle(_ context.Context, r *kgo.Record) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	old := o.matches[string(r.Key)] // records are keyed by match id
	m, id := o.fold(o.matches, r)
	if id == "" {
		return nil
	}
	if m == nil {
		if old != nil && old.timer != nil {
			old.timer.Stop() // finished: its timer has nothing left to do
		}
		return nil
	}
	if m.timer == nil {
		o.arm(id, m, 0)
	} else {
		m.timer.Reset(0)
	}
	return nil
}

// arm gives m a timer that runs tick after d. Callers hold o.mu.
func (o *Orchestrator) arm(id string, m *match, d time.Duration) {
	if m.timer != nil {
		m.timer.Stop()
	}
	m.timer = time.AfterFunc(d, func() { o.tick(id) })
}

// tick publishes what is due for match id and sleeps until the next thing is.
func (o *Orchestrator) tick(id string) {
	now := o.now()
	o.mu.Lock()
	m := o.matches[id]
	if m == nil {
		o.mu.Unlock()
		return
	}
	p := planFor(m.state, now, m.sent)
	var evs []events.Envelope
	var cmds []events.Envelope
	if p.deadline != nil {
		m.sent[deadlineID(m.state)] = now
		e, err := events.NewWithID(deadlineID(m.state), id, events.SourceOrchestrator, now, p.deadline)
		if err == nil {
			evs = append(evs, e)
		}
	}
	for _, c := range p.commands {
		m.sent[c.CommandID] = now
		e, err := events.NewWithID(c.CommandID, id, events.SourceOrchestrator, now, c)
		if err == nil {
			cmds = append(cmds, e)
		}
	}
	if !p.wake.IsZero() {
		m.timer.Reset(max(p.wake.Sub(now), 0))
	}
	o.mu.Unlock()

	if len(evs)+len(cmds) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := kafka.Publish(ctx, o.producer, o.clients.Topics.RobotCommands, id, cmds...)
	if err == nil {
		err = kafka.Publish(ctx, o.producer, o.clients.Topics.MatchEvents, id, evs...)
	}
	if err != nil {
		o.logger.Warn("publish failed; retrying", "match_id", id, "err", err)
		o.retry(id, cmds, evs)
		return
	}
	if p.deadline != nil {
		o.metrics.deadlines.WithLabelValues(p.deadline.Phase).Inc()
	}
	for _, c := range p.commands {
		o.metrics.commands.WithLabelValues(c.Kind).Inc()
	}
}

// retry forgets that the given facts were sent and ticks again soon.
func (o *Orchestrator) retry(id string, lists ...[]events.Envelope) {
	o.mu.Lock()
	defer o.mu.Unlock()
	m := o.matches[id]
	if m == nil {
		return
	}
	for _, l := range lists {
		for _, e := range l {
			delete(m.sent, e.ID)
		}
	}
	m.timer.Reset(time.Second)
}
