package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// Service is one module of the process. Constructors build a Service and
// start nothing; the lifecycle below drives it:
//
//   - Start prepares (listens, creates clients, bootstraps state) and returns.
//     An error aborts start-up.
//   - Run does the work until its context is cancelled, then returns nil.
//     Returning earlier, with or without an error, stops the whole process.
//   - Stop releases what Start took. It runs after Run returned, or after a
//     failed start of a later service.
type Service interface {
	Name() string
	Start(ctx context.Context) error
	Run(ctx context.Context) error
	Stop(ctx context.Context) error
}

// lifecycle starts services in order and stops them in reverse order: the
// gateway (and its sockets) first, then the consumers, then the HTTP server,
// then the embedded broker. Readiness is true only between the end of
// start-up and the start of draining.
//
// A hand-written sequence rather than dskit/services or oklog/run: neither
// stops services one after another in a fixed order without pulling in much
// more than these hundred lines.
type lifecycle struct {
	services    []Service
	logger      *slog.Logger
	ready       *atomic.Bool
	stopTimeout time.Duration
	drainDelay  time.Duration // http.drain_delay: unready but serving, before stopping
}

type exit struct {
	idx int
	err error
}

// run blocks until ctx is cancelled (a signal) or a service fails, then stops
// everything. The returned error names the module that failed first.
func (l *lifecycle) run(ctx context.Context) error {
	started := 0
	for _, s := range l.services {
		l.logger.Debug("starting module", "module", s.Name())
		if err := l.protect(s, func() error { return s.Start(ctx) }); err != nil {
			// A signal during start-up is a request to stop, not a failure:
			// the module gave up because it was told to.
			interrupted := ctx.Err() != nil
			if interrupted {
				l.logger.Info("start-up interrupted", "module", s.Name(), "reason", context.Cause(ctx))
			} else {
				l.logger.Error("module failed to start", "module", s.Name(), "err", err)
			}
			l.stopStarted(started)
			if interrupted {
				return nil
			}
			return fmt.Errorf("%s: %w", s.Name(), err)
		}
		started++
	}

	cancels := make([]context.CancelFunc, len(l.services))
	exits := make(chan exit, len(l.services))
	done := make([]chan struct{}, len(l.services))
	for i, s := range l.services {
		sctx, cancel := context.WithCancel(context.Background())
		cancels[i], done[i] = cancel, make(chan struct{})
		go func() {
			defer close(done[i])
			err := l.protect(s, func() error { return s.Run(sctx) })
			if sctx.Err() == nil { // it returned on its own: that stops the process
				if err == nil {
					err = errors.New("stopped unexpectedly")
				}
				exits <- exit{i, err}
			}
		}()
	}
	l.ready.Store(true)
	l.logger.Info("arena ready", "modules", names(l.services))

	var failure error
	select {
	case <-ctx.Done():
		l.logger.Info("shutting down", "reason", context.Cause(ctx))
	case e := <-exits:
		// Say the root cause once; the modules stopped because of it are
		// not failures of their own.
		name := l.services[e.idx].Name()
		l.logger.Error("module failed; stopping", "module", name, "err", e.err)
		failure = fmt.Errorf("%s: %w", name, e.err)
	}
	l.ready.Store(false)
	if failure == nil && l.drainDelay > 0 {
		// Load balancers see /readyz fail and move players away while
		// every module still serves them.
		l.logger.Info("draining: /readyz now 503, still serving", "drain_delay", l.drainDelay)
		time.Sleep(l.drainDelay)
	}

	for i := len(l.services) - 1; i >= 0; i-- {
		cancels[i]()
		select {
		case <-done[i]:
		case <-time.After(l.stopTimeout):
			l.logger.Warn("module did not stop in time", "module", l.services[i].Name(), "timeout", l.stopTimeout)
		}
		l.stopOne(l.services[i])
	}
	return failure
}

func (l *lifecycle) stopStarted(n int) {
	for i := n - 1; i >= 0; i-- {
		l.stopOne(l.services[i])
	}
}

func (l *lifecycle) stopOne(s Service) {
	ctx, cancel := context.WithTimeout(context.Background(), l.stopTimeout)
	defer cancel()
	if err := l.protect(s, func() error { return s.Stop(ctx) }); err != nil {
		l.logger.Warn("module stop failed", "module", s.Name(), "err", err)
	}
}

func names(ss []Service) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Name()
	}
	return out
}

// protect turns a panic in a module into an error, so that one module's
// bug stops the process in order, with a log line that names the module,
// instead of tearing it down mid-write. The stack goes to the log only.
func (l *lifecycle) protect(s Service, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			l.logger.Error("module panicked", "module", s.Name(), "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return fn()
}
