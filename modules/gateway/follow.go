package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/fold"
	"github.com/arena-hq/arena/modules/game"
	"github.com/arena-hq/arena/modules/kafka"
)

// The gateway's fold: one direct consumer (no group: every instance needs
// every match) of all of match-events from the checkpoint watermarks, and
// of match-state from where bootstrap read it to, for the locations of the
// checkpoints of finished matches (the history fetches those when someone
// opens an old match).

// bootstrap loads the checkpoints, then folds match-events from the
// watermarks to the end offsets it has now (fold.Tail), and positions the
// follower right after.
func (g *Gateway) bootstrap(ctx context.Context) error {
	n, err := fold.PartitionCount(ctx, g.clients)
	if err != nil {
		return err
	}
	all := make([]int32, n)
	for i := range all {
		all[i] = int32(i)
	}
	// Checkpoints published from here on are followed for their locations.
	stateEnds, err := fold.EndOffsets(ctx, g.clients, g.clients.Topics.MatchState)
	if err != nil {
		return err
	}
	cut := time.Now().Add(-fold.FinishedTTL)
	parts, loaded, from, err := fold.Bootstrap(ctx, g.clients, all, func(c fold.Checkpoint) bool {
		return c.Phase != events.PhaseFinished || c.EndedAt.After(cut)
	})
	if err != nil {
		return err
	}
	for _, l := range loaded {
		if l.Summary != nil {
			g.views.PutSummary(*l.Summary, l.At)
		}
	}
	folded, to, err := fold.Tail(ctx, g.clients, parts, from, func(_ *fold.Partition, r *kgo.Record, _ fold.Outcome, err error) {
		if err != nil {
			g.metrics.skipped.Inc()
			g.logger.Warn("skipping a match-events record", "partition", r.Partition, "offset", r.Offset, "err", err)
		}
	})
	if err != nil {
		return fmt.Errorf("fold match-events: %w", err)
	}
	g.bootFolded.Store(folded)
	g.parts = parts
	for _, part := range parts {
		// Matches that finished in the tail long ago (by the log's clock)
		// go straight to the history.
		for _, m := range part.EvictFinished(fold.FinishedTTL) {
			g.views.Put(m.State)
		}
		for _, m := range part.Matches {
			g.store.add(m)
			g.store.index(m.State)
			g.metrics.phaseChanged("", m.State.Phase)
			g.views.Put(m.State) // keeps finished ones only
		}
	}
	offsets := map[string]map[int32]kgo.Offset{
		g.clients.Topics.MatchEvents: {},
		g.clients.Topics.MatchState:  {},
	}
	for p, o := range to {
		offsets[g.clients.Topics.MatchEvents][p] = kgo.NewOffset().At(o)
	}
	for p, o := range stateEnds {
		offsets[g.clients.Topics.MatchState][p] = kgo.NewOffset().At(o)
	}
	f, err := g.clients.New("gateway-follower",
		kgo.ConsumePartitions(offsets),
		kgo.FetchMaxWait(500*time.Millisecond),
	)
	if err != nil {
		return err
	}
	g.follower = f
	return nil
}

func (g *Gateway) liveCount() int {
	g.store.mu.Lock()
	defer g.store.mu.Unlock()
	return len(g.store.matches)
}

// followGiveUp is how long every fetch may fail before the fold gives up
// and the process stops with the reason.
const followGiveUp = 2 * time.Minute

// foldStale is how long every fetch may fail before the gateway says it is
// not ready: its players' views have stopped.
const foldStale = 15 * time.Second

// Ready says why the gateway cannot serve its players right now (its fold
// of match-events has stopped), or nil. It is cheap: the fold keeps the
// reason.
func (g *Gateway) Ready() error {
	if r := g.failing.Load(); r != nil {
		return *r
	}
	return nil
}

