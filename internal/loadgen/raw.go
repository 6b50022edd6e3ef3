package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/modules/kafka"
)

// The raw pipeline's topics and group. They live next to arena's topics on
// the same broker, so both runs share the broker, its disk and its settings.
const (
	RawInTopic  = "arena-bench-raw-in"
	RawOutTopic = "arena-bench-raw-out"
	RawGroup    = "arena-bench-raw"
)

// RawConfig configures the raw pipeline server.
type RawConfig struct {
	Brokers    []string
	HTTPAddr   string
	Partitions int
	Logger     *slog.Logger
}

// RawPipeline is the baseline arena is measured against: the same hops as a
// player's action takes through arena, with no game logic. A WebSocket frame
// is produced to RawInTopic and acknowledged once the broker has it (the
// gateway); a consumer group folds nothing and produces each batch to
// RawOutTopic (the materializer); a direct consumer of every partition of
// RawOutTopic pushes each record to every socket of its room (the gateway's
// match-state follower). It is built with the same kafka package and client
// options as arena's modules.
type RawPipeline struct {
	cfg     RawConfig
	clients *kafka.Clients
	logger  *slog.Logger

	producer *kgo.Client
	follower *kgo.Client
	group    *kafka.Group
	srv      *http.Server
	ln       net.Listener
	ready    atomic.Bool
	assigned atomic.Bool // stage one's group has its partitions

	bufMu sync.Mutex
	bufs  map[int32][]*kgo.Record // stage one's batch per partition

	roomMu sync.Mutex
	rooms  map[string]map[*rawSession]struct{}
}

type rawSession struct {
	conn *websocket.Conn
	out  chan []byte
}

// NewRawPipeline checks cfg; it starts nothing.
func NewRawPipeline(cfg RawConfig) (*RawPipeline, error) {
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("raw pipeline: no brokers")
	}
	if cfg.Partitions <= 0 {
		cfg.Partitions = 6
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	clients, err := kafka.NewClients(config.Kafka{}, cfg.Brokers, nil, cfg.Logger)
	if err != nil {
		return nil, err
	}
	return &RawPipeline{cfg: cfg, clients: clients, logger: cfg.Logger, bufs: map[int32][]*kgo.Record{}, rooms: map[string]map[*rawSession]struct{}{}}, nil
}

// Addr is where the server listens, once started.
func (p *RawPipeline) Addr() string { return p.ln.Addr().String() }

// Run creates the topics, starts every stage and serves until ctx ends.
func (p *RawPipeline) Run(ctx context.Context) error {
	var err error
	if p.producer, err = p.clients.New("raw-producer"); err != nil {
		return err
	}
	defer p.producer.Close()
	if err := p.ensureTopics(ctx); err != nil {
		return err
	}
	// Stage two starts at the end offsets as they are now, so it has them
	// before the first frame arrives.
	ends, err := kadm.NewClient(p.producer).ListEndOffsets(ctx, RawOutTopic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("raw pipeline: end offsets: %w", err)
	}
	from := map[int32]kgo.Offset{}
	ends.Each(func(o kadm.ListedOffset) { from[o.Partition] = kgo.NewOffset().At(o.Offset) })
	p.follower, err = p.clients.New("raw-follower",
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{RawOutTopic: from}),
		kgo.FetchMaxWait(500*time.Millisecond))
	if err != nil {
		return err
	}
	defer p.follower.Close()
	p.group, err = kafka.NewGroup(p.clients, kafka.GroupConfig{
		Name: "raw-stage", Group: RawGroup, Topics: []string{RawInTopic},
		Handle: p.handle, Flush: p.flush,
		OnAssigned: func(context.Context, map[string][]int32) error {
			p.assigned.Store(true)
			return nil
		},
		SessionTimeout: 3 * time.Second,
	}, p.logger)
	if err != nil {
		return err
	}
	p.ln, err = net.Listen("tcp", p.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("raw pipeline: listen %s: %w", p.cfg.HTTPAddr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", p.serveWS)
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !p.ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	p.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 3)
	go func() { errc <- p.srv.Serve(p.ln) }()
	go func() { errc <- p.group.Run(ctx) }()
	go func() { errc <- p.follow(ctx) }()
	// Ready once stage one's group has its partitions, so no early frame
	// waits for the group's join.
	for !p.assigned.Load() {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			return err
		case <-time.After(10 * time.Millisecond):
		}
	}
	p.ready.Store(true)
	select {
	case <-ctx.Done():
		err = nil
	case err = <-errc:
	}
	p.ready.Store(false)
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	_ = p.srv.Shutdown(sctx)
	cancel()
	return err
}

