package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Handler processes one record. Handlers must be idempotent: after a crash
// or a rebalance the same record may be delivered again. An error retries
// the record (MaxRetries times, with backoff: the Retry middleware) and
// then sends it to the dead-letter topic so the partition keeps moving
// (DeadLetter); wrap an error with Permanent to skip the retries. Handlers
// get a context that is cancelled when their partition is revoked or the
// group stops; a handler that returns because of that leaves its record
// unacknowledged, to be redone elsewhere. Most handlers are EventHandlers
// (GroupConfig.HandleEvent); readers that fold raw records use Handler.
type Handler func(ctx context.Context, r *kgo.Record) error

// GroupConfig configures a consumer group runner.
type GroupConfig struct {
	Name   string // module name, for logs and client ids
	Group  string
	Topics []string
	// Handle, or HandleEvent, is the group's handler. HandleEvent gets the
	// decoded event and returns what to publish (see Events): the runner
	// publishes it through the group's client, within PublishTimeout,
	// before the record is marked.
	Handle         Handler
	HandleEvent    EventHandler
	PublishTimeout time.Duration // default DefaultPublishTimeout
	// Middleware wraps the handler, the first outermost, inside the retry
	// and dead-letter the group always adds.
	Middleware []Middleware

	// Flush, if set, runs after each batch of records a partition received,
	// and the offset it returns (the next offset to read after a restart;
	// at most the batch's end) is what is marked for commit: the
	// materializer publishes its checkpoints here and commits only what
	// they hold. An error is retried until it succeeds or the partition is
	// revoked.
	Flush func(ctx context.Context, topic string, partition int32) (int64, error)
	// FlushEvery is how often Flush runs again while a partition is quiet
	// and its last Flush held records back; default 1s.
	FlushEvery time.Duration

	// OnAssigned runs before any record of newly assigned partitions is
	// handled (to bootstrap state); OnRevoked after their workers stopped.
	OnAssigned func(ctx context.Context, assigned map[string][]int32) error
	OnRevoked  func(ctx context.Context, revoked map[string][]int32)

	// Concurrency is how many records of one partition may be handled at
	// once. 1 (the default) keeps strict offset order; more suits handlers
	// that mostly wait (robots). Offsets are still committed in order: a
	// record is committed only when it and every record before it are done.
	Concurrency int

	MaxRetries   int           // default 3
	RetryBackoff time.Duration // first retry delay, doubling; default 100ms
	DeadLetter   string        // topic; default the Clients' dead-letter topic

	SessionTimeout    time.Duration // default 10s; a dead member's partitions move after this
	RebalanceTimeout  time.Duration // default 30s
	HeartbeatInterval time.Duration // default SessionTimeout/4
	CommitInterval    time.Duration // how often marked offsets are committed; default 1s
	DrainTimeout      time.Duration // how long a stopping group lets in-flight records finish; default 5s
	// StaleAfter is how long a partition may have records to handle and a
	// committed offset that does not move before Ready reports it; default
	// SessionTimeout+RebalanceTimeout, at least 30s (2 minutes with
	// Concurrency > 1, whose handlers hold the commit while they wait).
	StaleAfter time.Duration
}

type permanentError struct{ error }

func (p permanentError) Unwrap() error { return p.error }

// Permanent marks err as not worth retrying (a malformed record).
func Permanent(err error) error { return permanentError{err} }

// Dead-letter headers.
const (
	HeaderDLQError     = "dlq-error"
	HeaderDLQTopic     = "dlq-topic"
	HeaderDLQPartition = "dlq-partition"
	HeaderDLQOffset    = "dlq-offset"
	HeaderDLQGroup     = "dlq-group"
)

// Group runs a consumer group: one goroutine per assigned partition, records
// handled in order, offsets marked only after a record's effects are
// produced and committed every CommitInterval, on revoke and on stop. It
// follows franz-go's goroutine-per-partition example with
// BlockRebalanceOnPoll and exactly one AllowRebalance per poll.
type Group struct {
	cfg     GroupConfig
	clients *Clients
	logger  *slog.Logger

	cl       *kgo.Client
	handle   Handler // the whole chain: dead-letter, retry, middleware, handler
	mu       sync.Mutex
	workers  map[tp]*worker
	runAt    time.Time // Run began
	joined   bool      // partitions were assigned at least once (an empty assignment counts)
	progress progress
}

type tp struct {
	topic     string
	partition int32
}

