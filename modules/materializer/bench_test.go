package materializer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/internal/arenatest"
	"github.com/arena-hq/arena/internal/arenatest/kafkatest"
	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/fold"
	"github.com/arena-hq/arena/modules/game"
	"github.com/arena-hq/arena/modules/kafka"
)

// benchMatch is the log of one complete 5-round match of two humans (A, B)
// and two robots, as the gateway and orchestrator write it: typing, answers
// and votes of every seat, the deadlines that move the match on.
func benchMatch(tb testing.TB, id string, start time.Time) []events.Envelope {
	tb.Helper()
	var out []events.Envelope
	at := start
	add := func(p events.Payload) {
		at = at.Add(700 * time.Millisecond)
		e, err := events.New(id, events.SourceGateway, at, p)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, e)
	}
	hash := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	prompts := []string{"What's your favorite memory?", "What's the worst gift you've ever received?",
		"What did you have for breakfast today, honestly?", "What's a smell that instantly takes you back to childhood?",
		"What's the most embarrassing thing you did as a teenager?"}
	add(&events.MatchCreated{
		Mode: events.ModePrivate, Code: "QWERTY", Seats: 4, Humans: 2, Rounds: len(prompts), Prompts: prompts,
		SeatOrder: []string{"A", "B", "C", "D"},
		Robots: []events.RobotSeat{
			{RobotID: "curious-student", Name: "Maya", Model: "gpt-4o-mini"},
			{RobotID: "skeptical-scientist", Name: "Viktor", Model: "gpt-4o"},
			{RobotID: "creative-artist", Name: "Juniper", Model: "gpt-4.1-mini"},
		},
		AnswerWindowMs: 45_000, VoteWindowMs: 30_000, ResultsPauseMs: 5_000, LobbyWaitMs: 15_000, IdleTimeoutMs: 600_000, MaxAnswerChars: 280,
	})
	add(&events.PlayerJoined{PlayerID: "p-ada-" + id, Name: "Ada", TokenHash: hash("ada" + id)})
	add(&events.PlayerJoined{PlayerID: "p-bob-" + id, Name: "Bob", TokenHash: hash("bob" + id)})
	add(&events.MatchStarted{By: "A"})
	seats := []string{"A", "B", "C", "D"}
	for round := 1; round <= len(prompts); round++ {
		for _, s := range seats {
			add(&events.Typing{Seat: s, Round: round})
		}
		for _, s := range seats {
			add(&events.AnswerSubmitted{Seat: s, Round: round, Text: "honestly the smell of my grandmother's kitchen, seat " + s})
		}
		for i, s := range seats {
			add(&events.VoteCast{Voter: s, Seat: seats[(i+1)%len(seats)], Round: round})
		}
		add(&events.DeadlineReached{Phase: events.PhaseResults, Round: round})
	}
	return out
}

// BenchmarkReplayFold is the CPU side of rebuilding state: decoding
// records and folding them with the reducer, no broker involved.
func BenchmarkReplayFold(b *testing.B) {
	evs := benchMatch(b, "m-bench", time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC))
	raws := make([][]byte, len(evs))
	for i, e := range evs {
		r, err := kafka.Record("match-events", e, "")
		if err != nil {
			b.Fatal(err)
		}
		raws[i] = r.Value
	}
	if s := game.Replay("m-bench", evs); s.Phase != events.PhaseFinished {
		b.Fatalf("bench match ends in phase %q, want finished", s.Phase)
	}
	b.ReportAllocs()
	for b.Loop() {
		s := game.New("m-bench")
		for _, raw := range raws {
			e, err := events.Decode(raw)
			if err != nil {
				b.Fatal(err)
			}
			_ = game.Apply(s, e)
		}
	}
	b.ReportMetric(float64(b.N*len(raws))/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkReplayFromBroker rebuilds every match's state by reading
// match-events from an embedded broker over loopback, as a restarted
// module without checkpoints would: fold.Tail, each partition folded on its
// own goroutine.
func BenchmarkReplayFromBroker(b *testing.B) {
	const matches = 500 // x 58 events
	logger := arenatest.Logger()
	// In memory (no data directory): the benchmark measures the fold, not
	// the disk.
	kl, err := kafkatest.NewLog(config.Kafka{}, 6, "", logger)
	if err != nil {
		b.Fatal(err)
	}
	defer kl.Close()
	clients := kl.Clients
	ctx := context.Background()
	cl, err := clients.NewUnmetered("bench-producer")
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	start := time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)
	total := 0
	var recs []*kgo.Record
	for i := range matches {
		for _, e := range benchMatch(b, fmt.Sprintf("m-%04d", i), start) {
			r, err := kafka.Record(clients.Topics.MatchEvents, e, "")
			if err != nil {
				b.Fatal(err)
			}
			recs = append(recs, r)
		}
	}
	total = len(recs)
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		b.Fatal(err)
	}
	partitions := []int32{0, 1, 2, 3, 4, 5}

	b.ReportAllocs()
	for b.Loop() {
		parts := map[int32]*fold.Partition{}
		for _, p := range partitions {
			parts[p] = fold.NewPartition(p, len(partitions))
		}
		n, _, err := fold.Tail(ctx, clients, parts, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		held := 0
		for _, p := range parts {
			held += len(p.Matches)
		}
		if n != int64(total) || held != matches {
			b.Fatalf("replayed %d events of %d matches, want %d of %d", n, held, total, matches)
		}
	}
	b.ReportMetric(float64(b.N*total)/b.Elapsed().Seconds(), "events/s")
}
