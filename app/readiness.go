package app

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// ReadinessChecker is implemented by a module that can tell whether it can
// do its job right now: a consumer group whose partitions nobody moves, a
// broker whose data directory takes no writes. Ready returns nil or the
// reason, in words an operator can act on. It is called on every /readyz
// and every couple of seconds besides, from any goroutine: it must be
// cheap and must not block on the network.
type ReadinessChecker interface {
	Ready() error
}

// readiness collects the modules' checks for /readyz and logs each change
// of a module's readiness once (WARN when it stops being able to work,
// INFO when it recovers), whether or not anyone polls /readyz.
type readiness struct {
	logger *slog.Logger
	up     *atomic.Bool // the lifecycle's: started and not draining

	mu      sync.Mutex
	checks  []namedCheck
	failing map[string]string // module -> reason last logged
}

type namedCheck struct {
	module string
	check  ReadinessChecker
}

func newReadiness(logger *slog.Logger, up *atomic.Bool) *readiness {
	return &readiness{logger: logger, up: up, failing: map[string]string{}}
}

func (r *readiness) add(module string, c ReadinessChecker) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checks = append(r.checks, namedCheck{module, c})
}

// problems runs every check and returns "module: reason" for each failing
// one, in module order. Nil means ready.
func (r *readiness) problems() []string {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	checks := append([]namedCheck(nil), r.checks...)
	r.mu.Unlock()
	var out []string
	now := map[string]string{}
	for _, c := range checks {
		if err := c.check.Ready(); err != nil {
			now[c.module] = err.Error()
			out = append(out, c.module+": "+err.Error())
		}
	}
	sort.Strings(out)
	r.mu.Lock()
	defer r.mu.Unlock()
	for m, reason := range now {
		if r.failing[m] != reason {
			r.logger.Warn("module not ready", "module", m, "reason", reason)
		}
	}
	for m := range r.failing {
		if _, still := now[m]; !still {
			r.logger.Info("module ready again", "module", m)
		}
	}
	r.failing = now
	return out
}

// watch runs the checks every interval while the process is up, so that a
// module going unready is logged even when nothing polls /readyz.
func (r *readiness) watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if r.up.Load() {
				r.problems()
			}
		}
	}
}
