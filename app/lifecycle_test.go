package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/internal/arenatest"
)

// journal records what the fake services did, in order.
type journal struct {
	mu    sync.Mutex
	lines []string
}

func (j *journal) add(format string, args ...any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.lines = append(j.lines, fmt.Sprintf(format, args...))
}

func (j *journal) all() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.lines)
}

// expect fails the test unless the journal holds want, in order.
func (j *journal) expect(t *testing.T, want []string) {
	t.Helper()
	if got := j.all(); !slices.Equal(got, want) {
		t.Fatalf("journal:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// fakeService is a module whose behaviour each test sets. It writes to the
// journal what happened and whether the process was ready at the time.
type fakeService struct {
	name  string
	j     *journal
	ready *atomic.Bool

	startErr   error
	startBlock bool          // Start waits for its context to end, then returns its error
	runExit    chan error    // Run returns what arrives here (if set), as if it failed
	runPanic   chan struct{} // Run panics when this closes (if set)
	ignoreStop bool          // Run never returns
}

func (f *fakeService) Name() string { return f.name }

func (f *fakeService) Start(ctx context.Context) error {
	f.j.add("start %s ready=%v", f.name, f.ready.Load())
	if f.startBlock {
		<-ctx.Done()
		return ctx.Err()
	}
	return f.startErr
}

func (f *fakeService) Run(ctx context.Context) error {
	switch {
	case f.ignoreStop:
		select {}
	case f.runExit != nil:
		select {
		case err := <-f.runExit:
			return err
		case <-ctx.Done():
		}
	case f.runPanic != nil:
		select {
		case <-f.runPanic:
			panic("nil map write in " + f.name)
		case <-ctx.Done():
		}
	default:
		<-ctx.Done()
	}
	f.j.add("run-end %s ready=%v", f.name, f.ready.Load())
	return nil
}

func (f *fakeService) Stop(context.Context) error {
	f.j.add("stop %s ready=%v", f.name, f.ready.Load())
	return nil
}

type lifecycleRig struct {
	j     *journal
	ready *atomic.Bool
	logs  *arenatest.Buffer
	lc    *lifecycle
	fakes map[string]*fakeService
}

func newRig(names ...string) *lifecycleRig {
	r := &lifecycleRig{j: &journal{}, ready: new(atomic.Bool), logs: &arenatest.Buffer{}, fakes: map[string]*fakeService{}}
	var services []Service
	for _, n := range names {
		f := &fakeService{name: n, j: r.j, ready: r.ready}
		r.fakes[n] = f
		services = append(services, f)
	}
	logger := slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r.lc = &lifecycle{services: services, logger: logger, ready: r.ready, stopTimeout: 5 * time.Second}
	return r
}

// start runs the lifecycle in the background; the returned channel yields
// its result.
func (r *lifecycleRig) start(ctx context.Context) <-chan error {
	done := make(chan error, 1)
	go func() { done <- r.lc.run(ctx) }()
	return done
}

func (r *lifecycleRig) waitReady(t *testing.T) {
	t.Helper()
	waitFor(t, "readiness", func() bool { return r.ready.Load() })
}

// waitFor polls cond for up to 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	arenatest.WaitFor(t, 30*time.Second, 5*time.Millisecond, what, cond)
}

func result(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("lifecycle did not return")
		return nil
	}
}

func TestLifecycleStartsInOrderAndStopsInReverse(t *testing.T) {
	r := newRig("broker", "server", "gateway")
	ctx, cancel := context.WithCancel(context.Background())
	done := r.start(ctx)
	r.waitReady(t)
	cancel()
	if err := result(t, done); err != nil {
		t.Fatalf("run after a signal = %v, want nil", err)
	}
	// Every start happens before readiness; every module is stopped after
	// readiness went false, the last started first, and each one's Run has
	// ended before its Stop and before the next module is told to stop.
	want := []string{
		"start broker ready=false",
		"start server ready=false",
		"start gateway ready=false",
		"run-end gateway ready=false",
		"stop gateway ready=false",
		"run-end server ready=false",
		"stop server ready=false",
		"run-end broker ready=false",
		"stop broker ready=false",
	}
	r.j.expect(t, want)
	if r.ready.Load() {
		t.Fatal("still ready after the lifecycle returned")
	}
}

func TestLifecycleOneModuleFailingStopsAllAndNamesIt(t *testing.T) {
	r := newRig("broker", "materializer", "gateway")
	r.fakes["materializer"].runExit = make(chan error, 1)
	done := r.start(context.Background())
	r.waitReady(t)
	boom := errors.New("match-state: produce failed")
	r.fakes["materializer"].runExit <- boom

	err := result(t, done)
	if err == nil || !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "materializer: ") {
		t.Fatalf("run = %v, want an error naming materializer and wrapping its cause", err)
	}
	got := r.j.all()
	for _, want := range []string{"stop gateway ready=false", "stop materializer ready=false", "stop broker ready=false"} {
		if !slices.Contains(got, want) {
			t.Errorf("journal lacks %q:\n%s", want, strings.Join(got, "\n"))
		}
	}
	if i, k := slices.Index(got, "stop gateway ready=false"), slices.Index(got, "stop broker ready=false"); i > k {
		t.Errorf("broker stopped before gateway:\n%s", strings.Join(got, "\n"))
	}
	logs := r.logs.String()
	if !strings.Contains(logs, `msg="module failed; stopping" module=materializer`) || !strings.Contains(logs, "produce failed") {
		t.Errorf("log does not name the failed module and its error:\n%s", logs)
	}
	// The root cause is said once: the modules stopped because of it are
	// not reported as failures of their own.
	if n := strings.Count(logs, "level=ERROR"); n != 1 {
		t.Errorf("%d error lines, want 1:\n%s", n, logs)
	}
}

