package orchestrator

import (
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	deadlines  *prometheus.CounterVec // by phase
	commands   *prometheus.CounterVec // by kind
	replies    *prometheus.CounterVec // robot-events folded back, by type
	extensions prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		deadlines: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "arena_orchestrator_deadlines_total", Help: "Deadline facts published, by phase.",
		}, []string{"phase"}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "arena_orchestrator_robot_commands_total", Help: "Robot commands sent, by kind.",
		}, []string{"kind"}),
		replies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "arena_orchestrator_robot_replies_total", Help: "Robot events folded back into match-events, by type.",
		}, []string{"type"}),
		extensions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "arena_orchestrator_window_extensions_total", Help: "Windows extended for the time the clock was down (window.extended published).",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.deadlines, m.commands, m.replies, m.extensions} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
