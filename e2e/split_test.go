package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
)

// Timers of the split test. Robots think 6-7 s before they type, so a
// robot killed a moment after it took its commands is surely killed
// mid-command; the answer window leaves room for the 6 s session timeout of
// the robot groups plus a full redo.
var splitConfig = `
kafka:
  embedded_addr: %s
  partitions: 1
llm:
  provider: scripted
game:
  seats: 4
  humans: 2
  rounds: 2
  answer_window: 30s
  vote_window: 20s
  results_pause: 300ms
  lobby_wait: 1s
log:
  level: info
robot: {human_timing: false} # every robot answers (docs/robots.md)
` + robotsYAML("e2e-", "6s", "7s", 80) + `prompts:
  - What's your favorite memory?
  - What did you have for breakfast?
  - Where would you go tomorrow?
`

var splitRobots = []string{"e2e-student", "e2e-scientist", "e2e-artist"}

// role is a `serve --role` process and its HTTP base URL.
type role struct {
	*proc
	base string
}

func startRole(t *testing.T, name, roleName, configFile string) role {
	t.Helper()
	addr := freeAddr(t)
	p := start(t, name, nil, "serve", "--role="+roleName, "--config", configFile, "--http-addr", addr)
	r := role{proc: p, base: "http://" + addr}
	waitReady(t, p, r.base)
	return r
}

// modelCalls sums a robot process's model calls (all personalities).
func modelCalls(t *testing.T, base string) int {
	t.Helper()
	code, body := httpGet(base + "/metrics")
	if code != http.StatusOK {
		return -1
	}
	n := 0
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, "arena_robot_model_call_seconds_count") {
			continue
		}
		f := strings.Fields(line)
		v, _ := strconv.ParseFloat(f[len(f)-1], 64)
		n += int(v)
	}
	return n
}

// groupMembers describes the robot groups: members per group, and whether
// every group is stable with all its partitions assigned.
func groupMembers(t *testing.T, adm *kadm.Client) (map[string]int, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	groups := make([]string, len(splitRobots))
	for i, id := range splitRobots {
		groups[i] = "robot-" + id
	}
	described, err := adm.DescribeGroups(ctx, groups...)
	if err != nil {
		return nil, false
	}
	members, stable := map[string]int{}, true
	for _, g := range described {
		members[g.Group] = len(g.Members)
		if g.Err != nil || g.State != "Stable" || len(g.AssignedPartitions()) == 0 {
			stable = false
		}
	}
	return members, stable
}

