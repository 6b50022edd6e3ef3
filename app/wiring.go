package app

import (
	"context"

	"github.com/arena-hq/arena/modules/gateway"
	"github.com/arena-hq/arena/modules/materializer"
)

// idle stands in for a role whose module is not built yet: it runs the
// lifecycle for real and logs that it runs.
type idle struct {
	name string
	d    *deps
}

func (s *idle) Name() string { return s.name }
func (s *idle) Start(context.Context) error {
	s.d.logger.Info("module running", "module", s.name)
	return nil
}
func (s *idle) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}
func (s *idle) Stop(context.Context) error { return nil }

func newMaterializer(d *deps) (Service, error) {
	return materializer.New(d.clients, d.logger), nil
}
func newOrchestrator(d *deps) (Service, error) { return &idle{Orchestrator, d}, nil }
func newRobot(d *deps) (Service, error)        { return &idle{Robot, d}, nil }
func newGateway(d *deps) (Service, error) {
	return gateway.New(gateway.Deps{Config: d.cfg, Clients: d.clients, Mux: d.mux, Registry: d.registry, Logger: d.logger})
}