// follow folds until ctx ends.
func (g *Gateway) follow(ctx context.Context) error {
	var failingSince time.Time
	for {
		fs := g.follower.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if fs.IsClientClosed() {
			return errors.New("client closed")
		}
		var lastErr error
		fs.EachError(func(t string, p int32, err error) {
			lastErr = err
			g.logger.Warn("fetch error", "topic", t, "partition", p, "err", err)
		})
		switch {
		case lastErr == nil:
			failingSince = time.Time{}
			g.failing.Store(nil)
		case failingSince.IsZero():
			failingSince = time.Now()
		case time.Since(failingSince) > followGiveUp:
			return fmt.Errorf("every fetch failed for %s: %w", followGiveUp, lastErr)
		case time.Since(failingSince) > foldStale:
			reason := fmt.Errorf("match-events fold: every fetch failed for %s: %w", time.Since(failingSince).Round(time.Second), lastErr)
			g.failing.Store(&reason)
		}
		g.foldFetches(fs)
	}
}

// foldFetches folds each match-events partition on its own goroutine (a
// match's records are all in one partition, so per-partition order is all
// the order there is) and notes the checkpoint locations from match-state.
func (g *Gateway) foldFetches(fs kgo.Fetches) {
	var wg sync.WaitGroup
	changed := false
	var mu sync.Mutex
	fs.EachPartition(func(p kgo.FetchTopicPartition) {
		if len(p.Records) == 0 {
			return
		}
		if p.Topic == g.clients.Topics.MatchState {
			for _, r := range p.Records {
				g.locate(r)
			}
			return
		}
		part := g.parts[p.Partition]
		if part == nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if g.foldPartition(part, p.Records) {
				mu.Lock()
				changed = true
				mu.Unlock()
			}
		}()
	})
	wg.Wait()
	if changed {
		g.store.notify()
	}
}

// locate notes where the checkpoint of a finished match is, so that the
// history can fetch the match once the fold has let it go.
func (g *Gateway) locate(r *kgo.Record) {
	cp, err := fold.DecodeCheckpoint(r.Value)
	if err != nil || cp.Phase != events.PhaseFinished {
		return
	}
	at := fold.Location{Partition: r.Partition, Offset: r.Offset}
	if cp.Summary != nil {
		g.views.PutSummary(*cp.Summary, at)
	}
	g.views.Locate(cp.MatchID, at)
}

// foldPartition folds one partition's records, then pushes each changed
// match's views to its sockets and only then gives the waiting actions
// their verdicts, so that a player's ack never comes before the view that
// shows the action. It reports whether anything changed.
func (g *Gateway) foldPartition(part *fold.Partition, recs []*kgo.Record) bool {
	var (
		changed []*entry
		seen    = map[*entry]bool{}
		judged  []judgement
	)
	for _, r := range recs {
		e := g.store.entry(string(r.Key))
		if e != nil {
			e.mu.Lock()
		}
		out, err := part.Fold(r)
		if e != nil {
			e.mu.Unlock()
		}
		if err != nil {
			g.metrics.skipped.Inc()
			g.logger.Warn("skipping a match-events record", "partition", r.Partition, "offset", r.Offset, "err", err)
			continue
		}
		if out.Match == nil {
			continue
		}
		if out.Created {
			e = g.store.add(out.Match)
		}
		if e == nil { // cannot happen: the fold holds it, so the store does
			continue
		}
		if !seen[e] {
			seen[e] = true
			changed = append(changed, e)
		}
		s := out.Match.State
		if g.waiting.has(out.Event.ID) {
			judged = append(judged, judgement{id: out.Event.ID, v: verdictOf(s, out)})
		}
		if out.Before != s.Phase {
			g.metrics.phaseChanged(out.Before, s.Phase)
			if s.Phase == events.PhaseFinished {
				g.views.Put(s)
			}
		}
	}
	for _, e := range changed {
		g.store.index(e.match.State)
		g.push(e)
	}
	now := time.Now()
	for _, j := range judged {
		g.waiting.decide(j.id, j.v, now, g.metrics)
	}
	for _, m := range part.EvictFinished(fold.FinishedTTL) {
		g.store.remove(m.State.MatchID)
	}
	return len(changed) > 0
}