func (p *RawPipeline) ensureTopics(ctx context.Context) error {
	adm := kadm.NewClient(p.producer)
	resp, err := adm.CreateTopics(ctx, int32(p.cfg.Partitions), -1, nil, RawInTopic, RawOutTopic)
	if err != nil {
		return fmt.Errorf("raw pipeline topics: %w", err)
	}
	for _, r := range resp {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("raw pipeline topic %s: %w", r.Topic, r.Err)
		}
	}
	return nil
}

// handle is stage one's record handler: it only collects the batch.
func (p *RawPipeline) handle(_ context.Context, r *kgo.Record) error {
	p.bufMu.Lock()
	p.bufs[r.Partition] = append(p.bufs[r.Partition], &kgo.Record{Topic: RawOutTopic, Key: r.Key, Value: r.Value})
	p.bufMu.Unlock()
	return nil
}

// flush produces stage one's batch and waits for the broker, as the
// materializer does with its snapshots.
func (p *RawPipeline) flush(ctx context.Context, _ string, partition int32) (int64, error) {
	p.bufMu.Lock()
	recs := p.bufs[partition]
	delete(p.bufs, partition)
	p.bufMu.Unlock()
	if len(recs) == 0 {
		return math.MaxInt64, nil // everything handled: commit the batch
	}
	if err := p.producer.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		p.bufMu.Lock()
		p.bufs[partition] = append(recs, p.bufs[partition]...)
		p.bufMu.Unlock()
		return 0, err
	}
	return math.MaxInt64, nil
}

// follow is stage two: every record goes to every socket of its room.
func (p *RawPipeline) follow(ctx context.Context) error {
	for {
		fs := p.follower.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if fs.IsClientClosed() {
			return errors.New("raw follower closed")
		}
		fs.EachRecord(func(r *kgo.Record) {
			p.roomMu.Lock()
			for s := range p.rooms[string(r.Key)] {
				select {
				case s.out <- r.Value:
				default: // a client that does not read loses frames, never stalls the rest
				}
			}
			p.roomMu.Unlock()
		})
	}
}

type rawFrame struct {
	ID string `json:"id"`
}

func (p *RawPipeline) serveWS(w http.ResponseWriter, r *http.Request) {
	room := r.URL.Query().Get("room")
	if room == "" || !p.ready.Load() {
		http.Error(w, "no room or not ready", http.StatusBadRequest)
		return
	}
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &rawSession{conn: c, out: make(chan []byte, 256)}
	p.roomMu.Lock()
	if p.rooms[room] == nil {
		p.rooms[room] = map[*rawSession]struct{}{}
	}
	p.rooms[room][s] = struct{}{}
	p.roomMu.Unlock()
	defer func() {
		p.roomMu.Lock()
		delete(p.rooms[room], s)
		if len(p.rooms[room]) == 0 {
			delete(p.rooms, room)
		}
		p.roomMu.Unlock()
	}()
	go func() {
		defer cancel()
		for {
			select {
			case <-ctx.Done():
				return
			case b := <-s.out:
				if err := c.Write(ctx, websocket.MessageText, b); err != nil {
					return
				}
			}
		}
	}()
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		var f rawFrame
		if json.Unmarshal(data, &f) != nil || f.ID == "" {
			continue
		}
		if err := p.producer.ProduceSync(ctx, &kgo.Record{Topic: RawInTopic, Key: []byte(room), Value: data}).FirstErr(); err != nil {
			p.logger.Warn("raw produce failed", "err", err)
			continue
		}
		ack, _ := json.Marshal(map[string]string{"type": "ack", "id": f.ID})
		select {
		case s.out <- ack:
		case <-ctx.Done():
			return
		}
	}
}

