package kafka

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Package-level collectors, registered once per process by RegisterMetrics.
// Labels are bounded: group and topic names, never match ids.
var (
	consumed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "arena_records_consumed_total",
		Help: "Records handled by a consumer group, by group and topic.",
	}, []string{"group", "topic"})
	deadLettered = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "arena_records_dead_lettered_total",
		Help: "Records a consumer group gave up on and sent to the dead-letter topic.",
	}, []string{"group", "topic"})
)

// RegisterMetrics adds the package's collectors to reg. Registering twice
// with the same registry is not an error.
func RegisterMetrics(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{consumed, deadLettered} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return err
			}
		}
	}
	return nil
}
