package app

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/fold"
	"github.com/arena-hq/arena/modules/game"
)

// A quick match whose human never acts plays to the end in `serve --all`
// (robots and deadlines move it on), and `arena replay --json` of it folds
// the log to exactly the state the materializer published to match-state.
func TestServedMatchReplaysToThePublishedState(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	httpAddr, brokerAddr := freeAddr(t), freeAddr(t)
	env := []string{"ARENA_KAFKA_EMBEDDED_ADDR=" + brokerAddr,
		"ARENA_GAME_ROUNDS=2", "ARENA_GAME_ANSWER_WINDOW=4s", "ARENA_GAME_VOTE_WINDOW=3s",
		"ARENA_GAME_RESULTS_PAUSE=200ms", "ARENA_GAME_LOBBY_WAIT=200ms"}
	p := startArena(t, t.TempDir(), env, "serve", "--all", "--data-dir", dataDir, "--http-addr", httpAddr)
	base := "http://" + httpAddr
	waitStatus(t, p, base+"/readyz", http.StatusOK)

	resp, err := http.Post(base+"/api/matches", "application/json", strings.NewReader(`{"name":"Idle Ida","mode":"quick"}`))
	if err != nil {
		t.Fatal(err)
	}
	var created struct{ MatchID, Seat string }
	if err := json.NewDecoder(resp.Body).Decode(&created); err != nil || created.MatchID == "" {
		t.Fatalf("create: %v %+v", err, created)
	}
	resp.Body.Close()

	var view game.View
	deadline := time.Now().Add(90 * time.Second)
	for view.Phase != events.PhaseFinished {
		if time.Now().After(deadline) {
			t.Fatalf("match still in %s round %d", view.Phase, view.Round)
		}
		time.Sleep(200 * time.Millisecond)
		code, _, body := get(base + "/api/matches/" + created.MatchID)
		if code != http.StatusOK {
			continue
		}
		if err := json.Unmarshal([]byte(body), &view); err != nil {
			t.Fatal(err)
		}
	}
	if view.EndReason != events.EndCompleted || len(view.Reveal) != 4 {
		t.Fatalf("finished view: reason %q, reveal %+v", view.EndReason, view.Reveal)
	}

	published := publishedState(t, brokerAddr, created.MatchID)
	stdout, stderr, code := runArena(t, t.TempDir(), env, "replay", "--json", "--data-dir", dataDir, created.MatchID)
	if code != 0 {
		t.Fatalf("replay exited %d: %s", code, stderr)
	}
	var replayed struct {
		Events []events.Envelope `json:"events"`
		State  *game.State       `json:"state"`
	}
	if err := json.Unmarshal([]byte(stdout), &replayed); err != nil {
		t.Fatalf("replay --json: %v\n%s", err, stdout)
	}
	if replayed.State.Phase != events.PhaseFinished || len(replayed.Events) < 10 {
		t.Fatalf("replay: phase %s after %d events", replayed.State.Phase, len(replayed.Events))
	}
	a, _ := json.Marshal(published)
	b, _ := json.Marshal(replayed.State)
	if !bytes.Equal(a, b) {
		t.Fatalf("replayed state differs from the published one:\npublished %s\nreplayed  %s", a, b)
	}
	// The human's seat got "(no answer)" in both rounds.
	for _, r := range replayed.State.Rounds {
		for _, ans := range r.Answers {
			if ans.Seat == created.Seat && !ans.NoAnswer {
				t.Fatalf("idle human has answer %+v", ans)
			}
		}
	}

	text, stderr, code := runArena(t, t.TempDir(), env, "replay", "--data-dir", dataDir, created.MatchID)
	if code != 0 || !strings.Contains(text, "Idle Ida") || !strings.Contains(text, events.TypeDeadlineReached) {
		t.Fatalf("replay text (exit %d, %s):\n%s", code, stderr, text)
	}
}

// publishedState reads the newest snapshot of matchID from match-state.
func publishedState(t *testing.T, brokerAddr, matchID string) *game.State {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokerAddr), kgo.ConsumeTopics("match-state"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var last *game.State
	for ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			if string(r.Key) != matchID {
				return
			}
			cp, err := fold.DecodeCheckpoint(r.Value)
			if err != nil {
				t.Fatal(err)
			}
			if last, err = cp.DecodeState(); err != nil {
				t.Fatal(err)
			}
		})
	}
	if last == nil || last.Phase != events.PhaseFinished {
		t.Fatalf("no finished snapshot of %s in match-state", matchID)
	}
	return last
}
