// Package orchestrator owns a match's clock and its robots' turns. It folds
// match-events (package fold), publishes deadline facts when a phase's
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
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/fold"
	"github.com/arena-hq/arena/modules/game"
	"github.com/arena-hq/arena/modules/kafka"
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
	started time.Time // when this process's orchestrator was built: what the log holds from before is from before a restart

	producer *kgo.Client
	clock    *kafka.Group
	bridge   *kafka.Group

	mu      sync.Mutex
	humans  *HumanPlay                // how humans play, learnt from the fold (robots' timing and text)
	parts   map[int32]*fold.Partition // the folds of the assigned partitions
	matches map[string]*match         // live matches only: a finished one is dropped
}

// match is one live match of an assigned partition: its fold, what the
// clock sent for it, and the extension its window is owed for the clock's
// downtime (nil: none), held until the log has it.
type match struct {
	*fold.Match
	sent   sent
	timer  *time.Timer
	extend *extension
}

// extension is a window.extended the clock owes a match, and its envelope.
type extension struct {
	*events.WindowExtended
	env events.Envelope
}

// New builds the module; it starts nothing. reg may be nil.
func New(clients *kafka.Clients, reg prometheus.Registerer, logger *slog.Logger) (*Orchestrator, error) {
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Orchestrator{
		clients: clients, logger: logger.With("module", "orchestrator"), metrics: m, now: time.Now, started: time.Now(),
		humans: NewHumanPlay(), parts: map[int32]*fold.Partition{}, matches: map[string]*match{},
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
		HandleEvent: o.bridgeHandle, Concurrency: 16,
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

// assigned rebuilds the live matches of the new partitions from their
// checkpoints and the log after the watermark (fold.Bootstrap), to the end,
// before the group hands it any record. Finished matches are not kept: the
// clock has nothing left to do for them.
func (o *Orchestrator) assigned(ctx context.Context, assigned map[string][]int32) error {
	ps := assigned[o.clients.Topics.MatchEvents]
	if len(ps) == 0 {
		return nil
	}
	start := time.Now()
	parts, _, from, err := fold.Bootstrap(ctx, o.clients, ps, func(c fold.Checkpoint) bool {
		return c.Phase != events.PhaseFinished
	})
	if err != nil {
		return err
	}
	// lastSeen is the last record anyone wrote to these partitions before
	// this process started: the log's silence from then to now is how long
	// the clock was down, even when players typed again before the
	// partitions came to it. (Records of after the start are left out; an
	// instance that ran all along and takes over others' partitions finds
	// none older than its start, and extends nothing: the gateways were up,
	// so no one lost time.)
	var lastMu sync.Mutex
	var lastSeen time.Time
	seen := func(t time.Time) {
		lastMu.Lock()
		if t.Before(o.started) && t.After(lastSeen) {
			lastSeen = t
		}
		lastMu.Unlock()
	}
	tail, _, err := fold.Tail(ctx, o.clients, parts, from, func(part *fold.Partition, r *kgo.Record, out fold.Outcome, err error) {
		seen(r.Timestamp)
		if err != nil {
			return
		}
		if out.Applied() {
			o.mu.Lock() // partitions fold on goroutines of their own
			o.humans.Observe(out.Match.State, out.Event)
			o.mu.Unlock()
		}
		if out.Match != nil && out.Match.State.Phase == events.PhaseFinished {
			delete(part.Matches, out.Event.MatchID)
		}
	})
	if err != nil {
		return fmt.Errorf("read match-events tail: %w", err)
	}
	for _, part := range parts {
		for _, m := range part.Matches {
			seen(m.State.UpdatedAt)
		}
	}
	now := o.now()
	o.mu.Lock()
	defer o.mu.Unlock()
	live, extended := 0, 0
	for p, part := range parts {
		o.parts[p] = part
		for id, m := range part.Matches {
			if old := o.matches[id]; old != nil {
				old.timer.Stop()
			}
			lm := &match{Match: m, sent: sent{}}
			if x := extensionFor(m.State, lastSeen, now); x != nil {
				e, err := events.NewWithID(extensionID(m.State), id, events.SourceOrchestrator, now, x)
				if err == nil {
					lm.extend = &extension{x, e}
					extended++
				}
			}
			o.matches[id] = lm
			o.arm(id, lm, 0)
			live++
		}
	}
	var silent time.Duration // 0: nothing from before this process's start
	if !lastSeen.IsZero() {
		silent = now.Sub(lastSeen).Round(time.Millisecond)
	}
	o.logger.Info("partitions assigned", "partitions", ps, "live_matches", live, "tail_records", tail,
		"log_silent_for", silent, "windows_extended", extended, "took", time.Since(start))
	return nil
}

func (o *Orchestrator) revoked(_ context.Context, revoked map[string][]int32) {
	gone := map[int32]bool{}
	for _, p := range revoked[o.clients.Topics.MatchEvents] {
		gone[p] = true
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for p := range gone {
		delete(o.parts, p)
	}
	for id, m := range o.matches {
		if gone[m.Partition] {
			m.timer.Stop()
			delete(o.matches, id)
		}
	}
}

// fold folds record r into its partition, and lets o.humans learn from
// what was applied; callers hold o.mu. A finished match leaves the
// partition's fold at once (the clock is done with it), so a late fact of a
// finished match finds no match and changes nothing. It returns the match's
// id ("" for a record that could not be read: the materializer
// dead-letters those) and its fold, nil once the match is finished or when
// the partition does not hold it.
func (o *Orchestrator) fold(part *fold.Partition, r *kgo.Record) (string, *fold.Match) {
	if part == nil {
		return "", nil
	}
	out, err := part.Fold(r)
	if err != nil {
		o.logger.Debug("skipping a record", "partition", r.Partition, "offset", r.Offset, "err", err)
		return "", nil
	}
	id := out.Event.MatchID
	if out.Applied() {
		o.humans.Observe(out.Match.State, out.Event)
	}
	if out.Verdict != nil {
		o.logger.Debug("event rejected", "match_id", id, "event_id", out.Event.ID, "type", out.Event.Type, "reason", out.Verdict)
	}
	m := part.Matches[id]
	if m != nil && m.State.Phase == events.PhaseFinished {
		delete(part.Matches, id)
		return id, nil
	}
	return id, m
}

// handle folds one match event and re-arms the match's timer.
func (o *Orchestrator) handle(_ context.Context, r *kgo.Record) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	id, m := o.fold(o.parts[r.Partition], r)
	if id == "" {
		return nil
	}
	lm := o.matches[id]
	if m == nil {
		if lm != nil {
			lm.timer.Stop() // finished: its timer has nothing left to do
			delete(o.matches, id)
		}
		return nil
	}
	if lm == nil {
		lm = &match{Match: m, sent: sent{}}
		o.matches[id] = lm
		o.arm(id, lm, 0)
	} else {
		lm.timer.Reset(0)
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
	if m.extend != nil && m.extend.done(m.State) {
		m.extend = nil
	}
	if m.extend != nil {
		// The window is owed time: no deadline and no command until the
		// extension is in the log and folded (handle re-arms the timer).
		e := m.extend.env
		at, ok := m.sent[e.ID]
		if ok && now.Sub(at) < resendAfter {
			m.timer.Reset(at.Add(resendAfter).Sub(now))
			o.mu.Unlock()
			return
		}
		m.sent[e.ID] = now
		m.timer.Reset(resendAfter)
		o.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
		defer cancel()
		if err := kafka.Publish(ctx, o.producer, o.clients.Topics.MatchEvents, "", e); err != nil {
			o.logger.Warn("publish failed; retrying", "match_id", id, "err", err)
			o.retry(id, []events.Envelope{e})
			return
		}
		o.metrics.extensions.Inc()
		o.logger.Info("window extended for the clock's downtime", "match_id", id, "event_id", e.ID)
		return
	}
	p := planWith(m.State, now, m.sent, o.humans)
	var evs []events.Envelope
	var cmds []events.Envelope
	if p.deadline != nil {
		m.sent[deadlineID(m.State)] = now
		e, err := events.NewWithID(deadlineID(m.State), id, events.SourceOrchestrator, now, p.deadline)
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
	ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
	defer cancel()
	err := kafka.Publish(ctx, o.producer, o.clients.Topics.RobotCommands, "", cmds...)
	if err == nil {
		err = kafka.Publish(ctx, o.producer, o.clients.Topics.MatchEvents, "", evs...)
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

// publishTimeout bounds one publish of the clock; a failed one is retried.
const publishTimeout = kafka.DefaultPublishTimeout

// done reports whether the extension is in s, or no longer applies (the
// window it was for has closed).
func (x *extension) done(s *game.State) bool {
	_, in := s.Seen[x.env.ID]
	return in || x.Phase != s.Phase || x.Round != s.Round
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
