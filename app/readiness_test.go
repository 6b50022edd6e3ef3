package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/internal/arenatest"
)

// checker is a module whose readiness the test sets.
type checker struct {
	mu  sync.Mutex
	err error
}

func (c *checker) Ready() error              { c.mu.Lock(); defer c.mu.Unlock(); return c.err }
func (c *checker) set(err error)             { c.mu.Lock(); defer c.mu.Unlock(); c.err = err }
func (c *checker) Name() string              { return "materializer" }
func (*checker) Start(context.Context) error { return nil }
func (*checker) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}
func (*checker) Stop(context.Context) error { return nil }

func TestReadyzSaysWhichModuleCannotWorkAndWhy(t *testing.T) {
	var logs arenatest.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	cfg := config.Default()
	cfg.HTTP.Addr = "127.0.0.1:0"
	ready := new(atomic.Bool)
	d := &deps{cfg: cfg, logger: logger, registry: prometheus.NewRegistry(), mux: http.NewServeMux(), ready: ready, checks: newReadiness(logger, ready)}
	srv, err := newServer(d)
	if err != nil {
		t.Fatal(err)
	}
	mod := &checker{}
	d.checks.add(mod.Name(), mod)
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop(context.Background())
	url := "http://" + srv.(*server).ln.Addr().String() + "/readyz"
	readyz := func() (int, string) {
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if st, body := readyz(); st != 503 || !strings.Contains(body, "starting") {
		t.Fatalf("before start-up ended: %d %q", st, body)
	}
	ready.Store(true)
	if st, body := readyz(); st != 200 {
		t.Fatalf("all ready: %d %q", st, body)
	}
	mod.set(errors.New("group arena-materializer: match-events/2 is 5 records behind"))
	st, body := readyz()
	if st != 503 || !strings.Contains(body, "materializer: group arena-materializer: match-events/2 is 5 records behind") {
		t.Fatalf("module unready: %d %q", st, body)
	}
	readyz() // a second poll logs nothing new
	if n := strings.Count(logs.String(), "module not ready"); n != 1 || !strings.Contains(logs.String(), "match-events/2") {
		t.Fatalf("want one WARN with the reason, log:\n%s", logs.String())
	}
	mod.set(nil)
	if st, _ := readyz(); st != 200 {
		t.Fatalf("recovered: %d", st)
	}
	if !strings.Contains(logs.String(), "module ready again") {
		t.Fatalf("recovery not logged:\n%s", logs.String())
	}
	// The watch logs without anyone polling.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.checks.watch(ctx, 20*time.Millisecond)
	mod.set(errors.New("data dir x is not writable"))
	deadline := time.Now().Add(3 * time.Second)
	for !strings.Contains(logs.String(), "data dir x is not writable") {
		if time.Now().After(deadline) {
			t.Fatal("the watch did not log the change")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