// TestSplitRolesSurviveRobotKill runs every role as its own process around
// `arena broker`: gateway x2, orchestrator, robot x2, materializer. Two
// players on different gateways play a private match with two robots. The
// robot process that holds the robot groups' partition is SIGKILLed while
// it works on round 1's answers; the other robot process takes the
// partition over and redoes them inside the answer window; in round 2 that
// robot process is stopped with SIGTERM mid-command and a third one takes
// over. The match must
// end with every seat's answer and vote in every round, every action the
// gateways acknowledged folded exactly once, and the same state in `arena
// replay --json` and on both gateways.
func TestSplitRolesSurviveRobotKill(t *testing.T) {
	brokerAddr := freeAddr(t)
	dir := t.TempDir()
	configFile := writeConfig(t, dir, fmt.Sprintf(splitConfig, brokerAddr))
	dataDir := filepath.Join(dir, "data")
	broker := start(t, "broker", nil, "broker", "--config", configFile, "--addr", brokerAddr, "--data-dir", dataDir)
	waitListening(t, broker, brokerAddr)

	materializer := startRole(t, "materializer", "materializer", configFile)
	orchestrator := startRole(t, "orchestrator", "orchestrator", configFile)
	gw1 := startRole(t, "gateway-1", "gateway", configFile)
	gw2 := startRole(t, "gateway-2", "gateway", configFile)

	cl, err := kgo.NewClient(kgo.SeedBrokers(brokerAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	// robot-1 joins first and takes each group's one partition; robot-2
	// joins as a standby (the cooperative-sticky balancer leaves the
	// partition where it is).
	robot1 := startRole(t, "robot-1", "robot", configFile)
	waitFor(t, 30*time.Second, "robot-1 owning every robot group", func() bool {
		m, stable := groupMembers(t, adm)
		return stable && m["robot-e2e-student"] == 1 && m["robot-e2e-scientist"] == 1 && m["robot-e2e-artist"] == 1
	})
	robot2 := startRole(t, "robot-2", "robot", configFile)
	waitFor(t, 30*time.Second, "robot-2 joining every robot group", func() bool {
		m, stable := groupMembers(t, adm)
		return stable && m["robot-e2e-student"] == 2 && m["robot-e2e-scientist"] == 2 && m["robot-e2e-artist"] == 2
	})

	host := createPrivate(t, gw1.base, "Hana", 2)
	guest := joinByCode(t, gw2.base, "Gus", host.seat.Code)
	if guest.seat.MatchID != host.seat.MatchID {
		t.Fatalf("guest joined %s, host created %s", guest.seat.MatchID, host.seat.MatchID)
	}
	matchID := host.seat.MatchID
	players := []*player{host, guest}
	for _, p := range players {
		p.connect()
	}
	host.await(10*time.Second, "both players in the lobby", func(v game.View) bool { return v.Phase == events.PhaseLobby && v.Joined == 2 })
	host.act(map[string]any{"type": "start", "id": "start"})

	// acked lists every acknowledged action, to reconcile with the log.
	type action struct {
		kind, seat string
		round      int
		text, vote string
	}
	var acked []action
	var failover, redone, drained, handover time.Duration
	var robot3 role
	const rounds = 2
	for round := 1; round <= rounds; round++ {
		for _, p := range players {
			p.await(30*time.Second, fmt.Sprintf("round %d answering", round), func(v game.View) bool {
				return v.Round == round && v.Phase == events.PhaseAnswering
			})
		}
		for i, p := range players {
			text := fmt.Sprintf("%s's answer to round %d", p.name, round)
			id := fmt.Sprintf("answer-%d", round)
			p.act(map[string]any{"type": "answer", "id": id, "round": round, "text": text})
			if i == 0 {
				// A client that lost the ack resends with the same id: it
				// gets another ack, and the log folds the answer once.
				p.act(map[string]any{"type": "answer", "id": id, "round": round, "text": text})
			}
			acked = append(acked, action{kind: events.TypeAnswerSubmitted, seat: p.seat.Seat, round: round, text: text})
		}
		humansAnswered := time.Now()
		var killedAt time.Time
		if round == 1 {
			// The humans' answers dispatch the robots' commands (robots
			// answer once the first human has, or 30% into the window).
			// Kill robot-1 once it has taken both: each model call is
			// counted as soon as it returns; then the robot "thinks" 6-7 s.
			waitFor(t, 15*time.Second, "robot-1 working on both robot answers", func() bool { return modelCalls(t, robot1.base) >= 2 })
			if n := modelCalls(t, robot2.base); n != 0 {
				t.Fatalf("standby robot-2 made %d model calls before the kill: robot-1 was meant to own the commands", n)
			}
			robot1.Kill(t)
			killedAt = time.Now()
			for _, s := range host.current().Seats {
				if s.Answered && s.Seat != host.seat.Seat && s.Seat != guest.seat.Seat {
					t.Fatalf("seat %s answered before the kill: the kill was not mid-round", s.Seat)
				}
			}
			t.Logf("robot-1 SIGKILLed %s after the first human answer of round 1", killedAt.Sub(humansAnswered).Round(time.Millisecond))
			waitFor(t, 25*time.Second, "robot-2 redoing the killed robot's commands", func() bool { return modelCalls(t, robot2.base) >= 2 })
			failover = time.Since(killedAt)
			// A new standby for round 2.
			robot3 = startRole(t, "robot-3", "robot", configFile)
			waitFor(t, 30*time.Second, "robot-3 joining every robot group", func() bool {
				m, stable := groupMembers(t, adm)
				return stable && m["robot-e2e-student"] == 2 && m["robot-e2e-scientist"] == 2 && m["robot-e2e-artist"] == 2
			})
		}
		if round == 2 {
			// Graceful stop mid-command: robot-2 drains (its in-flight
			// commands finish or are left uncommitted), commits, leaves its
			// groups, and robot-3 takes over without a session timeout.
			waitFor(t, 15*time.Second, "robot-2 working on round 2", func() bool { return modelCalls(t, robot2.base) >= 6 })
			if n := modelCalls(t, robot3.base); n != 0 {
				t.Fatalf("standby robot-3 made %d model calls", n)
			}
			termAt := time.Now()
			if code := robot2.Stop(t, 30*time.Second); code != 0 {
				t.Errorf("robot-2 exited %d after SIGTERM", code)
			}
			drained = time.Since(termAt)
			waitFor(t, 25*time.Second, "robot-3 taking over robot-2's commands", func() bool { return modelCalls(t, robot3.base) >= 2 })
			handover = time.Since(termAt)
		}
		for _, p := range players {
			p.await(30*time.Second, fmt.Sprintf("round %d voting", round), func(v game.View) bool {
				return v.Round == round && v.Phase == events.PhaseVoting
			})
		}
		if round == 1 {
			redone = time.Since(killedAt)
			for _, a := range host.current().Answers {
				if a.Round == 1 && a.Text == "" {
					t.Fatalf("round 1 has an empty answer: %+v", host.current().Answers)
				}
			}
		}
		for _, p := range players {
			// Vote for the first other seat.
			var pick string
			for _, s := range p.current().Seats {
				if s.Seat != p.seat.Seat {
					pick = s.Seat
					break
				}
			}
			p.act(map[string]any{"type": "vote", "id": fmt.Sprintf("vote-%d", round), "round": round, "seat": pick})
			acked = append(acked, action{kind: events.TypeVoteCast, seat: p.seat.Seat, round: round, vote: pick})
		}
	}
	var final game.View
	for _, p := range players {
		final = p.await(60*time.Second, "the reveal", func(v game.View) bool { return v.Phase == events.PhaseFinished })
	}
	t.Logf("SIGTERM of robot-2 mid-command: exited after %s, robot-3 had its commands %s after the signal",
		drained.Round(time.Millisecond), handover.Round(time.Millisecond))
	t.Logf("failover: robot-2 took over the killed robot's commands %s after the SIGKILL; all round-1 answers were in %s after it",
		failover.Round(time.Millisecond), redone.Round(time.Millisecond))

	// The log, as `arena replay --json` folds it.
	replayed := replayJSON(t, configFile, dataDir, matchID)
	st := replayed.State
	if st == nil || st.Phase != events.PhaseFinished || st.EndReason != events.EndCompleted {
		t.Fatalf("replayed match did not complete: %+v", st)
	}
	if len(st.Seats) != 4 || len(st.Rounds) != rounds {
		t.Fatalf("replayed match has %d seats and %d rounds", len(st.Seats), len(st.Rounds))
	}

	// Every seat, robots included, has exactly one real answer and one
	// vote in every round: the killed robot's commands were redone.
	for _, r := range st.Rounds {
		for _, seat := range st.Seats {
			var answers, votes int
			for _, a := range r.Answers {
				if a.Seat == seat.Letter {
					answers++
					if a.NoAnswer {
						t.Errorf("round %d: seat %s (human %v) has no answer", r.Number, seat.Letter, seat.Human)
					}
				}
			}
			for _, v := range r.Votes {
				if v.Voter == seat.Letter {
					votes++
				}
			}
			if answers != 1 || votes != 1 {
				t.Errorf("round %d: seat %s (human %v) has %d answers and %d votes, want 1 and 1", r.Number, seat.Letter, seat.Human, answers, votes)
			}
		}
	}

	// Reconcile: every acknowledged action is in match-events under one
	// event id, applied (not rejected), and in the final state once.
	rejected := map[string]bool{}
	for _, r := range st.Rejections {
		rejected[r.EventID] = true
	}
	checked := 0
	for _, a := range acked {
		ids := map[string]bool{}
		for _, e := range replayed.Events {
			if e.Type != a.kind || e.Source != events.SourceGateway {
				continue
			}
			pl, err := e.Payload()
			if err != nil {
				t.Fatal(err)
			}
			switch v := pl.(type) {
			case *events.AnswerSubmitted:
				if v.Seat == a.seat && v.Round == a.round && v.Text == a.text {
					ids[e.ID] = true
				}
			case *events.VoteCast:
				if v.Voter == a.seat && v.Round == a.round && v.Seat == a.vote {
					ids[e.ID] = true
				}
			}
		}
		if len(ids) != 1 {
			t.Errorf("acked %+v: %d distinct event ids in match-events, want 1", a, len(ids))
			continue
		}
		for id := range ids {
			if _, seen := st.Seen[id]; !seen || rejected[id] {
				t.Errorf("acked %+v (event %s): seen %v, rejected %v", a, id, seen, rejected[id])
			}
		}
		r := st.Rounds[a.round-1]
		n := 0
		if a.kind == events.TypeAnswerSubmitted {
			for _, ans := range r.Answers {
				if ans.Seat == a.seat && ans.Text == a.text {
					n++
				}
			}
		} else {
			for _, v := range r.Votes {
				if v.Voter == a.seat && v.Seat == a.vote {
					n++
				}
			}
		}
		if n != 1 {
			t.Errorf("acked %+v is in the final state %d times", a, n)
		}
		checked++
	}
	// A redone robot command yields the same event ids: one id per robot
	// answer and vote in the log, however often it was produced.
	robotIDs := map[string]map[string]bool{}
	for _, e := range replayed.Events {
		if e.Source != events.SourceRobot || (e.Type != events.TypeAnswerSubmitted && e.Type != events.TypeVoteCast) {
			continue
		}
		pl, _ := e.Payload()
		var key string
		switch v := pl.(type) {
		case *events.AnswerSubmitted:
			key = fmt.Sprintf("answer %s %d", v.Seat, v.Round)
		case *events.VoteCast:
			key = fmt.Sprintf("vote %s %d", v.Voter, v.Round)
		}
		if robotIDs[key] == nil {
			robotIDs[key] = map[string]bool{}
		}
		robotIDs[key][e.ID] = true
	}
	if len(robotIDs) != 2*2*rounds {
		t.Errorf("robot facts in the log: %v, want an answer and a vote per robot per round", slices.Sorted(maps.Keys(robotIDs)))
	}
	for k, ids := range robotIDs {
		if len(ids) != 1 {
			t.Errorf("%s: %d distinct event ids", k, len(ids))
		}
	}

	// Both gateways show the replayed scores.
	for _, gw := range []role{gw1, gw2} {
		code, body := httpGet(gw.base + "/api/matches/" + matchID)
		var v game.View
		if code != http.StatusOK || json.Unmarshal([]byte(body), &v) != nil {
			t.Fatalf("GET match on %s: %d %s", gw.Name, code, body)
		}
		if fmt.Sprint(v.Scores) != fmt.Sprint(st.Scores) {
			t.Errorf("%s shows scores %v, the replay %v", gw.Name, v.Scores, st.Scores)
		}
	}
	if fmt.Sprint(final.Scores) != fmt.Sprint(st.Scores) {
		t.Errorf("players saw scores %v, the replay %v", final.Scores, st.Scores)
	}
	t.Logf("reconciled %d acknowledged actions and %d robot facts against %d events in match-events", checked, len(robotIDs), len(replayed.Events))

	// The bridge is idempotent by derived ids: robot-events redelivered
	// (as after an orchestrator crash between its produce to match-events
	// and its offset commit) become copies with the same event ids, which
	// the reducer drops. Deliver every robot reply of the match again.
	redelivered := redeliverRobotEvents(t, cl, brokerAddr, matchID)
	var again replayOutput
	waitFor(t, 30*time.Second, "the bridge to pass the redelivered replies on", func() bool {
		stdout, _, code := run(t, nil, "replay", matchID, "--json", "--config", configFile, "--data-dir", dataDir)
		return code == 0 && json.Unmarshal([]byte(stdout), &again) == nil && len(again.Events) >= len(replayed.Events)+redelivered
	})
	for _, e := range again.Events[len(replayed.Events):] {
		if _, seen := st.Seen[e.ID]; !seen {
			t.Errorf("a redelivered robot reply became a new fact %s (%s)", e.ID, e.Type)
		}
	}
	if again.State.Events != st.Events || fmt.Sprint(again.State.Scores) != fmt.Sprint(st.Scores) || len(again.State.Rejections) != len(st.Rejections) {
		t.Errorf("redelivery changed the match: %d events applied (was %d), scores %v (were %v), %d rejections (were %d)",
			again.State.Events, st.Events, again.State.Scores, st.Scores, len(again.State.Rejections), len(st.Rejections))
	}
	t.Logf("bridge: %d robot-events redelivered, folded 0 times", redelivered)

	// Graceful stop of every role: SIGTERM drains and exits 0.
	for _, p := range []*proc{gw1.proc, gw2.proc, robot3.proc, orchestrator.proc, materializer.proc, broker} {
		if code := p.Stop(t, 30*time.Second); code != 0 {
			t.Errorf("%s exited %d after SIGTERM", p.Name, code)
		}
	}
}

// redeliverRobotEvents produces every robot-events record of matchID again
// and returns how many of them the bridge turns into match facts.
func redeliverRobotEvents(t *testing.T, cl *kgo.Client, brokerAddr, matchID string) int {
	t.Helper()
	rd, err := kgo.NewClient(kgo.SeedBrokers(brokerAddr),
		kgo.ConsumeTopics("robot-events"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var recs []*kgo.Record
	facts := 0
	for ctx.Err() == nil {
		rd.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			if string(r.Key) != matchID {
				return
			}
			recs = append(recs, &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value, Headers: r.Headers})
			if e, err := events.Decode(r.Value); err == nil && e.Type != events.TypeResponseFailed {
				facts++
			}
		})
	}
	if facts == 0 {
		t.Fatal("no robot-events of the match")
	}
	pctx, pcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer pcancel()
	if err := cl.ProduceSync(pctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	return facts
}
