package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func statusOf(t *testing.T, statuses []TopicStatus, name string) TopicStatus {
	t.Helper()
	for _, s := range statuses {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no status for %s in %+v", name, statuses)
	return TopicStatus{}
}

func alterConfig(t *testing.T, adm *kadm.Client, topic, key, value string) {
	t.Helper()
	resps, err := adm.AlterTopicConfigs(context.Background(), []kadm.AlterConfig{{Op: kadm.SetConfig, Name: key, Value: kadm.StringPtr(value)}}, topic)
	if err == nil {
		for _, r := range resps {
			err = errors.Join(err, r.Err)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestTopicsCompareEverySetting: what issue 13 saw pass as "ok" (the log of
// record at retention.bytes=1GiB, robot commands at retention.ms=60000) is
// reported with its fix, and --fix restores it.
func TestTopicsCompareEverySetting(t *testing.T) {
	b := startBroker(t, "")
	c := newClients(t, b.Addr(), "cmp-")
	ensure(t, c, 3)
	cl := newClient(t, c)
	adm := kadm.NewClient(cl)
	alterConfig(t, adm, c.Topics.MatchEvents, "retention.bytes", "1073741824")
	alterConfig(t, adm, c.Topics.RobotCommands, "retention.ms", "60000")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	opts := TopicOptions{Partitions: 3, Replication: 1}
	statuses, err := PrepareTopics(ctx, c, cl, opts)
	if !errors.Is(err, ErrTopicMismatch) {
		t.Fatalf("want ErrTopicMismatch (the log of record would be deleted), got %v", err)
	}
	me := statusOf(t, statuses, c.Topics.MatchEvents)
	if len(me.Issues) != 1 || me.Issues[0].Setting != "retention.bytes" || !me.Issues[0].Fatal ||
		me.Issues[0].Have != "1073741824" || me.Issues[0].Want != "-1" || !strings.Contains(me.Issues[0].Fix, "arena topics --fix") {
		t.Errorf("match-events issues = %+v", me.Issues)
	}
	rc := statusOf(t, statuses, c.Topics.RobotCommands)
	if len(rc.Issues) != 1 || rc.Issues[0].Setting != "retention.ms" || rc.Issues[0].Fatal || rc.Issues[0].Want != week {
		t.Errorf("robot-commands issues = %+v", rc.Issues)
	}
	if !strings.Contains(err.Error(), "cmp-robot-commands: retention.ms is 60000, want 604800000") {
		t.Errorf("error does not name the robot topic's drift: %v", err)
	}

	// Only the drift left: start-up may run, arena topics still fails.
	alterConfig(t, adm, c.Topics.MatchEvents, "retention.bytes", "-1")
	if _, err := PrepareTopics(ctx, c, cl, opts); !errors.Is(err, ErrTopicDrift) || errors.Is(err, ErrTopicMismatch) {
		t.Errorf("robot topic drift only: %v, want ErrTopicDrift", err)
	}

	// --fix alters it, and the next check is clean.
	alterConfig(t, adm, c.Topics.MatchEvents, "cleanup.policy", "compact")
	opts.Fix = true
	statuses, err = PrepareTopics(ctx, c, cl, opts)
	if err != nil {
		t.Fatalf("--fix: %v", err)
	}
	fixed := 0
	for _, s := range statuses {
		for _, is := range s.Issues {
			if !is.Fixed {
				t.Errorf("%s: %v not fixed", s.Name, is)
			}
			fixed++
		}
	}
	if fixed != 2 {
		t.Errorf("fixed %d issues, want 2 (cleanup.policy, retention.ms)", fixed)
	}
	opts.Fix = false
	if _, err := PrepareTopics(ctx, c, cl, opts); err != nil {
		t.Errorf("after --fix: %v", err)
	}
}

func TestTopicsReplicationAndMinInsync(t *testing.T) {
	b := startBroker(t, "")
	c := newClients(t, b.Addr(), "rep-")
	cl := newClient(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := PrepareTopics(ctx, c, cl, TopicOptions{Partitions: 2, Replication: 1, MinInsync: 1}); err != nil {
		t.Fatal(err)
	}
	// A fresh client, as the next arena process would have: the creating
	// client's metadata of new topics lags behind the broker's.
	cl = newClient(t, c)
	// One broker: replication 3 cannot be had, and arena says how to get it.
	statuses, err := PrepareTopics(ctx, c, cl, TopicOptions{Partitions: 2, Replication: 3, MinInsync: 1})
	if !errors.Is(err, ErrTopicDrift) {
		t.Fatalf("replication 1 vs 3: %v", err)
	}
	is := statusOf(t, statuses, c.Topics.MatchEvents).Issues
	if len(is) != 1 || is[0].Setting != "replication" || is[0].Have != "1" || !strings.Contains(is[0].Fix, "kafka-reassign-partitions") {
		t.Errorf("issues = %+v", is)
	}
	adm := kadm.NewClient(cl)
	alterConfig(t, adm, c.Topics.MatchState, "min.insync.replicas", "2")
	statuses, _ = PrepareTopics(ctx, c, cl, TopicOptions{Partitions: 2, Replication: 1, MinInsync: 1})
	if is := statusOf(t, statuses, c.Topics.MatchState).Issues; len(is) != 1 || is[0].Setting != "min.insync.replicas" || is[0].Have != "2" {
		t.Errorf("min.insync.replicas issues = %+v", is)
	}
}

// TestPartitionCountChangeRefused is issue 12's "3 -> 6": partitions added
// under data move matches to other partitions, so arena refuses to start and
// names the count the data was written with.
func TestPartitionCountChangeRefused(t *testing.T) {
	b := startBroker(t, "")
	c := newClients(t, b.Addr(), "grow-")
	ensure(t, c, 3)
	cl := newClient(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range 40 {
		if err := Publish(ctx, cl, c.Topics.MatchEvents, "", envelope(t, fmt.Sprintf("match-%d", i), 1)); err != nil {
			t.Fatal(err)
		}
	}
	opts := TopicOptions{Partitions: 3, Replication: 1}
	if _, err := PrepareTopics(ctx, c, cl, opts); err != nil {
		t.Fatalf("before the change: %v", err)
	}

	// The operator grows every topic to 6 and sets kafka.partitions to match.
	adm := kadm.NewClient(cl)
	if _, err := adm.UpdatePartitions(ctx, 6, c.Topics.MatchEvents, c.Topics.RobotCommands, c.Topics.RobotEvents, c.Topics.MatchState, c.Topics.DeadLetters); err != nil {
		t.Fatal(err)
	}
	opts.Partitions = 6
	statuses, err := PrepareTopics(ctx, c, cl, opts)
	if !errors.Is(err, ErrTopicMismatch) {
		t.Fatalf("after 3 -> 6 under data: %v, want ErrTopicMismatch", err)
	}
	is := statusOf(t, statuses, c.Topics.MatchEvents).Issues
	if len(is) != 1 || is[0].Setting != "partitions" || !is[0].Fatal || is[0].Have != "6" ||
		!strings.HasPrefix(is[0].Want, "3 ") || !strings.Contains(is[0].Fix, "kafka.topic_prefix") {
		t.Fatalf("match-events issues = %+v", is)
	}
	// --fix cannot undo it, and says so by leaving it open.
	opts.Fix = true
	if _, err := PrepareTopics(ctx, c, cl, opts); !errors.Is(err, ErrTopicMismatch) {
		t.Errorf("--fix: %v, want still refused", err)
	}
}

// Topics that disagree with each other are refused; kafka.partitions that
// differs from topics with data is drift with the value to set.
func TestPartitionCountsCompared(t *testing.T) {
	b := startBroker(t, "")
	c := newClients(t, b.Addr(), "cnt-")
	ensure(t, c, 3)
	cl := newClient(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	produceN(t, cl, c.Topics.MatchEvents, 5)
	statuses, err := PrepareTopics(ctx, c, cl, TopicOptions{Partitions: 6, Replication: 1})
	if !errors.Is(err, ErrTopicDrift) {
		t.Fatalf("kafka.partitions 6 over topics of 3 with data: %v", err)
	}
	if is := statusOf(t, statuses, c.Topics.MatchEvents).Issues; len(is) != 1 || !strings.Contains(is[0].Fix, "set kafka.partitions: 3") {
		t.Errorf("issues = %+v", is)
	}

	adm := kadm.NewClient(cl)
	if _, err := adm.UpdatePartitions(ctx, 4, c.Topics.RobotEvents); err != nil {
		t.Fatal(err)
	}
	if _, err := PrepareTopics(ctx, c, cl, TopicOptions{Partitions: 3, Replication: 1}); !errors.Is(err, ErrTopicMismatch) ||
		!strings.Contains(err.Error(), "cnt-robot-events: partitions is 4") {
		t.Errorf("topics disagreeing: %v", err)
	}
}

// While every topic is empty, --fix can still raise the partition count.
func TestFixGrowsEmptyTopics(t *testing.T) {
	b := startBroker(t, "")
	c := newClients(t, b.Addr(), "empty-")
	ensure(t, c, 2)
	cl := newClient(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := PrepareTopics(ctx, c, cl, TopicOptions{Partitions: 4, Replication: 1}); !errors.Is(err, ErrTopicDrift) {
		t.Fatalf("2 vs 4, empty: %v", err)
	}
	statuses, err := PrepareTopics(ctx, c, cl, TopicOptions{Partitions: 4, Replication: 1, Fix: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range statuses {
		if s.Partitions != 4 {
			t.Errorf("%s has %d partitions after --fix", s.Name, s.Partitions)
		}
	}
	details, err := kadm.NewClient(cl).ListTopics(ctx, c.Topics.MatchEvents)
	if err != nil || len(details[c.Topics.MatchEvents].Partitions) != 4 {
		t.Errorf("broker has %v (%v)", details, err)
	}
}

// A few records another client put on the wrong partition are a warning,
// not a refusal; partitions grown under data stay refused after more
// matches are written with the new count.
func TestPartitioningStraysAndMixedData(t *testing.T) {
	b := startBroker(t, "")
	c := newClients(t, b.Addr(), "mix-")
	ensure(t, c, 3)
	cl := newClient(t, c)
	manual := newClient(t, c, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	publish := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			if err := Publish(ctx, cl, c.Topics.MatchEvents, "", envelope(t, fmt.Sprintf("match-%d", i), 1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	publish(0, 40)
	// Two strays, each on a partition its key does not hash to.
	for i, key := range []string{"stray-a", "stray-b"} {
		p := (PartitionOf([]byte(key), 3) + 1) % 3
		r := &kgo.Record{Topic: c.Topics.MatchEvents, Partition: p, Key: []byte(key), Value: []byte(fmt.Sprint(i))}
		if err := manual.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	opts := TopicOptions{Partitions: 3, Replication: 1}
	statuses, err := PrepareTopics(ctx, c, cl, opts)
	if !errors.Is(err, ErrTopicDrift) || errors.Is(err, ErrTopicMismatch) {
		t.Fatalf("two strays: %v, want a warning only", err)
	}
	if is := statusOf(t, statuses, c.Topics.MatchEvents).Issues; len(is) != 1 || is[0].Setting != "record placement" || !strings.Contains(is[0].Fix, "murmur2") {
		t.Errorf("issues = %+v", is)
	}

	adm := kadm.NewClient(cl)
	if _, err := adm.UpdatePartitions(ctx, 6, c.Topics.MatchEvents, c.Topics.RobotCommands, c.Topics.RobotEvents, c.Topics.MatchState, c.Topics.DeadLetters); err != nil {
		t.Fatal(err)
	}
	fresh := newClient(t, c)
	cl = fresh
	publish(100, 200) // new matches, placed with 6
	opts.Partitions = 6
	statuses, err = PrepareTopics(ctx, c, fresh, opts)
	if !errors.Is(err, ErrTopicMismatch) {
		t.Fatalf("grown under data, then written to: %v", err)
	}
	if is := statusOf(t, statuses, c.Topics.MatchEvents).Issues; len(is) != 1 || !strings.HasPrefix(is[0].Want, "3 ") {
		t.Errorf("issues = %+v", is)
	}
}