// NewGroup checks cfg and fills defaults. It starts nothing.
func NewGroup(clients *Clients, cfg GroupConfig, logger *slog.Logger) (*Group, error) {
	switch {
	case cfg.Group == "":
		return nil, errors.New("consumer group: no group name")
	case len(cfg.Topics) == 0:
		return nil, fmt.Errorf("consumer group %s: no topics", cfg.Group)
	case (cfg.Handle == nil) == (cfg.HandleEvent == nil):
		return nil, fmt.Errorf("consumer group %s: want exactly one of Handle and HandleEvent", cfg.Group)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 1
	}
	if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	} else if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 3
	}
	if cfg.Name == "" {
		cfg.Name = cfg.Group
	}
	if cfg.DeadLetter == "" {
		cfg.DeadLetter = clients.Topics.DeadLetters
	}
	def(&cfg.RetryBackoff, 100*time.Millisecond)
	def(&cfg.SessionTimeout, 10*time.Second)
	def(&cfg.RebalanceTimeout, 30*time.Second)
	def(&cfg.HeartbeatInterval, cfg.SessionTimeout/4)
	def(&cfg.CommitInterval, time.Second)
	cfg.CommitInterval = max(cfg.CommitInterval, 100*time.Millisecond) // franz-go's floor
	def(&cfg.DrainTimeout, 5*time.Second)
	def(&cfg.FlushEvery, time.Second)
	stale := max(cfg.SessionTimeout+cfg.RebalanceTimeout, 30*time.Second)
	if cfg.Concurrency > 1 {
		// Handlers that mostly wait (a robot thinks, then types for up to
		// the answer window) hold the in-order commit back for a while.
		stale = max(stale, 2*time.Minute)
	}
	def(&cfg.StaleAfter, stale)
	return &Group{cfg: cfg, clients: clients, logger: logger.With("group", cfg.Group), workers: map[tp]*worker{}}, nil
}

// Run joins the group and consumes until ctx is cancelled or the client
// fails. On the way out it lets in-flight records finish (up to
// DrainTimeout), commits what is done and leaves the group.
func (g *Group) Run(ctx context.Context) error {
	cl, err := g.clients.New(g.cfg.Name,
		kgo.ConsumerGroup(g.cfg.Group),
		kgo.ConsumeTopics(g.cfg.Topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.BlockRebalanceOnPoll(),
		kgo.AutoCommitMarks(),
		kgo.AutoCommitInterval(g.cfg.CommitInterval),
		kgo.SessionTimeout(g.cfg.SessionTimeout),
		kgo.RebalanceTimeout(g.cfg.RebalanceTimeout),
		kgo.HeartbeatInterval(g.cfg.HeartbeatInterval),
		kgo.FetchMaxWait(250*time.Millisecond),
		kgo.OnPartitionsAssigned(g.assigned),
		kgo.OnPartitionsRevoked(g.revoked),
		kgo.OnPartitionsLost(g.lost),
	)
	if err != nil {
		return err
	}
	g.cl = cl
	g.handle = g.chain(cl)
	g.mu.Lock()
	g.runAt = time.Now()
	g.mu.Unlock()
	// BlockRebalanceOnPoll: a plain Close would wait forever for the
	// AllowRebalance that the loop below skips when it stops mid-poll.
	defer cl.CloseAllowingRebalance()
	fetchErrs := &errorLog{every: 10 * time.Second}
	lagCtx, stopLag := context.WithCancel(ctx)
	lagDone := make(chan struct{})
	defer func() { stopLag(); <-lagDone }() // the reporter uses cl: it ends first
	go func() { defer close(lagDone); g.reportLag(lagCtx, cl) }()

	for {
		fetches := cl.PollRecords(ctx, 1000)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			break
		}
		fetches.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				fetchErrs.report(g.logger, tp{t, p}, err)
			}
		})
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if len(p.Records) == 0 {
				return
			}
			g.mu.Lock()
			w := g.workers[tp{p.Topic, p.Partition}]
			g.mu.Unlock()
			if w == nil {
				return // revoked between fetch and now: the new owner reads it again
			}
			select {
			case w.batches <- p.Records:
			case <-w.ctx.Done():
			case <-ctx.Done():
			}
		})
		cl.AllowRebalance()
	}

	g.stopAll()
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := cl.CommitMarkedOffsets(cctx); err != nil {
		g.logger.Warn("final commit failed; records will be redelivered", "err", err)
	}
	return nil
}

