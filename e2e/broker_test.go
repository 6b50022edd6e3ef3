package e2e

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
)

// Fast robots: this test is about the broker, not the robots.
var brokerKillConfig = `
kafka:
  embedded_addr: %s
  partitions: 2
llm:
  provider: scripted
game:
  seats: 4
  humans: 2
  rounds: 2
  answer_window: 15s
  vote_window: 10s
  results_pause: 300ms
robot: {human_timing: false} # every robot answers (docs/robots.md)
` + robotsYAML("b-", "500ms", "1s", 200) + `prompts:
  - What's your favorite memory?
  - What did you have for breakfast?
`

// TestSplitRolesSurviveBrokerKill9 kills `arena broker` with SIGKILL in the
// middle of a split deployment's match, right after both players' round-1
// answers were acknowledged, and starts it again on the same address and
// data directory. Every role reconnects by itself; the match goes on to
// its end with the acknowledged answers in it, and every seat answered
// and voted in every round.
func TestSplitRolesSurviveBrokerKill9(t *testing.T) {
	brokerAddr := freeAddr(t)
	dir := t.TempDir()
	configFile := writeConfig(t, dir, fmt.Sprintf(brokerKillConfig, brokerAddr))
	dataDir := filepath.Join(dir, "data")
	startBroker := func(name string) *proc {
		b := start(t, name, nil, "broker", "--config", configFile, "--addr", brokerAddr, "--data-dir", dataDir)
		waitListening(t, b, brokerAddr)
		return b
	}
	broker := startBroker("broker-1")
	roles := []role{
		startRole(t, "materializer", "materializer", configFile),
		startRole(t, "orchestrator", "orchestrator", configFile),
		startRole(t, "robot", "robot", configFile),
	}
	gw1 := startRole(t, "gateway-1", "gateway", configFile)
	gw2 := startRole(t, "gateway-2", "gateway", configFile)
	roles = append(roles, gw1, gw2)

	host := createPrivate(t, gw1.base, "Hana", 2)
	guest := joinByCode(t, gw2.base, "Gus", host.seat.Code)
	players := []*player{host, guest}
	for _, p := range players {
		p.connect()
	}
	host.await(10*time.Second, "both players in the lobby", func(v game.View) bool { return v.Joined == 2 })
	host.act(map[string]any{"type": "start", "id": "start"})

	var recovered time.Duration
	for round := 1; round <= 2; round++ {
		for _, p := range players {
			p.await(30*time.Second, fmt.Sprintf("round %d answering", round), func(v game.View) bool {
				return v.Round == round && v.Phase == events.PhaseAnswering
			})
			p.act(map[string]any{"type": "answer", "id": fmt.Sprintf("a%d", round), "round": round, "text": fmt.Sprintf("%s, round %d", p.name, round)})
		}
		if round == 1 {
			broker.Kill(t)
			killedAt := time.Now()
			broker = startBroker("broker-2")
			// Back when the match moves on again: the robots' answers (or
			// the deadline) take it to voting.
			for _, p := range players {
				p.await(45*time.Second, "round 1 voting after the broker restart", func(v game.View) bool {
					return v.Round == 1 && v.Phase == events.PhaseVoting
				})
			}
			recovered = time.Since(killedAt)
		}
		for _, p := range players {
			v := p.await(30*time.Second, fmt.Sprintf("round %d voting", round), func(v game.View) bool {
				return v.Round == round && v.Phase == events.PhaseVoting
			})
			pick := ""
			for _, s := range v.Seats {
				if s.Seat != p.seat.Seat {
					pick = s.Seat
					break
				}
			}
			p.act(map[string]any{"type": "vote", "id": fmt.Sprintf("v%d", round), "round": round, "seat": pick})
		}
	}
	for _, p := range players {
		p.await(60*time.Second, "the reveal", func(v game.View) bool { return v.Phase == events.PhaseFinished })
	}
	t.Logf("broker kill -9 and restart: the match was moving again %s after the kill", recovered.Round(time.Millisecond))

	replayed := replayJSON(t, configFile, dataDir, host.seat.MatchID)
	st := replayed.State
	if st.Phase != events.PhaseFinished || st.EndReason != events.EndCompleted || len(st.Rounds) != 2 {
		t.Fatalf("replayed match: phase %s, end %q, %d rounds", st.Phase, st.EndReason, len(st.Rounds))
	}
	for _, r := range st.Rounds {
		for _, seat := range st.Seats {
			answers, votes := 0, 0
			for _, a := range r.Answers {
				if a.Seat == seat.Letter && !a.NoAnswer {
					answers++
				}
			}
			for _, v := range r.Votes {
				if v.Voter == seat.Letter {
					votes++
				}
			}
			if answers != 1 || votes != 1 {
				t.Errorf("round %d seat %s (human %v): %d answers, %d votes", r.Number, seat.Letter, seat.Human, answers, votes)
			}
		}
		for _, p := range players {
			want := fmt.Sprintf("%s, round %d", p.name, r.Number)
			found := 0
			for _, a := range r.Answers {
				if a.Seat == p.seat.Seat && a.Text == want {
					found++
				}
			}
			if found != 1 {
				t.Errorf("round %d: %s's acknowledged answer is in the final state %d times", r.Number, p.name, found)
			}
		}
	}
	t.Logf("checked %d events", len(replayed.Events))
	for _, r := range roles {
		if r.Exited() {
			t.Errorf("%s exited when the broker went away", r.Name)
		}
	}
}
