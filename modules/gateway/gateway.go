// Package gateway is arena's edge: the HTTP pages, the JSON API and the
// WebSocket endpoint of DESIGN.md section 7.
//
// The gateway never folds match-events. A player's action is checked with
// game.Check against the gateway's newest copy of the match, produced to
// match-events (keyed by match id) and acknowledged only once the broker
// acknowledged it. The materializer folds it and publishes a snapshot to
// match-state; every gateway instance follows all of match-state, so each
// can push every player it serves their own game.ViewFor of every match,
// and several instances can serve the players of one match.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/kafka"
	"github.com/arena-hq/arena/modules/materializer"
)

// Deps is what the gateway needs from the process.
type Deps struct {
	Config   config.Config
	Clients  *kafka.Clients
	Mux      *http.ServeMux
	Registry prometheus.Registerer // may be nil: no metrics exported
	Logger   *slog.Logger
}

// Gateway is the gateway module. New registers its routes; Start connects
// to Kafka and catches up with match-state; Run follows it; Stop closes the
// sockets, the follower and the producer. All methods and handlers are safe
// for concurrent use.
type Gateway struct {
	cfg     config.Config
	clients *kafka.Clients
	logger  *slog.Logger
	metrics *metrics
	views   *materializer.Views
	store   *store
	typing  *typingThrottle
	limits  *clientLimits
	origins []string
	pages   map[string][]byte

	// Timings, fixed by New; tests shorten some of them.
	seatWait     time.Duration // how long create/join wait for the seat to show in match-state
	authWait     time.Duration // how long /ws waits for a match or seat this instance has not seen yet
	writeTimeout time.Duration // a client that does not take a frame within this is dropped
	pingInterval time.Duration
	frameRate    float64 // frames a second a socket may send (flood control)
	frameBurst   float64

	ready    atomic.Bool // Start finished: the producer exists and match-state is caught up
	draining atomic.Bool // Stop began: no new sockets

	producer   *kgo.Client
	follower   *kgo.Client
	stopFollow context.CancelFunc
	followErr  chan error    // the follower's reason for dying
	followDone chan struct{} // closed when the follower goroutine returned

	seatLocks [64]sync.Mutex // see lockSeat

	sessMu   sync.Mutex
	sessions map[*session]struct{}
	sessWG   sync.WaitGroup
}

// New checks the configuration and registers the gateway's routes on
// d.Mux. It starts nothing.
func New(d Deps) (*Gateway, error) {
	switch {
	case d.Clients == nil:
		return nil, errors.New("gateway: no kafka clients")
	case d.Mux == nil:
		return nil, errors.New("gateway: no mux")
	case len(d.Config.Robots) == 0:
		return nil, errors.New("gateway: robots: the stable is empty, a match needs robots")
	case len(d.Config.Prompts) == 0:
		return nil, errors.New("gateway: prompts: no prompts to play")
	case d.Config.Game.Seats < 2 || d.Config.Game.Seats > 8:
		return nil, fmt.Errorf("gateway: game.seats: must be within 2..8, got %d", d.Config.Game.Seats)
	}
	logger := d.Logger
	if logger == nil {
		logger = slog.Default()
	}
	m, err := newMetrics(d.Registry)
	if err != nil {
		return nil, fmt.Errorf("gateway: metrics: %w", err)
	}
	g := &Gateway{
		cfg:          d.Config,
		clients:      d.Clients,
		logger:       logger.With("module", "gateway"),
		metrics:      m,
		views:        materializer.NewViews(),
		store:        newStore(),
		typing:       newTypingThrottle(typingInterval),
		limits:       newClientLimits(d.Config.HTTP.Limits, d.Config.Game.IdleTimeout),
		seatWait:     5 * time.Second,
		authWait:     2 * time.Second,
		writeTimeout: 10 * time.Second,
		pingInterval: 30 * time.Second,
		frameRate:    rateLimit,
		frameBurst:   rateBurst,
		sessions:     map[*session]struct{}{},
	}
	for _, o := range d.Config.HTTP.AllowedOrigins {
		if o = strings.TrimSuffix(strings.TrimSpace(o), "/"); o != "" {
			g.origins = append(g.origins, o)
		}
	}
	if err := g.loadPages(); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	if err := g.routes(d.Mux); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	return g, nil
}

// Name is the module's name in logs.
func (g *Gateway) Name() string { return "gateway" }

// Start creates the producer, then reads match-state from the start of
// every partition up to the end offsets it has now, so that the gateway
// knows every existing match before it reports ready. It then keeps
// following match-state in a goroutine until Stop.
func (g *Gateway) Start(ctx context.Context) error {
	p, err := g.clients.New("gateway-producer")
	if err != nil {
		return err
	}
	g.producer = p

	topic := g.clients.Topics.MatchState
	// A direct consumer of every partition, no group: each instance needs
	// every match, and always starts from the beginning of the compacted
	// topic, which holds the newest snapshot of every match.
	f, err := g.clients.New("gateway-follower",
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(500*time.Millisecond),
	)
	if err != nil {
		return err
	}
	g.follower = f
	started := time.Now()
	if err := g.catchUp(ctx, f, topic); err != nil {
		return fmt.Errorf("catch up with %s: %w", topic, err)
	}
	g.logger.Info("caught up with match-state", "took", time.Since(started).Round(time.Millisecond))

	fctx, cancel := context.WithCancel(context.Background())
	g.stopFollow = cancel
	g.followErr = make(chan error, 1)
	g.followDone = make(chan struct{})
	go func() {
		defer close(g.followDone)
		if err := g.follow(fctx); err != nil {
			g.followErr <- err
		}
	}()
	g.ready.Store(true)
	return nil
}