// rawLoad drives the raw pipeline: rooms of players sending frames at a
// fixed total rate, each frame timed until every player of its room has it.
type rawLoad struct {
	base    *url.URL
	http    *http.Client
	latency Latencies
	sent    atomic.Int64
	mu      sync.Mutex
	pending map[string]*rawPending
}

type rawPending struct {
	sent time.Time
	left int
}

func newRawLoad(target string) (*rawLoad, error) {
	u, err := url.Parse(strings.TrimSuffix(target, "/"))
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("raw target %q: want a URL", target)
	}
	return &rawLoad{base: u, http: newHTTPClient(), pending: map[string]*rawPending{}}, nil
}

// run connects rooms x players sockets and sends rate frames a second in
// all, spread over the players, until stopAt; then it waits a moment for
// the last frames to come back.
func (l *rawLoad) run(ctx context.Context, rooms, players int, rate float64, stopAt time.Time) error {
	type client struct {
		room string
		conn *websocket.Conn
	}
	clients := make([]*client, 0, rooms*players)
	defer func() {
		for _, c := range clients {
			c.conn.CloseNow()
		}
	}()
	u := *l.base
	u.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	u.Path = "/ws"
	for r := range rooms {
		room := fmt.Sprintf("room-%d", r)
		for range players {
			u.RawQuery = url.Values{"room": {room}}.Encode()
			c, _, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{HTTPClient: l.http})
			if err != nil {
				return fmt.Errorf("raw dial: %w", err)
			}
			clients = append(clients, &client{room: room, conn: c})
		}
	}
	interval := time.Duration(float64(len(clients)) / rate * float64(time.Second))
	var wg sync.WaitGroup
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for i, c := range clients {
		wg.Add(2)
		go func() { // reader
			defer wg.Done()
			for {
				_, data, err := c.conn.Read(rctx)
				if err != nil {
					return
				}
				at := time.Now()
				var f struct {
					Type string `json:"type"`
					ID   string `json:"id"`
				}
				if json.Unmarshal(data, &f) != nil || f.Type == "ack" {
					continue
				}
				l.mu.Lock()
				if p := l.pending[f.ID]; p != nil {
					if p.left--; p.left == 0 {
						delete(l.pending, f.ID)
						l.latency.Add(at.Sub(p.sent))
					}
				}
				l.mu.Unlock()
			}
		}()
		go func() { // writer: one frame every interval, jittered
			defer wg.Done()
			next := time.Now().Add(rand.N(interval + 1))
			for n := 0; ; n++ {
				select {
				case <-time.After(time.Until(next)):
				case <-rctx.Done():
					return
				}
				if time.Now().After(stopAt) {
					return
				}
				id := fmt.Sprintf("%d-%d", i, n)
				b, _ := json.Marshal(map[string]any{"type": "answer", "id": id, "round": 1, "text": "raw pipeline frame of about an answer's size"})
				l.mu.Lock()
				l.pending[id] = &rawPending{sent: time.Now(), left: players}
				l.mu.Unlock()
				if err := c.conn.Write(rctx, websocket.MessageText, b); err != nil {
					return
				}
				l.sent.Add(1)
				next = next.Add(interval/2 + rand.N(interval+1))
			}
		}()
	}
	// Let the writers stop at stopAt, then give the last frames time to
	// come back before the readers are stopped.
	for time.Now().Before(stopAt) && ctx.Err() == nil {
		select {
		case <-time.After(time.Until(stopAt)):
		case <-ctx.Done():
		}
	}
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end) && ctx.Err() == nil; {
		l.mu.Lock()
		left := len(l.pending)
		l.mu.Unlock()
		if left == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	return nil
}
