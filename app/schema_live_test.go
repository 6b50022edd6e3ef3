package app

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/kafka"
)

// TestLiveRecordsValidateAgainstSchema plays a quick match on a real
// `serve --all` (one human who never acts, robots in the other seats, the
// clock running it to the end) and validates every record the modules wrote
// to every topic against docs/events.schema.json.
// playQuickMatch runs `serve --all` with one-round windows of a few
// seconds, creates a quick match for one human who never acts (robots fill
// the other seats, the clock runs it) and returns once it is finished.
func playQuickMatch(t *testing.T) (p *proc, base, brokerAddr string) {
	t.Helper()
	httpAddr := freeAddr(t)
	brokerAddr = freeAddr(t)
	p = startArena(t, t.TempDir(), []string{
		"ARENA_KAFKA_EMBEDDED_ADDR=" + brokerAddr, "ARENA_GAME_ROUNDS=1", "ARENA_GAME_HUMANS=1",
		"ARENA_GAME_LOBBY_WAIT=0s", "ARENA_GAME_ANSWER_WINDOW=3s", "ARENA_GAME_VOTE_WINDOW=3s", "ARENA_GAME_RESULTS_PAUSE=0s",
	}, "serve", "--all", "--data-dir", t.TempDir(), "--http-addr", httpAddr)
	base = "http://" + httpAddr
	waitStatus(t, p, base+"/readyz", http.StatusOK)

	resp, err := http.Post(base+"/api/matches", "application/json", bytes.NewBufferString(`{"name":"Ann","mode":"quick"}`))
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		MatchID string `json:"matchId"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if created.MatchID == "" {
		t.Fatalf("create: %s", resp.Status)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, _, body := get(base + "/api/matches/" + created.MatchID)
		var v struct {
			Phase string `json:"phase"`
		}
		_ = json.Unmarshal([]byte(body), &v)
		if v.Phase == events.PhaseFinished {
			return p, base, brokerAddr
		}
		if time.Now().After(deadline) || p.Exited() {
			t.Fatalf("match not finished (phase %q); stderr:\n%s", v.Phase, p.Err.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestLiveMetricsPassPromtoolLint scrapes /metrics of a `serve --all` that
// played a match (every module's series, histograms filled) and runs
// promtool's lint rules over it, as `promtool check metrics` would.
func TestLiveMetricsPassPromtoolLint(t *testing.T) {
	_, base, _ := playQuickMatch(t)
	code, _, body := get(base + "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	problems, err := promlint.New(strings.NewReader(body)).Lint()
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	for _, want := range []string{"arena_build_info{", "arena_consumer_lag{", "arena_robot_model_call_seconds_bucket{", "arena_kafka_buffered_produce_records{"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestLiveRecordsValidateAgainstSchema(t *testing.T) {
	sch, _ := loadEventSchema(t)
	p, _, brokerAddr := playQuickMatch(t)

	clients, err := kafka.NewClients(config.Kafka{}, []string{brokerAddr}, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	seen := map[string]int{}
	partitions := []int32{0, 1, 2, 3, 4, 5} // kafka.partitions' default
	for _, topic := range []string{clients.Topics.MatchEvents, clients.Topics.RobotCommands, clients.Topics.RobotEvents} {
		err := clients.ReadToEnd(ctx, topic, partitions, nil, func(r *kgo.Record) error {
			if err := validateRecord(t, sch, r.Value); err != nil {
				t.Errorf("%s record does not match the schema: %v\n%s", topic, err, r.Value)
			}
			var e struct {
				Type string `json:"type"`
			}
			_ = json.Unmarshal(r.Value, &e)
			seen[e.Type]++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// What a quick match without human actions writes, robots and clock
	// included (its lobby ends with deadline.reached, not match.started).
	for _, typ := range []string{events.TypeMatchCreated, events.TypePlayerJoined, events.TypeTyping, events.TypeRobotTyping,
		events.TypeAnswerSubmitted, events.TypeVoteCast, events.TypeDeadlineReached,
		events.TypeRobotCommand, events.TypeResponseGenerated} {
		if seen[typ] == 0 {
			t.Errorf("the live match wrote no %s (saw %v)", typ, seen)
		}
	}
	t.Logf("validated %v", seen)
	if strings.Contains(p.Err.String(), "level=ERROR") {
		t.Errorf("errors logged:\n%s", p.Err.String())
	}
}