func TestLifecycleModuleReturningEarlyIsAFailure(t *testing.T) {
	r := newRig("server", "robot")
	r.fakes["robot"].runExit = make(chan error, 1)
	done := r.start(context.Background())
	r.waitReady(t)
	r.fakes["robot"].runExit <- nil
	err := result(t, done)
	if err == nil || err.Error() != "robot: stopped unexpectedly" {
		t.Fatalf("run = %v, want robot: stopped unexpectedly", err)
	}
	if !slices.Contains(r.j.all(), "stop server ready=false") {
		t.Fatalf("server not stopped: %v", r.j.all())
	}
}

func TestLifecyclePanicStopsInOrderAndNamesModule(t *testing.T) {
	r := newRig("server", "orchestrator", "gateway")
	r.fakes["orchestrator"].runPanic = make(chan struct{})
	done := r.start(context.Background())
	r.waitReady(t)
	close(r.fakes["orchestrator"].runPanic)
	err := result(t, done)
	if err == nil || !strings.HasPrefix(err.Error(), "orchestrator: panic: nil map write in orchestrator") {
		t.Fatalf("run = %v, want an orchestrator panic error", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error carries the stack; it belongs in the log: %q", err)
	}
	if !strings.Contains(r.logs.String(), `msg="module panicked" module=orchestrator`) {
		t.Errorf("log does not name the panicking module:\n%s", r.logs.String())
	}
	got := r.j.all()
	for _, want := range []string{"stop gateway ready=false", "stop orchestrator ready=false", "stop server ready=false"} {
		if !slices.Contains(got, want) {
			t.Errorf("journal lacks %q:\n%s", want, strings.Join(got, "\n"))
		}
	}
}

func TestLifecycleFailedStartStopsWhatStarted(t *testing.T) {
	r := newRig("broker", "server", "topics", "gateway")
	r.fakes["topics"].startErr = errors.New("brokers [127.0.0.1:9] unreachable")
	err := result(t, r.start(context.Background()))
	if err == nil || !strings.HasPrefix(err.Error(), "topics: brokers") {
		t.Fatalf("run = %v, want an error naming topics", err)
	}
	want := []string{
		"start broker ready=false",
		"start server ready=false",
		"start topics ready=false",
		// gateway never starts; topics never started, so is not stopped.
		"stop server ready=false",
		"stop broker ready=false",
	}
	r.j.expect(t, want)
	if !strings.Contains(r.logs.String(), `msg="module failed to start" module=topics`) {
		t.Errorf("log does not name the module:\n%s", r.logs.String())
	}
}

func TestLifecycleSignalDuringStartIsAStop(t *testing.T) {
	r := newRig("server", "topics", "gateway")
	r.fakes["topics"].startBlock = true
	ctx, cancel := context.WithCancel(context.Background())
	done := r.start(ctx)
	waitFor(t, "topics to start", func() bool { return slices.Contains(r.j.all(), "start topics ready=false") })
	cancel()
	if err := result(t, done); err != nil {
		t.Fatalf("run = %v, want nil: a signal while starting is not a failure", err)
	}
	want := []string{"start server ready=false", "start topics ready=false", "stop server ready=false"}
	r.j.expect(t, want)
}

func TestLifecycleModuleThatIgnoresStopDoesNotHangShutdown(t *testing.T) {
	r := newRig("server", "robot")
	r.fakes["robot"].ignoreStop = true
	r.lc.stopTimeout = 50 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := r.start(ctx)
	r.waitReady(t)
	cancel()
	if err := result(t, done); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.logs.String(), `msg="module did not stop in time" module=robot`) {
		t.Errorf("log does not name the module that hung:\n%s", r.logs.String())
	}
	got := r.j.all()
	if !slices.Contains(got, "stop robot ready=false") || !slices.Contains(got, "stop server ready=false") {
		t.Fatalf("not everything stopped: %v", got)
	}
}