type judgement struct {
	id string
	v  verdict
}

// push encodes the view of each seat watching e once and offers it to that
// seat's sockets (a spectator is seat ""). Only the fold goroutine of e's
// partition calls it, so it reads the state without the lock.
func (g *Gateway) push(e *entry) {
	ws := e.watchers()
	if len(ws) == 0 {
		return
	}
	s := e.match.State
	frames := map[string][]byte{}
	for _, ss := range ws {
		if ss.evicted(s) { // kicked or left: not a window on the next occupant (lobby.go)
			continue
		}
		b, ok := frames[ss.seat]
		if !ok {
			var err error
			if b, err = encodeView(s, ss.seat); err != nil {
				g.logger.Error("encoding a view failed", "match_id", s.MatchID, "err", err)
				return
			}
			frames[ss.seat] = b
		}
		ss.offer(s.Events, b)
	}
}

// encodeView is a seat's state frame.
func encodeView(s *game.State, seat string) ([]byte, error) {
	return json.Marshal(stateFrame{Type: "state", State: game.ViewFor(s, seat)})
}

// verdict is the fold's word on a player's event: nil when it counts (it
// was applied, or it is a copy of one that was), else the reducer's
// rejection or why it never reached the log.
type verdict struct {
	err      error
	produced bool // false: the produce failed, err says why
}

// verdictOf reads out's verdict. A duplicate takes the verdict of the event
// it copies: a client that retries after a lost ack gets the same answer.
func verdictOf(s *game.State, out fold.Outcome) verdict {
	if !out.Duplicate {
		return verdict{err: out.Verdict, produced: true}
	}
	for _, r := range s.Rejections {
		if r.EventID == out.Event.ID {
			rej := r
			return verdict{err: &rej, produced: true}
		}
	}
	return verdict{produced: true}
}

// verdicts are the player actions this instance produced and waits for the
// fold to judge, by event id. It is safe for concurrent use.
type verdicts struct {
	mu sync.Mutex
	m  map[string][]chan verdict
	at map[string]time.Time
}

func (v *verdicts) expect(id string) chan verdict {
	ch := make(chan verdict, 1)
	v.mu.Lock()
	defer v.mu.Unlock()
	v.m[id] = append(v.m[id], ch)
	if v.at == nil {
		v.at = map[string]time.Time{}
	}
	if _, ok := v.at[id]; !ok {
		v.at[id] = time.Now()
	}
	return ch
}

func (v *verdicts) has(id string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	_, ok := v.m[id]
	return ok
}

// decide hands every waiter of id its verdict, and times the first from
// produce to push.
func (v *verdicts) decide(id string, vd verdict, now time.Time, m *metrics) {
	v.mu.Lock()
	chs := v.m[id]
	at, timed := v.at[id]
	delete(v.m, id)
	delete(v.at, id)
	v.mu.Unlock()
	if timed && vd.produced {
		m.broadcast.Observe(now.Sub(at).Seconds())
	}
	for _, ch := range chs {
		select {
		case ch <- vd:
		default:
		}
	}
}

// forget drops a waiter that gave up.
func (v *verdicts) forget(id string, ch chan verdict) {
	v.mu.Lock()
	defer v.mu.Unlock()
	chs := v.m[id]
	for i, c := range chs {
		if c == ch {
			chs = append(chs[:i], chs[i+1:]...)
			break
		}
	}
	if len(chs) == 0 {
		delete(v.m, id)
		delete(v.at, id)
	} else {
		v.m[id] = chs
	}
}

// publishTimeout bounds one produce, and the wait for its verdict; the
// client is told to retry after it.
const publishTimeout = kafka.DefaultPublishTimeout

// errNoVerdict is the verdict of an action the fold did not judge within
// verdictWait: it may still count, and a retry with the same id is safe.
var errNoVerdict = errors.New("no verdict in time")

