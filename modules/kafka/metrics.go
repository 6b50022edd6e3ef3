package kafka

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"sync"
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
			"(minus the log start offset where the group never committed). Exported only by the member that owns the partition, " +
			"so sum by (group) is the group's lag; refreshed every few seconds.",
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
// it has not read (kadm's Lag would show zero there). Each member reports
// only the partitions assigned to it, so across processes every partition
// has one series and sum/max over a group are right; a partition whose
// owner died has none until the group reassigns it (within the session
// timeout).
func (g *Group) reportLag(ctx context.Context, cl *kgo.Client) {
	defer func() {
		for key := range g.reportedLag() {
			consumerLag.DeleteLabelValues(g.cfg.Group, key.topic, strconv.Itoa(int(key.partition)))
		}
		lagReported.Delete(g)
	}()
	adm := kadm.NewClient(cl)
	for {
		err := g.refreshLag(ctx, adm)
		if err != nil && ctx.Err() == nil {
			g.logger.Debug("consumer lag not refreshed", "err", err)
		}
		g.progress.refreshedAt(time.Now(), err)
		if err == nil && len(g.progress.stale(time.Now(), g.cfg.StaleAfter)) > 0 {
			g.describeOwners(ctx, adm)
		}
		// Until the group assigns this member something there is nothing
		// to export: look again soon, so the series appear right after the
		// join rather than a whole interval later.
		wait := lagInterval
		if len(g.reportedLag()) == 0 {
			wait = min(lagInterval, 250*time.Millisecond)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

func (g *Group) refreshLag(ctx context.Context, adm *kadm.Client) error {
	// Every member watches every partition's progress (readiness names a
	// partition nobody moves, whoever holds it) but exports the lag only of
	// the partitions it owns, so sum and max over members are right.
	owned, reported := g.owned(), g.reportedLag()
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
		g.progress.observe(tp{end.Topic, end.Partition}, from, lag, time.Now())
		labels := []string{g.cfg.Group, end.Topic, strconv.Itoa(int(end.Partition))}
		key := tp{end.Topic, end.Partition}
		if !owned[key] {
			if reported[key] { // revoked since the last refresh
				consumerLag.DeleteLabelValues(labels...)
				delete(reported, key)
			}
			return
		}
		reported[key] = true
		consumerLag.WithLabelValues(labels...).Set(float64(lag))
	})
	return nil
}

// lagReported holds, per member (*Group), the partitions whose lag it
// exports, so that it removes only its own series when they are revoked.
var lagReported sync.Map

func (g *Group) reportedLag() map[tp]bool {
	m, _ := lagReported.LoadOrStore(g, map[tp]bool{})
	return m.(map[tp]bool)
}

// owned returns the partitions assigned to this member.
func (g *Group) owned() map[tp]bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[tp]bool, len(g.workers))
	for k := range g.workers {
		out[k] = true
	}
	return out
}

// BuildInfo is arena_build_info{version,goversion} 1, the usual way to put
// the running version on a dashboard or join it onto other series.
func BuildInfo(version string) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "arena_build_info",
		Help:        "Always 1; its labels say which build of arena is running.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
	}, func() float64 { return 1 })
}

// kpromRenamed are kprom's gauges whose names end in _total, which
// Prometheus reserves for counters (promtool check metrics fails on them).
// dropRenamed keeps them out of the registry and bufferedGauges exports
// them under gauge names.
var kpromRenamed = []string{"arena_kafka_buffered_produce_records_total", "arena_kafka_buffered_fetch_records_total"}

// dropRenamed is a Registerer that ignores kprom's misnamed gauges.
type dropRenamed struct{ prometheus.Registerer }

func (r dropRenamed) Register(c prometheus.Collector) error {
	if misnamed(c) {
		return nil
	}
	return r.Registerer.Register(c)
}

func (r dropRenamed) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

func (r dropRenamed) Unregister(c prometheus.Collector) bool {
	if misnamed(c) {
		return true
	}
	return r.Registerer.Unregister(c)
}

func misnamed(c prometheus.Collector) bool {
	ch := make(chan *prometheus.Desc, 16)
	go func() { c.Describe(ch); close(ch) }()
	found := false
	for d := range ch {
		for _, name := range kpromRenamed {
			// Desc keeps its name unexported; its String form is stable.
			if strings.Contains(d.String(), `fqName: "`+name+`"`) {
				found = true
			}
		}
	}
	return found
}

// bufferedGauges exports the client's buffered records as gauges named as
// gauges: arena_kafka_buffered_produce_records and _fetch_records. It
// registers them when the client is created and removes them when it closes.
type bufferedGauges struct {
	reg        prometheus.Registerer
	collectors []prometheus.Collector
}

func (b *bufferedGauges) OnNewClient(cl *kgo.Client) {
	b.collectors = []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "arena_kafka_buffered_produce_records",
			Help: "Records buffered within the client, not yet acknowledged by the broker.",
		}, func() float64 { return float64(cl.BufferedProduceRecords()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "arena_kafka_buffered_fetch_records",
			Help: "Records fetched and buffered within the client, not yet polled.",
		}, func() float64 { return float64(cl.BufferedFetchRecords()) }),
	}
	for _, c := range b.collectors {
		_ = b.reg.Register(c) // a clash means a label was reused: kprom's would clash too
	}
}

func (b *bufferedGauges) OnClientClosed(*kgo.Client) {
	for _, c := range b.collectors {
		b.reg.Unregister(c)
	}
}
