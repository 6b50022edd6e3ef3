package app

import (
	"github.com/arena-hq/arena/modules/gateway"
	"github.com/arena-hq/arena/modules/llm"
	"github.com/arena-hq/arena/modules/materializer"
	"github.com/arena-hq/arena/modules/orchestrator"
	"github.com/arena-hq/arena/modules/robot"
)

func newMaterializer(d *deps) (Service, error) {
	return materializer.New(d.clients, d.logger), nil
}

func newOrchestrator(d *deps) (Service, error) {
	return orchestrator.New(d.clients, d.registry, d.logger)
}

func newRobot(d *deps) (Service, error) {
	model, err := llm.New(d.cfg.LLM, d.logger)
	if err != nil {
		return nil, err
	}
	return robot.New(d.cfg, d.clients, model, d.registry, d.logger)
}

func newGateway(d *deps) (Service, error) {
	return gateway.New(gateway.Deps{Config: d.cfg, Clients: d.clients, Mux: d.mux, Registry: d.registry, Logger: d.logger})
}