func (g *Group) assigned(ctx context.Context, cl *kgo.Client, assigned map[string][]int32) {
	if g.cfg.OnAssigned != nil {
		if err := g.cfg.OnAssigned(ctx, assigned); err != nil {
			g.logger.Error("bootstrap of assigned partitions failed", "err", err)
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.joined = true
	for topic, ps := range assigned {
		for _, p := range ps {
			w := newWorker(g, topic, p)
			g.workers[tp{topic, p}] = w
			go w.run()
		}
	}
	g.logger.Debug("partitions assigned", "assigned", assigned)
}

func (g *Group) revoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	g.stop(revoked, true)
	if err := cl.CommitMarkedOffsets(ctx); err != nil {
		g.logger.Warn("commit on revoke failed; records will be redelivered", "err", err)
	}
	if g.cfg.OnRevoked != nil {
		g.cfg.OnRevoked(ctx, revoked)
	}
}

func (g *Group) lost(ctx context.Context, _ *kgo.Client, lost map[string][]int32) {
	g.stop(lost, false)
	if g.cfg.OnRevoked != nil {
		g.cfg.OnRevoked(ctx, lost)
	}
}

// stop ends the workers of the given partitions: with drain, each finishes
// the batches it holds (up to DrainTimeout); otherwise they are cancelled.
func (g *Group) stop(parts map[string][]int32, drain bool) {
	var ws []*worker
	g.mu.Lock()
	for topic, ps := range parts {
		for _, p := range ps {
			if w := g.workers[tp{topic, p}]; w != nil {
				ws = append(ws, w)
				delete(g.workers, tp{topic, p})
			}
		}
	}
	g.mu.Unlock()
	g.stopWorkers(ws, drain)
}

func (g *Group) stopAll() {
	g.mu.Lock()
	ws := make([]*worker, 0, len(g.workers))
	for k, w := range g.workers {
		ws = append(ws, w)
		delete(g.workers, k)
	}
	g.mu.Unlock()
	g.stopWorkers(ws, true)
}

func (g *Group) stopWorkers(ws []*worker, drain bool) {
	for _, w := range ws {
		if drain {
			close(w.batches)
		} else {
			w.cancel()
		}
	}
	timeout := time.After(g.cfg.DrainTimeout)
	for _, w := range ws {
		select {
		case <-w.done:
		case <-timeout:
			w.cancel()
			<-w.done
		}
	}
}

// worker handles one partition's records.
type worker struct {
	g       *Group
	tp      tp
	batches chan []*kgo.Record
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
	marked  int64       // highest offset marked by Flush
	last    *kgo.Record // last record handled, with Flush

	// in-order completion tracking for Concurrency > 1
	mu      sync.Mutex
	pending []*slot
	sem     chan struct{}
	wg      sync.WaitGroup
}

type slot struct {
	rec  *kgo.Record
	done bool
	ok   bool
}

func newWorker(g *Group, topic string, p int32) *worker {
	ctx, cancel := context.WithCancel(context.Background())
	return &worker{
		g: g, tp: tp{topic, p}, batches: make(chan []*kgo.Record, 4),
		ctx: ctx, cancel: cancel, done: make(chan struct{}),
		sem: make(chan struct{}, g.cfg.Concurrency),
	}
}

func (w *worker) run() {
	defer close(w.done)
	defer w.cancel()
	// A Flush that holds back part of a batch (the materializer's watermark
	// waits for matches not yet checkpointed) is asked again while the
	// partition is quiet, so the committed offset catches up.
	var idle <-chan time.Time
	if w.g.cfg.Flush != nil {
		t := time.NewTicker(w.g.cfg.FlushEvery)
		defer t.Stop()
		idle = t.C
	}
	for {
		select {
		case <-w.ctx.Done():
			w.wg.Wait()
			return
		case batch, ok := <-w.batches:
			if !ok {
				w.wg.Wait()
				return
			}
			if w.g.cfg.Concurrency > 1 {
				w.dispatch(batch)
			} else {
				w.sequential(batch)
			}
		case <-idle:
			if w.last != nil && w.marked <= w.last.Offset {
				w.flush(w.last)
			}
		}
	}
}

func (w *worker) sequential(batch []*kgo.Record) {
	cfg := w.g.cfg
	done := 0
	for _, r := range batch {
		if !w.handle(r) {
			break
		}
		done++
		if cfg.Flush == nil {
			w.g.cl.MarkCommitRecords(r)
		}
	}
	if cfg.Flush == nil || done == 0 {
		return
	}
	w.last = batch[done-1]
	w.flush(w.last)
}

// flush runs Flush until it succeeds (or the partition goes) and marks the
// offset it returns, at most last's next.
func (w *worker) flush(last *kgo.Record) {
	cfg := w.g.cfg
	for backoff := cfg.RetryBackoff; ; backoff = min(2*backoff, 5*time.Second) {
		next, err := cfg.Flush(w.ctx, w.tp.topic, w.tp.partition)
		if err == nil {
			next = min(next, last.Offset+1)
			if next > w.marked {
				w.marked = next
				w.g.cl.MarkCommitOffsets(map[string]map[int32]kgo.EpochOffset{
					w.tp.topic: {w.tp.partition: {Epoch: last.LeaderEpoch, Offset: next}},
				})
			}
			return
		}
		w.g.logger.Warn("flush failed; retrying", "topic", w.tp.topic, "partition", w.tp.partition, "err", err)
		if !Sleep(w.ctx, backoff) {
			return
		}
	}
}

func (w *worker) dispatch(batch []*kgo.Record) {
	for _, r := range batch {
		select {
		case w.sem <- struct{}{}:
		case <-w.ctx.Done():
			return
		}
		s := &slot{rec: r}
		w.mu.Lock()
		w.pending = append(w.pending, s)
		w.mu.Unlock()
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			ok := w.handle(r)
			w.mu.Lock()
			s.done, s.ok = true, ok
			var last *kgo.Record
			for len(w.pending) > 0 && w.pending[0].done && w.pending[0].ok {
				last = w.pending[0].rec
				w.pending = w.pending[1:]
			}
			w.mu.Unlock()
			if last != nil {
				w.g.cl.MarkCommitRecords(last)
			}
			<-w.sem
		}()
	}
}

