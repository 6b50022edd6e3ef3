package gateway

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/arena-hq/arena/modules/events"
)

// metrics are the gateway's collectors. Labels are bounded: action types,
// result codes and phases, never match ids.
type metrics struct {
	connections prometheus.Gauge
	actions     *prometheus.CounterVec
	broadcast   prometheus.Histogram
	live        *prometheus.GaugeVec
	skipped     prometheus.Counter
}

// Results of an action besides the error codes sent to clients.
const (
	resultOK        = "ok"
	resultThrottled = "throttled" // a typing signal dropped by the per-seat throttle
)

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "arena_ws_connections",
			Help: "Open WebSocket connections of players.",
		}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "arena_gateway_actions_total",
			Help: "Player actions (WebSocket frames and API calls) by type and result: ok, throttled or the error code sent back.",
		}, []string{"type", "result"}),
		broadcast: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "arena_action_broadcast_seconds",
			Help: "Time from producing a player's event to this gateway's fold judging it and offering the views that show it to its sockets.",
			// Fine at the low end: the target is a few milliseconds (docs/performance.md).
			Buckets: []float64{.0005, .001, .002, .003, .005, .0075, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		live: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "arena_live_matches",
			Help: "Matches not yet finished, by phase, in this gateway's fold of match-events.",
		}, []string{"phase"}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "arena_gateway_records_skipped_total",
			Help: "match-events records the gateway's fold skipped as malformed or misplaced (the materializer dead-letters them).",
		}),
	}
	for _, p := range []string{events.PhaseLobby, events.PhaseAnswering, events.PhaseVoting, events.PhaseResults} {
		m.live.WithLabelValues(p)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.connections, m.actions, m.broadcast, m.live, m.skipped} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// phaseChanged moves a match from one phase to another in the live gauge;
// "" stands for not known yet, and finished matches are not live.
func (m *metrics) phaseChanged(from, to string) {
	if from == to {
		return
	}
	if from != "" && from != events.PhaseFinished {
		m.live.WithLabelValues(from).Dec()
	}
	if to != "" && to != events.PhaseFinished {
		m.live.WithLabelValues(to).Inc()
	}
}
