package app

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/internal/replay"
	"github.com/arena-hq/arena/internal/seed"
	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/fold"
	"github.com/arena-hq/arena/modules/game"
	"github.com/arena-hq/arena/modules/materializer"
)

var seedNow = time.Date(2026, 6, 1, 18, 30, 0, 0, time.UTC)

// Seeded matches go through the real log: replay folds each one to its
// finished state, the materializer publishes the same states to match-state,
// and the history view lists them all. Seeding again with the same seed
// changes nothing.
func TestSeededMatchesReplayAndMaterialize(t *testing.T) {
	l := startTestLog(t)
	l.ensureTopics(t)
	ctx := testCtx(t)
	opts := seed.Options{Matches: 6, Seed: 9, Days: 2, Now: seedNow}
	seeded, err := seed.Write(ctx, l.clients, l.cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	// Seeding twice writes the same event ids again: duplicates, dropped.
	if _, err := seed.Write(ctx, l.clients, l.cfg, opts); err != nil {
		t.Fatal(err)
	}

	replayed := map[string]*game.State{}
	for _, m := range seeded {
		id := m.State.MatchID
		s, evs, err := replay.Match(ctx, l.clients, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 2*len(m.Events) {
			t.Errorf("match %s: %d records, want %d (seeded twice)", id, len(evs), 2*len(m.Events))
		}
		if s.Phase != events.PhaseFinished || s.EndReason != events.EndCompleted || len(s.Rejections) != 0 {
			t.Fatalf("match %s replays to %s/%s with %d rejections", id, s.Phase, s.EndReason, len(s.Rejections))
		}
		if stateJSON(t, s) != stateJSON(t, m.State) {
			t.Fatalf("match %s: replayed state differs from the generated one", id)
		}
		replayed[id] = s
	}

	m := materializer.New(l.clients, discardLogger())
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- m.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-ran; err != nil {
			t.Error(err)
		}
		_ = m.Stop(context.Background())
	}()

	partitions := []int32{0, 1, 2}
	lastOffsets := map[string]int64{}
	for id := range replayed {
		lastOffsets[id] = lastOffsetOf(t, l, id)
	}
	snaps := map[string]*game.State{}
	waitFor(t, "the materializer to publish every seeded match", func() bool {
		time.Sleep(100 * time.Millisecond)
		loaded, err := fold.Load(ctx, l.clients, partitions, len(partitions), func(fold.Checkpoint) bool { return true })
		if err != nil {
			t.Fatal(err)
		}
		for id, want := range replayed {
			// Both copies folded: the checkpoint covers the last record.
			cp, ok := loaded[id]
			if !ok || cp.Offset < lastOffsets[id] {
				return false
			}
			s, err := cp.DecodeState()
			if err != nil {
				t.Fatal(err)
			}
			if s.Phase != events.PhaseFinished || s.Events != want.Events {
				return false
			}
			snaps[id] = s
		}
		return true
	})

	views := materializer.NewViews()
	for id, want := range replayed {
		got := snaps[id]
		for letter, score := range want.Scores {
			if got.Scores[letter] != score {
				t.Errorf("match %s seat %s: published %d, replayed %d", id, letter, got.Scores[letter], score)
			}
		}
		if stateJSON(t, got) != stateJSON(t, want) {
			t.Errorf("match %s: published state differs from the replayed one", id)
		}
		views.Put(got)
	}
	items, _ := views.History(100, "")
	var listed []string
	for _, it := range items {
		listed = append(listed, it.MatchID)
	}
	var want []string
	for i := len(seeded) - 1; i >= 0; i-- { // newest first
		want = append(want, seeded[i].State.MatchID)
	}
	if !slices.Equal(listed, want) {
		t.Fatalf("history lists %v, want %v", listed, want)
	}
	if st := views.Stats(); st.Matches != len(seeded) || len(st.Robots) == 0 || st.Detectives.Votes == 0 {
		t.Fatalf("stats %+v: want every seeded match counted", st)
	}
}

// lastOffsetOf is the offset of the last record of match id in match-events.
func lastOffsetOf(t *testing.T, l *testLog, id string) int64 {
	t.Helper()
	topic := l.clients.Topics.MatchEvents
	last := int64(-1)
	err := l.clients.ReadToEnd(context.Background(), topic, []int32{replay.KeyPartition(topic, id, 3)}, nil, func(r *kgo.Record) error {
		if string(r.Key) == id {
			last = r.Offset
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return last
}