// Run blocks until ctx is done. It returns an error if the match-state
// follower dies, since a gateway that no longer sees the matches cannot
// serve them.
func (g *Gateway) Run(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-g.followErr:
		return fmt.Errorf("match-state follower: %w", err)
	}
}

// Stop closes every WebSocket with StatusGoingAway, stops the follower and
// flushes and closes the producer.
func (g *Gateway) Stop(ctx context.Context) error {
	g.draining.Store(true)
	g.ready.Store(false)
	g.closeSessions(ctx)
	if g.stopFollow != nil {
		g.stopFollow()
		<-g.followDone
	}
	if g.follower != nil {
		g.follower.Close()
	}
	var err error
	if g.producer != nil {
		if ferr := g.producer.Flush(ctx); ferr != nil {
			err = fmt.Errorf("flush producer: %w", ferr)
		}
		g.producer.Close()
	}
	return err
}

// closeSessions closes every socket with a reason and waits (up to ctx)
// for their handlers to return.
func (g *Gateway) closeSessions(ctx context.Context) {
	g.sessMu.Lock()
	all := make([]*session, 0, len(g.sessions))
	for s := range g.sessions {
		all = append(all, s)
	}
	g.sessMu.Unlock()
	for _, s := range all {
		go s.close(websocket.StatusGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() {
		g.sessWG.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		g.logger.Warn("sockets still open at the end of the stop timeout", "sockets", len(all))
	}
}

// catchUp reads match-state until every partition reached the end offset
// it had when catchUp began.
func (g *Gateway) catchUp(ctx context.Context, cl *kgo.Client, topic string) error {
	adm := kadm.NewClient(cl)
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("end offsets: %w", err)
	}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return fmt.Errorf("start offsets: %w", err)
	}
	if len(ends[topic]) == 0 {
		return fmt.Errorf("topic %s has no partitions (does it exist?)", topic)
	}
	remaining := map[int32]int64{}
	for p, end := range ends[topic] {
		if start, ok := starts.Lookup(topic, p); ok && start.Offset >= end.Offset {
			continue
		}
		remaining[p] = end.Offset
	}
	for len(remaining) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
		if fs.IsClientClosed() {
			return errors.New("client closed")
		}
		fs.EachError(func(t string, p int32, err error) {
			g.logger.Warn("match-state fetch error", "topic", t, "partition", p, "err", err)
		})
		fs.EachRecord(func(r *kgo.Record) {
			g.applySnapshot(r)
			if end, ok := remaining[r.Partition]; ok && r.Offset+1 >= end {
				delete(remaining, r.Partition)
			}
		})
	}
	return nil
}

// followGiveUp is how long match-state may fail every fetch before the
// follower gives up and the process stops with the reason.
const followGiveUp = 2 * time.Minute

// follow tails match-state until ctx ends.
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
			g.logger.Warn("match-state fetch error", "topic", t, "partition", p, "err", err)
		})
		switch {
		case lastErr == nil:
			failingSince = time.Time{}
		case failingSince.IsZero():
			failingSince = time.Now()
		case time.Since(failingSince) > followGiveUp:
			return fmt.Errorf("every fetch failed for %s: %w", followGiveUp, lastErr)
		}
		g.applyFetches(fs)
	}
}

// applyFetches takes each partition's snapshots on its own goroutine:
// decoding them is the follower's main cost, and a match's records are all
// in one partition, so per-partition order is all the order there is.
func (g *Gateway) applyFetches(fs kgo.Fetches) {
	var wg sync.WaitGroup
	fs.EachPartition(func(p kgo.FetchTopicPartition) {
		if len(p.Records) == 0 {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, r := range p.Records {
				g.applySnapshot(r)
			}
		}()
	})
	wg.Wait()
}

// applySnapshot takes one match-state record into the store, the views and
// the metrics, and wakes the sessions watching its match. It never blocks
// on a client.
func (g *Gateway) applySnapshot(r *kgo.Record) {
	snap, err := materializer.DecodeSnapshot(r.Value)
	if err != nil {
		g.logger.Warn("skipping bad match-state record", "partition", r.Partition, "offset", r.Offset, "err", err)
		return
	}
	s := snap.State
	if s.MatchID == "" {
		s.MatchID = snap.MatchID
	}
	old, sessions, ok := g.store.put(s, snap.Offset)
	if !ok {
		return
	}
	g.metrics.phaseChanged(old, s.Phase)
	g.views.Put(s)
	for _, ss := range sessions {
		ss.offer(s)
	}
	if old != s.Phase && old != "" {
		g.logger.Debug("match moved on", "match_id", s.MatchID, "from", old, "to", s.Phase, "round", s.Round)
	}
}

// publish produces evs to match-events and returns once the broker
// acknowledged all of them.
func (g *Gateway) publish(ctx context.Context, evs ...events.Envelope) error {
	if g.producer == nil {
		return errors.New("gateway not started")
	}
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	return kafka.Publish(ctx, g.producer, g.clients.Topics.MatchEvents, "", evs...)
}

// publishTimeout bounds one produce; the client is told to retry after it.
const publishTimeout = 10 * time.Second

func (g *Gateway) addSession(s *session) bool {
	g.sessMu.Lock()
	defer g.sessMu.Unlock()
	if g.draining.Load() {
		return false
	}
	g.sessions[s] = struct{}{}
	g.sessWG.Add(1)
	return true
}

func (g *Gateway) removeSession(s *session) {
	g.sessMu.Lock()
	defer g.sessMu.Unlock()
	if _, ok := g.sessions[s]; ok {
		delete(g.sessions, s)
		g.sessWG.Done()
	}
}
