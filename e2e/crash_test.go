package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
	"github.com/arena-hq/arena/modules/materializer"
)

// Quick matches of one human and three fast robots, so that several
// matches finish within seconds.
var crashConfig = `
kafka:
  embedded_addr: %s
  partitions: 3
llm:
  provider: scripted
game:
  seats: 4
  humans: 1
  rounds: 2
  answer_window: 6s
  vote_window: 4s
  results_pause: 200ms
  lobby_wait: 500ms
robot: {human_timing: false} # every robot answers (docs/robots.md)
` + robotsYAML("fast-", "200ms", "600ms", 300) + `prompts:
  - What's your favorite memory?
  - What did you have for breakfast?
`

// serveAll is one `arena serve --all` process on a data directory.
type serveAll struct {
	*proc
	base string
}

func startServeAll(t *testing.T, name, configFile, dataDir, httpAddr string) serveAll {
	t.Helper()
	p := start(t, name, nil, "serve", "--all", "--config", configFile, "--data-dir", dataDir, "--http-addr", httpAddr)
	s := serveAll{proc: p, base: "http://" + httpAddr}
	waitReady(t, p, s.base)
	return s
}

// quickMatch seats a human in a new quick match (which starts at once:
// with game.humans 1 its lobby is full) and connects its socket.
func quickMatch(t *testing.T, base, name string) *player {
	t.Helper()
	p := &player{t: t, name: name, base: base}
	code, body := postJSON(t, base+"/api/matches", "", map[string]any{"name": name, "mode": "quick"}, &p.seat)
	if code/100 != 2 {
		t.Fatalf("create: %d %s", code, body)
	}
	p.connect()
	return p
}

type history struct {
	Matches []materializer.HistoryItem `json:"matches"`
}

func getJSON(t *testing.T, url string, out any) bool {
	t.Helper()
	code, body := httpGet(url)
	if code != http.StatusOK {
		return false
	}
	if err := json.Unmarshal([]byte(body), out); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, body)
	}
	return true
}

