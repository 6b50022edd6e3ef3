package robot

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/arena-hq/arena/modules/llm"
)

type metrics struct {
	calls     *prometheus.HistogramVec // model calls by personality, model and outcome
	skipped   *prometheus.CounterVec   // commands that arrived past their deadline
	fallbacks *prometheus.CounterVec   // votes that fell back to a random seat
	replies   *prometheus.HistogramVec // command to reply, by personality and kind
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		calls: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "arena_robot_model_call_seconds",
			Help:    "Model call latency, retries included, by personality, model and outcome (ok or error).",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32},
		}, []string{"personality", "model", "outcome"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "arena_robot_commands_expired_total", Help: "Robot commands skipped because their window had closed.",
		}, []string{"personality"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "arena_robot_vote_fallbacks_total", Help: "Robot votes that fell back to a random seat after a bad or failed model reply.",
		}, []string{"personality"}),
		replies: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "arena_robot_reply_seconds",
			Help: "Robot end-to-end time from the orchestrator's command to the reply published on robot-events " +
				"(model call, human-like wait and Kafka hop included), by personality and kind (answer or vote).",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64},
		}, []string{"personality", "kind"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.calls, m.skipped, m.fallbacks, m.replies} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) observe(personality string, resp llm.Response, err error, took interface{ Seconds() float64 }) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	model := resp.Model
	if model == "" {
		model = "unknown"
	}
	m.calls.WithLabelValues(personality, model, outcome).Observe(took.Seconds())
}
