package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/arena-hq/arena/modules/kafka"
)

// brokerService runs the embedded broker, holding the lock on its data
// directory while it runs.
type brokerService struct{ b *embeddedBroker }

func newBrokerService(d *deps) (Service, error) {
	b, err := newEmbeddedBroker(d.cfg, d.cfg.Kafka.EmbeddedAddr, d.logger)
	if err != nil {
		return nil, err
	}
	if d.repairBroker {
		b.SetRepair()
	}
	return &brokerService{b}, nil
}

func (s *brokerService) Name() string                  { return Broker }
func (s *brokerService) Start(context.Context) error   { return s.b.Start() }
func (s *brokerService) Run(ctx context.Context) error { <-ctx.Done(); return nil }
func (s *brokerService) Stop(context.Context) error    { s.b.Close(); return nil }

// Ready is false while the data directory takes no writes.
func (s *brokerService) Ready() error { return s.b.Ready() }

// server is the HTTP server every role runs: /healthz, /readyz, /metrics,
// and whatever routes the gateway registers on the shared mux.
type server struct {
	d   *deps
	srv *http.Server
	ln  net.Listener
	err chan error

	refused prometheus.Counter // connections over http.limits.max_connections
	admin   *http.Server       // /metrics on http.admin_addr, when set
}

func newServer(d *deps) (Service, error) {
	d.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	d.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		if !d.ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready: starting or stopping\n"))
			return
		}
		if problems := d.checks.problems(); len(problems) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready\n" + strings.Join(problems, "\n") + "\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	metrics := promhttp.HandlerFor(d.registry, promhttp.HandlerOpts{Registry: d.registry})
	var admin *http.Server
	switch h := d.cfg.HTTP; {
	case h.AdminAddr != "":
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metrics)
		admin = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	case h.MetricsOnAddr():
		d.mux.Handle("GET /metrics", metrics)
	}
	refused := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "arena_http_connections_refused_total",
		Help: "HTTP connections answered 503 because the server held http.limits.max_connections.",
	})
	if err := d.registry.Register(refused); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	t := d.cfg.HTTP.Timeouts
	return &server{d: d, err: make(chan error, 2), refused: refused, admin: admin, srv: &http.Server{
		Handler:           d.mux,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		ErrorLog:          nil,
	}}, nil
}

func (s *server) Name() string { return Server }

func (s *server) Start(context.Context) error {
	ln, err := net.Listen("tcp", s.d.cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("http.addr %s: %w", s.d.cfg.HTTP.Addr, err)
	}
	files := raiseFileLimit()
	maxConns := connCap(s.d.cfg.HTTP.Limits.MaxConnections, files)
	s.ln = newCappedListener(ln, maxConns, s.refused.Inc)
	s.d.logger.Info("http listening", "addr", "http://"+ln.Addr().String(), "max_connections", maxConns, "file_limit", files)
	go func() { s.err <- s.srv.Serve(s.ln) }()
	switch h := s.d.cfg.HTTP; {
	case s.admin != nil:
		aln, err := net.Listen("tcp", h.AdminAddr)
		if err != nil {
			return fmt.Errorf("http.admin_addr %s: %w", h.AdminAddr, err)
		}
		s.d.logger.Info("metrics listening", "addr", "http://"+aln.Addr().String()+"/metrics")
		go func() { s.err <- s.admin.Serve(aln) }()
	case !h.MetricsOnAddr():
		s.d.logger.Warn("no /metrics: http.addr is reachable by players, and counters would tell them which seats are robots; set http.admin_addr (e.g. 127.0.0.1:9090) to serve it there",
			"http_addr", h.Addr)
	}
	return nil
}

func (s *server) Run(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-s.err:
		return err
	}
}

func (s *server) Stop(ctx context.Context) error {
	if s.admin != nil {
		_ = s.admin.Shutdown(ctx)
	}
	if err := s.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// topicsService makes sure the topics exist before any consumer starts.
type topicsService struct{ d *deps }

func newTopicsService(d *deps) (Service, error) { return &topicsService{d}, nil }

func (s *topicsService) Name() string { return Topics }

func (s *topicsService) Start(ctx context.Context) error {
	cl, err := s.d.clients.New("topics")
	if err != nil {
		return err
	}
	defer cl.Close()
	// Brokers may still be starting (a split deployment's processes come up
	// in any order): keep trying for a while before giving up.
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		statuses, err := kafka.PrepareTopics(ctx, s.d.clients, cl, kafka.TopicOptionsFrom(s.d.cfg.Kafka, false))
		if err == nil || errors.Is(err, kafka.ErrTopicMismatch) || errors.Is(err, kafka.ErrTopicDrift) {
			for _, st := range statuses {
				if st.Created {
					s.d.logger.Info("topic created", "topic", st.Name, "partitions", st.Partitions)
				}
				for _, is := range st.Open() {
					if !is.Fatal {
						s.d.logger.Warn("topic setting differs from arena's (run arena topics)", "topic", st.Name, "issue", is.String())
					}
				}
			}
			if errors.Is(err, kafka.ErrTopicDrift) {
				return nil // nothing arena needs is at risk
			}
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("brokers %v unreachable: %w", s.d.cfg.BrokerAddrs(), err)
		}
		s.d.logger.Warn("waiting for brokers", "brokers", s.d.cfg.BrokerAddrs(), "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (s *topicsService) Run(ctx context.Context) error { <-ctx.Done(); return nil }
func (s *topicsService) Stop(context.Context) error    { return nil }