// chain builds the group's handler: the dead letters outermost, then the
// count of records handled, the retries, the configured middleware and the
// handler (EventHandlers publishing through p).
func (g *Group) chain(p Producer) Handler {
	cfg := g.cfg
	h := cfg.Handle
	if cfg.HandleEvent != nil {
		h = Events(p, cfg.PublishTimeout, cfg.HandleEvent)
	}
	for i := len(cfg.Middleware) - 1; i >= 0; i-- {
		h = cfg.Middleware[i](h)
	}
	h = Retry(cfg.MaxRetries, cfg.RetryBackoff, g.logger)(h)
	h = countConsumed(cfg.Group)(h)
	return DeadLetter(p, cfg.DeadLetter, cfg.Group, cfg.RetryBackoff, g.logger)(h)
}

// countConsumed counts the records handled without an error (dead-lettered
// ones are counted by DeadLetter).
func countConsumed(group string) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, r *kgo.Record) error {
			err := next(ctx, r)
			if err == nil {
				consumed.WithLabelValues(group, r.Topic).Inc()
			}
			return err
		}
	}
}

// handle runs the chain. It reports whether the record is finished
// (handled or dead-lettered); false means the worker is stopping (the
// dead-letter step gives up only then) and the record must not be
// committed.
func (w *worker) handle(r *kgo.Record) bool {
	return w.g.handle(w.ctx, r) == nil
}

// RunGroups runs groups until ctx ends or any of them returns; then it
// stops the rest and returns their errors joined. A module with several
// groups (the orchestrator, the robots) fails as one.
func RunGroups(ctx context.Context, groups ...*Group) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(groups))
	for _, g := range groups {
		go func() { errs <- g.Run(ctx) }()
	}
	var all []error
	for range groups {
		all = append(all, <-errs)
		cancel()
	}
	return errors.Join(all...)
}

// errorLog logs a partition's repeated fetch errors once per interval, with
// how many it kept quiet: a broker that cannot read a partition answers
// every fetch with an error, tens of thousands a minute.
type errorLog struct {
	every time.Duration
	last  map[tp]time.Time
	quiet map[tp]int
}

func (l *errorLog) report(logger *slog.Logger, t tp, err error) {
	if l.last == nil {
		l.last, l.quiet = map[tp]time.Time{}, map[tp]int{}
	}
	if time.Since(l.last[t]) < l.every {
		l.quiet[t]++
		return
	}
	logger.Warn("fetch error", "topic", t.topic, "partition", t.partition, "err", err, "repeats_not_logged", l.quiet[t])
	l.last[t], l.quiet[t] = time.Now(), 0
}
