package kafka

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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