// TestServeAllSurvivesKill9 plays two quick matches to the end on `arena
// serve --all`, starts a third, has its human's round-1 answer
// acknowledged, and kills the process with SIGKILL. Restarted on the same
// data directory, arena must list both finished matches in its history,
// resume the running match from the log to its end with the acknowledged
// answer in it, and show history, stats and every match's scores exactly as
// `arena replay --json` folds them from the log.
func TestServeAllSurvivesKill9(t *testing.T) {
	dir := t.TempDir()
	brokerAddr, httpAddr := freeAddr(t), freeAddr(t)
	configFile := writeConfig(t, dir, fmt.Sprintf(crashConfig, brokerAddr))
	dataDir := filepath.Join(dir, "data")
	first := startServeAll(t, "serve-1", configFile, dataDir, httpAddr)

	var finished []string
	for i := range 2 {
		p := quickMatch(t, first.base, fmt.Sprintf("Player %d", i+1))
		playMatch(p, 2)
		finished = append(finished, p.seat.MatchID)
	}
	// History is served from the materializer's views, a moment behind the
	// match's own state.
	var before history
	waitFor(t, 10*time.Second, "both finished matches in history", func() bool {
		return getJSON(t, first.base+"/api/history", &before) && len(before.Matches) == 2
	})

	// The third match is running when the process dies: its human's
	// answer was acknowledged, so it must survive.
	running := quickMatch(t, first.base, "Player 3")
	running.await(20*time.Second, "round 1 answering", func(v game.View) bool {
		return v.Round == 1 && v.Phase == events.PhaseAnswering
	})
	const survivor = "acknowledged just before the crash"
	running.act(map[string]any{"type": "answer", "id": "a1", "round": 1, "text": survivor})
	first.Kill(t)
	killedAt := time.Now()

	second := startServeAll(t, "serve-2", configFile, dataDir, httpAddr)
	ready := time.Since(killedAt)
	var after history
	waitFor(t, 20*time.Second, "the finished matches in history after the restart", func() bool {
		return getJSON(t, second.base+"/api/history", &after) && len(after.Matches) >= 2
	})
	historyBack := time.Since(killedAt)
	for _, id := range finished {
		if !slices.ContainsFunc(after.Matches, func(m materializer.HistoryItem) bool { return m.MatchID == id }) {
			t.Fatalf("finished match %s lost from history after kill -9: %+v", id, after.Matches)
		}
	}
	// The running match resumes from the log and ends by its deadlines.
	var end game.View
	waitFor(t, 60*time.Second, "the interrupted match to finish", func() bool {
		return getJSON(t, second.base+"/api/matches/"+running.seat.MatchID, &end) && end.Phase == events.PhaseFinished
	})
	resumed := time.Since(killedAt)
	t.Logf("kill -9 recovery: ready %s after the kill, history back after %s, interrupted match finished %s after it",
		ready.Round(time.Millisecond), historyBack.Round(time.Millisecond), resumed.Round(time.Millisecond))
	if end.EndReason != events.EndCompleted {
		t.Fatalf("interrupted match ended %q", end.EndReason)
	}
	if !slices.ContainsFunc(end.Answers, func(a game.AnswerView) bool { return a.Round == 1 && a.Text == survivor }) {
		t.Fatalf("the acknowledged answer was lost: %+v", end.Answers)
	}

	// Every match, as the restarted arena shows it and as the log folds.
	all := append(finished, running.seat.MatchID)
	var states []*game.State
	events0 := 0
	for _, id := range all {
		replayed := replayJSON(t, configFile, dataDir, id)
		events0 += len(replayed.Events)
		st := replayed.State
		if st.Phase != events.PhaseFinished || st.EndReason != events.EndCompleted {
			t.Fatalf("replay of %s: phase %s, end %q", id, st.Phase, st.EndReason)
		}
		var v game.View
		if !getJSON(t, second.base+"/api/matches/"+id, &v) {
			t.Fatalf("match %s not served after restart", id)
		}
		if fmt.Sprint(v.Scores) != fmt.Sprint(st.Scores) {
			t.Errorf("match %s: served scores %v, replayed %v", id, v.Scores, st.Scores)
		}
		states = append(states, st)
	}

	// History and stats match the replayed matches.
	waitFor(t, 10*time.Second, "three matches in history", func() bool {
		return getJSON(t, second.base+"/api/history", &after) && len(after.Matches) == 3
	})
	for _, m := range after.Matches {
		if !slices.Contains(all, m.MatchID) || m.EndReason != events.EndCompleted {
			t.Errorf("unexpected history entry %+v", m)
		}
	}
	var stats materializer.Stats
	if !getJSON(t, second.base+"/api/stats", &stats) {
		t.Fatal("no stats")
	}
	want := statsOf(states)
	if stats.Matches != len(states) || stats.Detectives.Votes != want.Detectives.Votes || stats.Detectives.Correct != want.Detectives.Correct {
		t.Errorf("stats: %d matches, detectives %+v; replay: %d matches, detectives %+v", stats.Matches, stats.Detectives, len(states), want.Detectives)
	}
	for _, r := range stats.Robots {
		w, ok := want.robots[r.Personality]
		if !ok || r.Matches != w.Matches || r.Votes != w.Votes || r.HumanVotes != w.HumanVotes {
			t.Errorf("stats of %s: %+v; replay: %+v", r.Personality, r, w)
		}
	}
	if len(stats.Robots) != len(want.robots) {
		t.Errorf("stats list %d robots, replay %d", len(stats.Robots), len(want.robots))
	}
	t.Logf("checked %d matches, %d events against history and stats", len(states), events0)
	if code := second.Stop(t, 30*time.Second); code != 0 {
		t.Errorf("exit %d after SIGTERM", code)
	}
}

type replayStats struct {
	robots     map[string]materializer.RobotStats
	Detectives materializer.DetectiveStats
}

// statsOf counts, from replayed states, what /api/stats reports: per
// personality the matches played and the votes others cast on it (and how
// many of them took it for a human), and the humans' votes and hits.
func statsOf(states []*game.State) replayStats {
	out := replayStats{robots: map[string]materializer.RobotStats{}}
	for _, s := range states {
		for _, seat := range s.Seats {
			if seat.Human {
				continue
			}
			st := out.robots[seat.RobotID]
			st.Matches++
			for _, round := range s.Rounds {
				for _, v := range round.Votes {
					if v.Voter == seat.Letter {
						continue
					}
					st.Votes++
					if v.Seat == seat.Letter {
						st.HumanVotes++
					}
				}
			}
			out.robots[seat.RobotID] = st
		}
		for _, round := range s.Rounds {
			for _, v := range round.Votes {
				if s.SeatOf(v.Voter).Human {
					out.Detectives.Votes++
					if s.SeatOf(v.Seat).Human {
						out.Detectives.Correct++
					}
				}
			}
		}
	}
	return out
}