// drainProbe is a module that, when stopped, asks the real HTTP server
// whether the process is ready: it must say no, and must still answer.
type drainProbe struct {
	url    func() string
	status chan int
}

func (p *drainProbe) Name() string                  { return "gateway" }
func (p *drainProbe) Start(context.Context) error   { return nil }
func (p *drainProbe) Run(ctx context.Context) error { <-ctx.Done(); return nil }
func (p *drainProbe) Stop(context.Context) error {
	resp, err := http.Get(p.url() + "/readyz")
	if err != nil {
		p.status <- -1
		return err
	}
	resp.Body.Close()
	p.status <- resp.StatusCode
	return nil
}

func TestServerReadinessFalseWhileDrainingAndStopsAfterModules(t *testing.T) {
	cfg := config.Default()
	cfg.HTTP.Addr = "127.0.0.1:0"
	d := &deps{cfg: cfg, logger: discardLogger(), registry: prometheus.NewRegistry(),
		mux: http.NewServeMux(), ready: new(atomic.Bool)}
	svc, err := newServer(d)
	if err != nil {
		t.Fatal(err)
	}
	srv := svc.(*server)
	url := func() string { return "http://" + srv.ln.Addr().String() }
	probe := &drainProbe{url: url, status: make(chan int, 1)}
	lc := &lifecycle{services: []Service{srv, probe}, logger: d.logger, ready: d.ready, stopTimeout: 5 * time.Second}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- lc.run(ctx) }()
	waitFor(t, "readiness", d.ready.Load)

	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200} {
		resp, err := http.Get(url() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, want)
		}
	}
	addr := srv.ln.Addr().String()
	cancel()
	if err := result(t, done); err != nil {
		t.Fatal(err)
	}
	if got := <-probe.status; got != http.StatusServiceUnavailable {
		t.Fatalf("/readyz while the gateway drained = %d, want 503 from a server still up", got)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("HTTP server still listening after shutdown")
	}
}
