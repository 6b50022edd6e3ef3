package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/internal/arenatest/kafkatest"
	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/kafka"
)

// TestTopicsCLI runs `arena topics` as an operator would against a broker
// whose topics were altered by hand, then with --fix; and start-up refuses
// topics grown under data (issue 12 item 5).
func TestTopicsCLI(t *testing.T) {
	b := kafkatest.StartBroker(t, 3, discardLogger())
	dir := t.TempDir()
	env := []string{"ARENA_KAFKA_BROKERS=" + b.Addr(), "ARENA_KAFKA_PARTITIONS=3"}
	topics := events.TopicNames("")

	stdout, stderr, code := runArena(t, dir, env, "topics")
	if code != 0 || strings.Count(stdout, "created") != 5 {
		t.Fatalf("fresh broker: exit %d\n%s%s", code, stdout, stderr)
	}

	clients, err := kafka.NewClients(config.Kafka{}, []string{b.Addr()}, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := clients.New("test")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	set := func(topic, key, value string) {
		t.Helper()
		if _, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: key, Value: kadm.StringPtr(value)}}, topic); err != nil {
			t.Fatal(err)
		}
	}
	set(topics.MatchEvents, "retention.bytes", "1073741824")
	set(topics.RobotCommands, "retention.ms", "60000")

	stdout, stderr, code = runArena(t, dir, env, "topics")
	for _, want := range []string{"match-events", "retention.bytes is 1073741824, want -1", "robot-commands", "retention.ms is 60000, want 604800000", "MISMATCH", "fix: arena topics --fix"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if code != 1 || !strings.Contains(stderr, "arena topics --fix") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if stdout, stderr, code = runArena(t, dir, env, "topics", "--fix"); code != 0 || strings.Count(stdout, "(fixed)") != 2 {
		t.Errorf("--fix: exit %d\n%s%s", code, stdout, stderr)
	}
	if stdout, _, code = runArena(t, dir, env, "topics"); code != 0 || strings.Contains(stdout, "MISMATCH") {
		t.Errorf("after --fix: exit %d\n%s", code, stdout)
	}

	// Matches on the log, then partitions 3 -> 6 on every topic.
	for i := range 30 {
		e := events.Envelope{ID: fmt.Sprintf("e-%d", i), MatchID: fmt.Sprintf("m-%d", i), Type: events.TypeMatchCreated, V: 1, Time: time.Now(), Data: []byte(`{}`)}
		if err := kafka.Publish(ctx, cl, topics.MatchEvents, "", e); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := adm.UpdatePartitions(ctx, 6, topics.MatchEvents, topics.RobotCommands, topics.RobotEvents, topics.MatchState, topics.DeadLetters); err != nil {
		t.Fatal(err)
	}
	env6 := []string{"ARENA_KAFKA_BROKERS=" + b.Addr(), "ARENA_KAFKA_PARTITIONS=6"}
	stdout, _, code = runArena(t, dir, env6, "topics")
	if code != 1 || !strings.Contains(stdout, "want 3 (the count its data was written with)") || !strings.Contains(stdout, "kafka.topic_prefix") {
		t.Errorf("topics after 3 -> 6: exit %d\n%s", code, stdout)
	}
	_, stderr, code = runArena(t, dir, append(env6, "ARENA_HTTP_ADDR="+freeAddr(t)), "serve", "--role=materializer")
	if code != 1 || !strings.Contains(stderr, "partitions is 6, want 3") {
		t.Errorf("serve after 3 -> 6: exit %d, stderr:\n%s", code, stderr)
	}
}
