package kafka

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Package-level collectors, registered once per process by RegisterMetrics.
// Labels are bounded: group, topic and partition numbers, never match ids.
var (
	consumed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "arena_records_consumed_total",
		Help: "Records handled by a consumer group, by group and topic.",
	}, []string{"group", "topic"})
	deadLettered = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "arena_records_dead_lettered_total",
		Help: "Records a consumer group gave up on and sent to the dead-letter topic.",
	}, []string{"group", "topic"})
	produced = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "arena_records_produced_total",
		Help: "Records the broker acknowledged, by topic (every client of the process).",
	}, []string{"topic"})
	produceFailed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "arena_records_produce_failed_total",
		Help: "Records whose produce failed, by topic.",
	}, []string{"topic"})
	consumerLag = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "arena_consumer_lag",
		Help: "Records behind the end of each partition, per consumer group: end offset minus the group's committed offset " +
			"(minus the log start offset where the group never committed). Refreshed every few seconds by the group's members.",
	}, []string{"group", "topic", "partition"})
)

// RegisterMetrics adds the package's collectors to reg. Registering twice
// with the same registry is not an error.
func RegisterMetrics(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{consumed, deadLettered, produced, produceFailed, consumerLag} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return err
			}
		}
	}
	return nil
}

// producedHook counts every record's produce outcome by topic. It is added
// to every metered client.
type producedHook struct{}

func (producedHook) OnProduceRecordUnbuffered(r *kgo.Record, err error) {
	if err != nil {
		produceFailed.WithLabelValues(r.Topic).Inc()
		return
	}
	produced.WithLabelValues(r.Topic).Inc()
}

// lagInterval is how often a group's members refresh its lag.
var lagInterval = 5 * time.Second

// reportLag refreshes the group's lag until ctx ends, then drops its series.
// Lag is computed against the end offsets, and from the log start where the
// group has no commit yet, so a group that never committed still shows what
// it has not read (kadm's Lag would show zero there). Every member of a
// group reports the whole group; the values agree.
func (g *Group) reportLag(ctx context.Context, cl *kgo.Client) {
	defer consumerLag.DeletePartialMatch(prometheus.Labels{"group": g.cfg.Group})
	adm := kadm.NewClient(cl)
	t := time.NewTicker(lagInterval)
	defer t.Stop()
	for {
		err := g.refreshLag(ctx, adm)
		if err != nil && ctx.Err() == nil {
			g.logger.Debug("consumer lag not refreshed", "err", err)
		}
		g.progress.refreshedAt(time.Now(), err)
		if err == nil && len(g.progress.stale(time.Now(), g.cfg.StaleAfter)) > 0 {
			g.describeOwners(ctx, adm)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (g *Group) refreshLag(ctx context.Context, adm *kadm.Client) error {
	ctx, cancel := context.WithTimeout(ctx, lagInterval)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, g.cfg.Topics...)
	if err != nil {
		return err
	}
	starts, err := adm.ListStartOffsets(ctx, g.cfg.Topics...)
	if err != nil {
		return err
	}
	committed, err := adm.FetchOffsets(ctx, g.cfg.Group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		committed, err = nil, nil // no member has joined or committed yet
	}
	if err != nil {
		return err
	}
	ends.Each(func(end kadm.ListedOffset) {
		if end.Err != nil {
			return
		}
		from := int64(0)
		if c, ok := committed.Lookup(end.Topic, end.Partition); ok && c.Err == nil && c.At >= 0 {
			from = c.At
		} else if s, ok := starts.Lookup(end.Topic, end.Partition); ok && s.Err == nil {
			from = s.Offset
		}
		lag := max(end.Offset-from, 0)
		consumerLag.WithLabelValues(g.cfg.Group, end.Topic, strconv.Itoa(int(end.Partition))).Set(float64(lag))
		g.progress.observe(tp{end.Topic, end.Partition}, from, lag, time.Now())
	})
	return nil
}
