package app

import (
	"context"

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
	if o, ok := model.(*llm.OpenAI); ok {
		// One test call per model, in the background: a model the server
		// lacks is one ERROR line at start, not a match of "(no answer)".
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), d.cfg.LLM.Timeout)
			defer cancel()
			llm.LogModelChecks(d.logger, o.Server(), llm.CheckModels(ctx, o, d.cfg.ActivePersonalities(), d.cfg.LLM.Model))
		}()
	}
	return robot.New(robot.ConfigFrom(d.cfg), d.clients, model, d.registry, d.logger)
}

func newGateway(d *deps) (Service, error) {
	return gateway.New(gateway.Deps{Config: gateway.ConfigFrom(d.cfg), Clients: d.clients, Mux: d.mux, Registry: d.registry, Logger: d.logger})
}
