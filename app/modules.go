package app

import (
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/modules/kafka"
)

// Module names. Roles are the ones an operator may name in --role; the
// others are infrastructure pulled in by dependencies.
const (
	Broker       = "broker" // the embedded broker; only with --all and no kafka.brokers
	Server       = "server" // HTTP: health, readiness, metrics (and the gateway's routes)
	Topics       = "topics" // creates and checks topics before anyone uses them
	Materializer = "materializer"
	Orchestrator = "orchestrator"
	Robot        = "robot"
	Gateway      = "gateway"
	All          = "all"
)

// moduleSpec is one row of the role table.
type moduleSpec struct {
	deps []string
	role bool // may be named in --role
	new  func(*deps) (Service, error)
}

// modules is the whole dependency graph, in one place. Nothing else in the
// code base asks which role it runs as.
var modules = map[string]moduleSpec{
	Broker:       {new: newBrokerService},
	Server:       {new: newServer},
	Topics:       {deps: []string{Server}, new: newTopicsService},
	Materializer: {deps: []string{Topics}, role: true, new: newMaterializer},
	Orchestrator: {deps: []string{Topics}, role: true, new: newOrchestrator},
	Robot:        {deps: []string{Topics}, role: true, new: newRobot},
	Gateway:      {deps: []string{Topics}, role: true, new: newGateway},
	All:          {deps: []string{Broker, Materializer, Orchestrator, Robot, Gateway}},
}

// startOrder is the order modules start in, derived from the table: every
// module after its dependencies, and modules that do not depend on each
// other in the order All lists them. They stop in reverse, so the gateway
// drains first, the HTTP server stops after every consumer and the broker
// last.
var startOrder = dependencyOrder(All)

// dependencyOrder lists root's dependencies depth first, each after its own
// dependencies (root itself left out when it builds nothing, like All).
func dependencyOrder(root string) []string {
	var out []string
	seen := map[string]bool{}
	var visit func(string)
	visit = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		for _, d := range modules[name].deps {
			visit(d)
		}
		if modules[name].new != nil {
			out = append(out, name)
		}
	}
	visit(root)
	return out
}

// Roles lists the names accepted by --role.
func Roles() []string {
	var out []string
	for name, m := range modules {
		if m.role {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// resolve expands targets (role names or "all") into the modules to run, in
// start order. The embedded broker is only started when no brokers are
// configured.
func resolve(targets []string, embedded bool) ([]string, error) {
	want := map[string]bool{}
	var visit func(string) error
	visit = func(name string) error {
		m, ok := modules[name]
		if !ok {
			return fmt.Errorf("unknown role %q (want %s or all)", name, strings.Join(Roles(), ", "))
		}
		if want[name] {
			return nil
		}
		want[name] = true
		for _, d := range m.deps {
			if err := visit(d); err != nil {
				return err
			}
		}
		return nil
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("no role: pass --all or --role=%s", strings.Join(Roles(), ","))
	}
	for _, t := range targets {
		t = strings.TrimSpace(t)
		// Infrastructure modules (broker, server, topics) come with the
		// roles that need them; on their own they would run nothing.
		if m, ok := modules[t]; ok && !m.role && t != All {
			return nil, fmt.Errorf("%q is not a role (want %s or all)", t, strings.Join(Roles(), ", "))
		}
		if err := visit(t); err != nil {
			return nil, err
		}
	}
	if !embedded {
		delete(want, Broker)
	}
	var out []string
	for _, name := range startOrder {
		if want[name] {
			out = append(out, name)
		}
	}
	return out, nil
}

// deps is what module constructors share.
type deps struct {
	cfg      config.Config
	logger   *slog.Logger
	registry *prometheus.Registry
	mux      *http.ServeMux
	ready    *atomic.Bool
	checks   *readiness // the modules' ReadinessCheckers, for /readyz
	clients  *kafka.Clients

	repairBroker bool // serve --repair-broker
}

// build constructs the services for the resolved module names.
func build(names []string, d *deps) ([]Service, error) {
	var out []Service
	for _, name := range names {
		m := modules[name]
		if m.new == nil {
			continue
		}
		s, err := m.new(d)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if rc, ok := s.(ReadinessChecker); ok && d.checks != nil {
			d.checks.add(s.Name(), rc)
		}
		out = append(out, s)
	}
	return out, nil
}
