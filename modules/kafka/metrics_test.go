package kafka

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// value reads a gauge's or counter's current value.
func value(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		t.Fatal(err)
	}
	if d.Gauge != nil {
		return d.Gauge.GetValue()
	}
	return d.Counter.GetValue()
}

// TestLagOfGroupThatNeverCommitted: a group with no commit shows everything
// on the log as lag (kadm's Lag would show zero), and a commit lowers it.
func TestLagOfGroupThatNeverCommitted(t *testing.T) {
	b := startBroker(t, "")
	c := newClients(t, b.Addr(), "lag-")
	c.reg = prometheus.NewRegistry()
	ensure(t, c, 1)
	cl := newClient(t, c)
	produceN(t, cl, c.Topics.MatchEvents, 5)
	if got := value(t, produced.WithLabelValues(c.Topics.MatchEvents)); got < 5 {
		t.Errorf("arena_records_produced_total{topic=%q} = %v, want >= 5", c.Topics.MatchEvents, got)
	}

	g, err := NewGroup(c, GroupConfig{Group: "lag-test", Topics: []string{c.Topics.MatchEvents},
		Handle: func(context.Context, *kgo.Record) error { return nil }}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	adm := kadm.NewClient(cl)
	// As if the group had assigned partition 0 to this member.
	g.workers[tp{c.Topics.MatchEvents, 0}] = &worker{}
	lag := func() float64 {
		t.Helper()
		if err := g.refreshLag(ctx, adm); err != nil {
			t.Fatal(err)
		}
		return value(t, consumerLag.WithLabelValues("lag-test", c.Topics.MatchEvents, "0"))
	}
	if got := lag(); got != 5 {
		t.Errorf("lag before any commit = %v, want 5", got)
	}
	offsets := kadm.Offsets{}
	offsets.Add(kadm.Offset{Topic: c.Topics.MatchEvents, Partition: 0, At: 3, LeaderEpoch: -1})
	if _, err := adm.CommitOffsets(ctx, "lag-test", offsets); err != nil {
		t.Fatal(err)
	}
	if got := lag(); got != 2 {
		t.Errorf("lag after committing 3 of 5 = %v, want 2", got)
	}
}

// TestLagOnlyFromOwner: two members of a group each export only their own
// partitions, so sum by (group) counts every partition once.
func TestLagOnlyFromOwner(t *testing.T) {
	b := startBroker(t, "")
	c := newClients(t, b.Addr(), "own-")
	ensure(t, c, 3)
	cl := newClient(t, c, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for p := range int32(3) {
		for range 4 {
			r := &kgo.Record{Topic: c.Topics.MatchEvents, Partition: p, Value: []byte("x")}
			if err := cl.ProduceSync(context.Background(), r).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	newGroup := func() *Group {
		g, err := NewGroup(c, GroupConfig{Group: "own-test", Topics: []string{c.Topics.MatchEvents},
			Handle: func(context.Context, *kgo.Record) error { return nil }}, testLogger())
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	a, b2 := newGroup(), newGroup()
	a.workers[tp{c.Topics.MatchEvents, 0}] = &worker{}
	b2.workers[tp{c.Topics.MatchEvents, 1}] = &worker{}
	b2.workers[tp{c.Topics.MatchEvents, 2}] = &worker{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	adm := kadm.NewClient(cl)
	series := func() int {
		n := 0
		for p := range 3 {
			if consumerLag.DeleteLabelValues("own-test", c.Topics.MatchEvents, fmt.Sprint(p)) {
				n++
			}
		}
		return n
	}
	if err := a.refreshLag(ctx, adm); err != nil {
		t.Fatal(err)
	}
	if n := series(); n != 1 {
		t.Errorf("member owning 1 partition exported %d series, want 1", n)
	}
	if err := a.refreshLag(ctx, adm); err != nil {
		t.Fatal(err)
	}
	if err := b2.refreshLag(ctx, adm); err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for p := range 3 {
		total += value(t, consumerLag.WithLabelValues("own-test", c.Topics.MatchEvents, fmt.Sprint(p)))
	}
	if total != 12 {
		t.Errorf("sum of lag over both members = %v, want 12 (4 records on each of 3 partitions)", total)
	}
	// A revoked partition's series goes with the next refresh.
	delete(b2.workers, tp{c.Topics.MatchEvents, 2})
	if err := b2.refreshLag(ctx, adm); err != nil {
		t.Fatal(err)
	}
	if consumerLag.DeleteLabelValues("own-test", c.Topics.MatchEvents, "2") {
		t.Error("partition 2 still exported after it was revoked")
	}
}

// TestMetricsPassPromtoolLint gathers every series a process exports (a
// metered client that produced and consumed, a group's lag, build info) and
// runs promtool's lint rules over them, as `promtool check metrics` would.
func TestMetricsPassPromtoolLint(t *testing.T) {
	b := startBroker(t, "")
	c := newClients(t, b.Addr(), "lint-")
	reg := prometheus.NewRegistry()
	if err := RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	reg.MustRegister(BuildInfo("v1.2.3"))
	c.reg = reg
	ensure(t, c, 1)
	cl := newClient(t, c)
	produceN(t, cl, c.Topics.MatchEvents, 3)
	g, err := NewGroup(c, GroupConfig{Group: "lint-test", Topics: []string{c.Topics.MatchEvents},
		Handle: func(context.Context, *kgo.Record) error { return nil }}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	g.workers[tp{c.Topics.MatchEvents, 0}] = &worker{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.refreshLag(ctx, kadm.NewClient(cl)); err != nil {
		t.Fatal(err)
	}
	defer consumerLag.DeletePartialMatch(prometheus.Labels{"group": "lint-test"})

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]dto.MetricType{}
	for _, mf := range mfs {
		names[mf.GetName()] = mf.GetType()
	}
	for _, want := range []string{"arena_build_info", "arena_consumer_lag", "arena_records_produced_total",
		"arena_kafka_buffered_produce_records", "arena_kafka_buffered_fetch_records", "arena_kafka_connects_total"} {
		if _, ok := names[want]; !ok {
			t.Errorf("%s not exported", want)
		}
	}
	for name, typ := range names {
		if strings.HasSuffix(name, "_total") && typ != dto.MetricType_COUNTER {
			t.Errorf("%s is a %v named like a counter", name, typ)
		}
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	// The renamed gauges go when their client closes, like kprom's own.
	count := func(name string) int {
		mfs, _ := reg.Gather()
		for _, mf := range mfs {
			if mf.GetName() == name {
				return len(mf.GetMetric())
			}
		}
		return 0
	}
	before := count("arena_kafka_buffered_produce_records")
	cl.Close()
	if after := count("arena_kafka_buffered_produce_records"); after != before-1 || count("arena_kafka_buffered_produce_bytes") != after {
		t.Errorf("buffered_produce_records series: %d before closing a client, %d after; kprom's bytes gauge has %d",
			before, after, count("arena_kafka_buffered_produce_bytes"))
	}
}

func TestBuildInfo(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(BuildInfo("v9.9.9"))
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 {
		t.Fatal(mfs, err)
	}
	m := mfs[0].GetMetric()[0]
	labels := map[string]string{}
	for _, l := range m.GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	if labels["version"] != "v9.9.9" || labels["goversion"] != runtime.Version() || m.GetGauge().GetValue() != 1 {
		t.Errorf("arena_build_info = %v %v", labels, m.GetGauge().GetValue())
	}
}