// decide checks env against the state of e and, if the rules take it,
// produces it and waits for the fold's verdict: refused is the rules'
// refusal (nil: applied), aerr what the client gets when there was no
// verdict to be had (not produced, or none in time).
func (g *Gateway) decide(ctx context.Context, e *entry, env events.Envelope) (refused error, aerr *apiError) {
	e.read(func(s *game.State) { refused = game.Check(s, env) })
	if refused != nil {
		return refused, nil
	}
	v := g.submit(ctx, true, env)
	switch {
	case !v.produced:
		g.logger.Error("producing a fact failed", "match_id", env.MatchID, "event_id", env.ID, "type", env.Type, "err", v.err)
		return nil, errUnavailable
	case game.RejectionCode(v.err) != "":
		return v.err, nil
	case v.err != nil:
		return nil, errTimeout
	}
	return nil, nil
}

// submit produces evs to match-events (keyed by match id, so in order) and,
// when judge is set, waits for the fold's verdict on the last one. The wait
// holds no lock: other seats' actions go on meanwhile.
func (g *Gateway) submit(ctx context.Context, judge bool, evs ...events.Envelope) verdict {
	if g.producer == nil {
		return verdict{err: errors.New("gateway not started")}
	}
	var ch chan verdict
	last := evs[len(evs)-1].ID
	if judge {
		ch = g.waiting.expect(last)
		defer g.waiting.forget(last, ch)
	}
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	failed := make(chan error, 1)
	for _, e := range evs {
		rec, err := kafka.Record(g.clients.Topics.MatchEvents, e, "")
		if err != nil {
			return verdict{err: err}
		}
		g.producer.Produce(ctx, rec, func(_ *kgo.Record, err error) {
			if err != nil {
				select {
				case failed <- err:
				default:
				}
			}
		})
	}
	if !judge {
		return verdict{produced: true}
	}
	wait := time.NewTimer(g.verdictWait)
	defer wait.Stop()
	select {
	case v := <-ch:
		return v
	case err := <-failed:
		return verdict{err: fmt.Errorf("produce to %s: %w", g.clients.Topics.MatchEvents, err)}
	case <-wait.C:
		return verdict{err: errNoVerdict, produced: true}
	case <-ctx.Done():
		return verdict{err: ctx.Err(), produced: true}
	}
}

// finishedCache holds a few finished matches fetched from match-state, so
// that a popular old match is not fetched for every visitor.
type finishedCache struct {
	mu    sync.Mutex
	m     map[string]*game.State
	order []string
}

const finishedCacheSize = 256

func (c *finishedCache) get(id string) *game.State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[id]
}

func (c *finishedCache) put(s *game.State) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[s.MatchID]; ok {
		return
	}
	if len(c.order) >= finishedCacheSize {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	c.m[s.MatchID] = s
	c.order = append(c.order, s.MatchID)
}

// finished returns the state of a finished match the fold no longer holds,
// read from its checkpoint in match-state, or nil if no finished match
// has that id. The state is shared: callers only read it.
func (g *Gateway) finished(ctx context.Context, id string) (*game.State, error) {
	if s := g.fetched.get(id); s != nil {
		return s, nil
	}
	at, ok := g.views.Location(id)
	if !ok {
		return nil, nil
	}
	cl, err := g.clients.NewUnmetered("gateway-history",
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
			g.clients.Topics.MatchState: {at.Partition: kgo.NewOffset().At(at.Offset)},
		}),
		kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	// Compaction may have replaced the record by a newer checkpoint of the
	// same match further on: read on until one of this match shows up.
	for {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("fetch match %s from %s: %w", id, g.clients.Topics.MatchState, err)
		}
		var found *game.State
		fs.EachRecord(func(r *kgo.Record) {
			if found != nil || string(r.Key) != id {
				return
			}
			cp, err := fold.DecodeCheckpoint(r.Value)
			if err != nil || cp.Phase != events.PhaseFinished {
				return
			}
			if s, err := cp.DecodeState(); err == nil {
				found = s
			}
		})
		if found != nil {
			g.fetched.put(found)
			return found, nil
		}
	}
}
