// Package gateway is arena's edge: the HTTP pages, the JSON API and the
// WebSocket endpoint.
//
// Every gateway instance folds all of match-events itself (package fold,
// started from the match-state checkpoints): a player's action is one
// produce to match-events, and one fold later every instance pushes each
// player it serves their own game.ViewFor, so several instances can serve
// the players of one match. An action is acknowledged only once this
// instance's fold has applied it in log order: an ack means counted, and a
// refusal carries the reducer's code.
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
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/modules/fold"
	"github.com/arena-hq/arena/modules/game"
	"github.com/arena-hq/arena/modules/kafka"
	"github.com/arena-hq/arena/modules/materializer"
)

// Config is the gateway's part of the configuration.
type Config struct {
	HTTP         config.HTTP
	Game         config.Game
	Robots       []config.Personality // the stable that new matches are cast from
	Prompts      []string
	DefaultModel string // llm.model: for a personality that names no model
}

// ConfigFrom picks the gateway's part of c.
func ConfigFrom(c config.Config) Config {
	return Config{HTTP: c.HTTP, Game: c.Game, Robots: c.Robots, Prompts: c.Prompts, DefaultModel: c.LLM.Model}
}

// Deps is what the gateway needs from the process.
type Deps struct {
	Config   Config
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
	cfg     Config
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
	seatWait     time.Duration // how long create/join wait for the fold's verdict on the seat
	verdictWait  time.Duration // how long an action waits for the fold's verdict before "timeout"
	authWait     time.Duration // how long /ws waits for a match or seat this instance has not seen yet
	hostAway     time.Duration // how long a lobby's host may have no page open before the lobby is handed on
	writeTimeout time.Duration // a client that does not take a frame within this is dropped
	pingInterval time.Duration
	frameRate    float64 // frames a second a socket may send (flood control)
	frameBurst   float64

	ready    atomic.Bool // Start finished: the producer exists and the fold is caught up
	draining atomic.Bool // Stop began: no new sockets

	producer   *kgo.Client
	follower   *kgo.Client // match-events from the watermarks, match-state for checkpoint locations
	stopFollow context.CancelFunc
	followErr  chan error    // the follower's reason for dying
	followDone chan struct{} // closed when the follower goroutine returned

	parts      map[int32]*fold.Partition // set by bootstrap; then the follower's alone
	bootFolded atomic.Int64              // match-events records folded before ready
	failing    atomic.Pointer[error]     // why the fold has stopped (Ready), nil while it works
	waiting    verdicts                  // player actions produced and waiting for the fold's verdict
	audience   audienceLimits            // spectators' picks per client address
	fetched    finishedCache

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
		verdictWait:  publishTimeout,
		authWait:     2 * time.Second,
		hostAway:     20 * time.Second,
		writeTimeout: 10 * time.Second,
		pingInterval: 30 * time.Second,
		frameRate:    rateLimit,
		frameBurst:   rateBurst,
		sessions:     map[*session]struct{}{},
		parts:        map[int32]*fold.Partition{},
		waiting:      verdicts{m: map[string][]chan verdict{}},
		fetched:      finishedCache{m: map[string]*game.State{}},
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

// Start creates the producer, loads the checkpoints of every partition and
// folds match-events from the watermark up to the end offsets it has now,
// so that the gateway knows every live match before it reports ready. It
// then keeps folding in a goroutine until Stop (follow.go).
func (g *Gateway) Start(ctx context.Context) error {
	p, err := g.clients.New("gateway-producer")
	if err != nil {
		return err
	}
	g.producer = p
	started := time.Now()
	if err := g.bootstrap(ctx); err != nil {
		return err
	}
	g.logger.Info("caught up with match-events", "took", time.Since(started).Round(time.Millisecond),
		"matches", g.liveCount(), "finished", g.views.Len())

	fctx, cancel := context.WithCancel(context.Background())
	g.stopFollow = cancel
	g.followErr = make(chan error, 1)
	g.followDone = make(chan struct{})
	go func() {
		defer close(g.followDone)
		go g.pingAll(fctx)
		if err := g.follow(fctx); err != nil {
			g.followErr <- err
		}
	}()
	g.ready.Store(true)
	return nil
}

// Run blocks until ctx is done. It returns an error if the fold dies, since
// a gateway that no longer sees the matches cannot serve them.
func (g *Gateway) Run(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-g.followErr:
		return fmt.Errorf("match-events fold: %w", err)
	}
}

// Stop closes every WebSocket with StatusGoingAway, stops the fold and
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

// pingAll pings every socket every pingInterval until ctx ends, each ping
// on a goroutine of its own for as long as it takes.
func (g *Gateway) pingAll(ctx context.Context) {
	t := time.NewTicker(g.pingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			g.sessMu.Lock()
			for ss := range g.sessions {
				go ss.ping()
			}
			g.sessMu.Unlock()
		}
	}
}

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
