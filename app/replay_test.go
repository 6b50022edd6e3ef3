package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/internal/arenatest"
	"github.com/arena-hq/arena/internal/arenatest/kafkatest"
	"github.com/arena-hq/arena/internal/replay"
	"github.com/arena-hq/arena/internal/seed"
	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
	"github.com/arena-hq/arena/modules/kafka"
)

func discardLogger() *slog.Logger { return arenatest.Logger() }

// testLog is an embedded broker on a free loopback port with arena's topics.
type testLog struct {
	cfg     config.Config
	broker  *kafka.Broker
	clients *kafka.Clients
}

func startTestLog(t *testing.T) *testLog {
	t.Helper()
	cfg := config.Default()
	cfg.Kafka.Partitions = 3
	b := kafkatest.StartBroker(t, 3, discardLogger())
	clients, err := kafka.NewClients(cfg.Kafka, []string{b.Addr()}, nil, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	return &testLog{cfg: cfg, broker: b, clients: clients}
}

func (l *testLog) ensureTopics(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ensureTopics(ctx, l.cfg, l.clients); err != nil {
		t.Fatal(err)
	}
}

func (l *testLog) publish(t *testing.T, evs ...events.Envelope) {
	t.Helper()
	cl, err := l.clients.New("test")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kafka.Publish(ctx, cl, l.clients.Topics.MatchEvents, "", evs...); err != nil {
		t.Fatal(err)
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// oneMatch generates a finished match to replay.
func oneMatch(t *testing.T, cfg config.Config, n int64) seed.Match {
	t.Helper()
	ms, err := seed.Generate(cfg, seed.Options{Matches: 1, Seed: n, Days: 1, Now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	return ms[0]
}

func stateJSON(t *testing.T, s *game.State) string {
	t.Helper()
	return arenatest.JSON(t, s)
}

func TestReplayMatchFoldsOnlyThatMatchInLogOrder(t *testing.T) {
	l := startTestLog(t)
	l.ensureTopics(t)
	a, b := oneMatch(t, l.cfg, 11), oneMatch(t, l.cfg, 12)

	// A vote after the match ended (refused by the rules) and a redelivered
	// copy of an answer (dropped as a duplicate) are part of a's log too.
	last := a.Events[len(a.Events)-1]
	late := events.MustNew(a.State.MatchID, events.SourceGateway, last.Time.Add(time.Second),
		&events.VoteCast{Voter: a.State.Seats[0].Letter, Seat: a.State.Seats[1].Letter, Round: 1})
	var dup events.Envelope
	for _, e := range a.Events {
		if e.Type == events.TypeAnswerSubmitted {
			dup = e
			break
		}
	}
	// Interleave the two matches as concurrent matches would be.
	var all []events.Envelope
	for i := range max(len(a.Events), len(b.Events)) {
		if i < len(a.Events) {
			all = append(all, a.Events[i])
		}
		if i < len(b.Events) {
			all = append(all, b.Events[i])
		}
	}
	all = append(all, late, dup)
	l.publish(t, all...)

	state, evs, err := replay.Match(testCtx(t), l.clients, a.State.MatchID)
	if err != nil {
		t.Fatal(err)
	}
	wantEvs := append(slices.Clone(a.Events), late, dup)
	if len(evs) != len(wantEvs) {
		t.Fatalf("%d events, want %d", len(evs), len(wantEvs))
	}
	for i := range evs {
		if evs[i].ID != wantEvs[i].ID {
			t.Fatalf("event %d is %s (%s), want %s: not in log order", i, evs[i].ID, evs[i].Type, wantEvs[i].ID)
		}
	}
	if state.Phase != events.PhaseFinished || state.EndReason != events.EndCompleted {
		t.Fatalf("phase %s (%s), want finished (completed)", state.Phase, state.EndReason)
	}
	if len(state.Rejections) != 1 || state.Rejections[0].EventID != late.ID || state.Rejections[0].Code != game.CodeLate {
		t.Fatalf("rejections %+v, want the late vote only", state.Rejections)
	}
	// Apart from the refused vote, the state is the one the generator folded.
	want := game.Replay(a.State.MatchID, wantEvs)
	if got := stateJSON(t, state); got != stateJSON(t, want) {
		t.Fatalf("replayed state differs from folding the same events")
	}
	for letter, score := range a.State.Scores {
		if state.Scores[letter] != score {
			t.Errorf("seat %s scores %d, want %d", letter, state.Scores[letter], score)
		}
	}

	// The other match is untouched by a's extra events.
	stateB, evsB, err := replay.Match(testCtx(t), l.clients, b.State.MatchID)
	if err != nil {
		t.Fatal(err)
	}
	if len(evsB) != len(b.Events) || stateJSON(t, stateB) != stateJSON(t, b.State) {
		t.Fatalf("match b: %d events, state equal %v", len(evsB), stateJSON(t, stateB) == stateJSON(t, b.State))
	}

	// The timeline marks the refused event and the duplicate.
	var out bytes.Buffer
	if err := replay.Write(&out, a.State.MatchID, evs); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		"Timeline:", "match.created", "REJECTED late:", "(duplicate, ignored)",
		"Final state:", "phase finished (completed)", "SEAT  WHO", "winner:",
		a.State.Settings.Prompts[0],
	} {
		if !strings.Contains(text, want) {
			t.Errorf("replay output lacks %q:\n%s", want, text)
		}
	}
	for _, seat := range a.State.Seats {
		if !seat.Human && !strings.Contains(text, seat.RobotID) {
			t.Errorf("replay output lacks personality %s of seat %s", seat.RobotID, seat.Letter)
		}
	}
	if n := strings.Count(text, "REJECTED"); n != 1 {
		t.Errorf("%d events marked rejected, want 1", n)
	}
}

// A match whose id hashes to another partition than where it was written
// (as after partitions were added) is still found.
func TestReplayFindsMatchOffItsKeyPartition(t *testing.T) {
	l := startTestLog(t)
	l.ensureTopics(t)
	m := oneMatch(t, l.cfg, 21)
	home := replay.KeyPartition(l.clients.Topics.MatchEvents, m.State.MatchID, 3)
	cl, err := l.clients.New("test", kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, e := range m.Events {
		r, err := kafka.Record(l.clients.Topics.MatchEvents, e, "")
		if err != nil {
			t.Fatal(err)
		}
		r.Partition = (home + 1) % 3
		if err := cl.ProduceSync(testCtx(t), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	state, evs, err := replay.Match(testCtx(t), l.clients, m.State.MatchID)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != len(m.Events) || state.Phase != events.PhaseFinished {
		t.Fatalf("%d events, phase %s", len(evs), state.Phase)
	}
}

func TestReplayUnknownMatch(t *testing.T) {
	l := startTestLog(t)
	// Before any topic exists.
	_, _, err := replay.Match(testCtx(t), l.clients, "nosuchmatch")
	if !errors.Is(err, replay.ErrMatchNotFound) || !strings.Contains(err.Error(), "no match-events topic") {
		t.Fatalf("replay without a log = %v", err)
	}
	l.ensureTopics(t)
	l.publish(t, oneMatch(t, l.cfg, 31).Events...)
	_, _, err = replay.Match(testCtx(t), l.clients, "nosuchmatch")
	if !errors.Is(err, replay.ErrMatchNotFound) || !strings.Contains(err.Error(), `"nosuchmatch"`) {
		t.Fatalf("replay of an unknown id = %v", err)
	}
}

// The commands through the binary: seed a data dir, replay from it with
// nothing running, then replay through a running serve --all that holds it.
func TestSeedAndReplayCommands(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	stdout, stderr, code := runArena(t, dir, nil, "seed", "--data-dir", dataDir, "--matches", "3", "--seed", "7")
	if code != 0 {
		t.Fatalf("seed: exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 4 || lines[3] != "seeded 3 matches into match-events" {
		t.Fatalf("seed printed:\n%s", stdout)
	}
	id := strings.Fields(lines[1])[0]

	stdout, stderr, code = runArena(t, dir, nil, "replay", "--data-dir", dataDir, id)
	if code != 0 || !strings.Contains(stdout, "Match "+id) || !strings.Contains(stdout, "phase finished (completed)") {
		t.Fatalf("replay: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if stderr != "" {
		t.Errorf("replay logged to stderr: %s", stderr)
	}

	stdout, _, code = runArena(t, dir, nil, "replay", "--data-dir", dataDir, "--json", id)
	var doc struct {
		Events []events.Envelope `json:"events"`
		State  game.State        `json:"state"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &doc) != nil {
		t.Fatalf("replay --json: exit %d, output:\n%s", code, stdout)
	}
	if doc.State.MatchID != id || doc.State.Phase != events.PhaseFinished || len(doc.Events) == 0 || doc.Events[0].Type != events.TypeMatchCreated {
		t.Fatalf("replay --json: state %s %s, %d events", doc.State.MatchID, doc.State.Phase, len(doc.Events))
	}
	if doc.State.Events != len(doc.Events) {
		t.Errorf("state applied %d events of %d: a seeded event was refused", doc.State.Events, len(doc.Events))
	}

	_, stderr, code = runArena(t, dir, nil, "replay", "--data-dir", dataDir, "nosuchmatch")
	if code != 1 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, `no events of match "nosuchmatch"`) {
		t.Fatalf("unknown match: exit %d, stderr %q", code, stderr)
	}
	_, stderr, code = runArena(t, dir, nil, "replay", "--data-dir", filepath.Join(dir, "empty"), id)
	if code != 1 || !strings.Contains(stderr, "holds no embedded broker data") {
		t.Fatalf("empty data dir: exit %d, stderr %q", code, stderr)
	}

	// A running arena holds the data dir: replay reads through its broker.
	p, _, brokerAddr := serveAll(t, dataDir)
	stdout, stderr, code = runArena(t, dir, []string{"ARENA_KAFKA_EMBEDDED_ADDR=" + brokerAddr}, "replay", "--data-dir", dataDir, id)
	if code != 0 || !strings.Contains(stdout, "phase finished (completed)") {
		t.Fatalf("replay beside a running arena: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// ... and says what to do when that broker is not where it looks.
	_, stderr, code = runArena(t, dir, []string{"ARENA_KAFKA_EMBEDDED_ADDR=" + freeAddr(t)}, "replay", "--data-dir", dataDir, id)
	if code != 1 || !strings.Contains(stderr, "data directory in use") || !strings.Contains(stderr, "kafka.embedded_addr") {
		t.Fatalf("replay with the data dir held and no broker: exit %d, stderr %q", code, stderr)
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	if code := p.Wait(t, 20*time.Second); code != 0 {
		t.Fatalf("serve exit %d", code)
	}
}
