package orchestrator

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
)

// quickOfTwo starts a one-round quick match on prompt of one human (seat
// A, player pid called name) and robot r1 (seat B): created, joined and
// begun.
func quickOfTwo(prompt, pid, name string) (created, joined, begun events.Payload) {
	return &events.MatchCreated{
			Mode: events.ModeQuick, Seats: 2, Humans: 1, Rounds: 1, Prompts: []string{prompt},
			SeatOrder: []string{"A", "B"}, Robots: []events.RobotSeat{{RobotID: "r1", Name: "R1", Model: "m"}},
			AnswerWindowMs: 40_000, VoteWindowMs: 20_000, LobbyWaitMs: 1000, MaxAnswerChars: 100,
		},
		&events.PlayerJoined{PlayerID: pid, Name: name, TokenHash: strings.Repeat("ab", 32)},
		&events.MatchStarted{By: "lobby"}
}

// observedMatch plays round 1 of match id with one human (seat A, player
// pid) who types at typing and answers text at answer (answer < 0: never),
// feeding every applied fact to h as the orchestrator's fold would.
func observedMatch(t *testing.T, h *HumanPlay, id, pid, text string, typing, answer time.Duration) *game.State {
	t.Helper()
	s := game.New(id)
	apply := func(at time.Duration, p events.Payload) {
		e := events.MustNew(id, events.SourceGateway, t0.Add(at), p)
		if err := game.Apply(s, e); err != nil {
			t.Fatalf("%s: %v", e.Type, err)
		}
		h.Observe(s, e)
	}
	created, joined, begun := quickOfTwo("What's your favorite memory?", pid, "Ann")
	apply(-time.Second, created)
	apply(-time.Second, joined)
	apply(0, begun)
	apply(typing, &events.Typing{Seat: "A", Round: 1})
	apply(typing+time.Second, &events.Typing{Seat: "A", Round: 1}) // only the first counts
	if answer >= 0 {
		apply(answer, &events.AnswerSubmitted{Seat: "A", Round: 1, Text: text})
	}
	apply(40*time.Second, &events.DeadlineReached{Phase: events.PhaseAnswering, Round: 1})
	apply(45*time.Second, &events.VoteCast{Voter: "A", Seat: "B", Round: 1})
	return s
}

// Robots follow the humans the log shows, not the prior, once there are
// enough of them: here humans who start typing at 2-4 s and answer at
// 10-14 s, and one in five never answers.
func TestHumanPlayLearnsFromTheLog(t *testing.T) {
	h := NewHumanPlay()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		typing := 2*time.Second + time.Duration(rng.Int64N(2000))*time.Millisecond
		answer := 10*time.Second + time.Duration(rng.Int64N(4000))*time.Millisecond
		if i%5 == 0 {
			answer = -1
		}
		observedMatch(t, h, fmt.Sprint("m", i), fmt.Sprint("p", i), fmt.Sprint("answer ", i), typing, answer)
	}
	draw := rand.New(rand.NewPCG(3, 4))
	inRange, silent, n := 0, 0, 2000
	for range n {
		r := h.DrawRound(40_000, draw)
		switch {
		case r.AnswerMs < 0:
			silent++
		case r.TypingMs >= 1500 && r.TypingMs <= 4500 && r.AnswerMs >= 9000 && r.AnswerMs <= 15_500:
			inRange++
		}
	}
	// 300/(300+30) of the draws are the humans', smoothed a little.
	if got := float64(inRange+silent) / float64(n); got < 0.85 {
		t.Errorf("%.0f%% of drawn rounds look like the observed humans, want most", 100*got)
	}
	if got := float64(silent) / float64(n); got < 0.15 || got > 0.25 {
		t.Errorf("no answer in %.0f%% of drawn rounds, the humans gave none in 20%%", 100*got)
	}
	// Another window length has no observations yet: the prior, and
	// drawing for it learns nothing.
	h.DrawRound(90_000, draw)
	if h.rounds[90_000] != nil {
		t.Error("drawing for a window created samples for it")
	}
	// Votes: every human voted 5 s into voting.
	if d := h.DrawVote(20_000, draw); d < 4000 || d > 6000 {
		t.Errorf("drawn vote delay %d ms, humans voted at 5000", d)
	}
}

// Learned answers come from other matches and never from the current
// match's players, wherever they played; style samples skip the current match.
func TestHumanPlayLearnedAndStyle(t *testing.T) {
	h := NewHumanPlay()
	observedMatch(t, h, "m1", "ann", "the day my sister was born", 3*time.Second, 9*time.Second)
	observedMatch(t, h, "m2", "bob", "sunday pancakes at my gran's", 3*time.Second, 9*time.Second)
	observedMatch(t, h, "m3", "cyd", "my first concert", 3*time.Second, 9*time.Second)
	got := h.Learned("what's your FAVORITE memory?", "m3", []string{"ann"}, 5)
	if !slices.Equal(got, []string{"sunday pancakes at my gran's"}) {
		t.Errorf("learned %q, want only bob's answer (ann plays this match, m3 is this match)", got)
	}
	if got := h.Style("m3", 5); !slices.Equal(got, []string{"sunday pancakes at my gran's", "the day my sister was born"}) {
		t.Errorf("style %q, want the other matches' answers, newest first", got)
	}
	var nilPlay *HumanPlay
	if nilPlay.Learned("x", "m", nil, 3) != nil || nilPlay.Style("m", 3) != nil {
		t.Error("a nil HumanPlay knows answers")
	}
}

// The plan carries what HumanPlay learnt into the commands.
func TestPlanWithHumanPlay(t *testing.T) {
	h := NewHumanPlay()
	observedMatch(t, h, "other", "zed", "a snow day in 2009", 3*time.Second, 9*time.Second)
	s := started(t)
	s.Rounds[0].Prompt = "What's your favorite memory?"
	c := planWith(s, t0, sent{}, h).commands[0]
	if !slices.Equal(c.Learned, []string{"a snow day in 2009"}) || !slices.Equal(c.Style, []string{"a snow day in 2009"}) {
		t.Fatalf("command learned %q, style %q", c.Learned, c.Style)
	}
}

// Robots' answers are remembered by prompt, for later matches to avoid.
func TestHumanPlayRemembersWhatRobotsSaid(t *testing.T) {
	h := NewHumanPlay()
	s2 := game.New("m3")
	created, joined, begun := quickOfTwo("What's your favorite memory?", "cyd", "Cyd")
	for _, p := range []events.Payload{created, joined, begun} {
		ev := events.MustNew("m3", events.SourceGateway, t0, p)
		if err := game.Apply(s2, ev); err != nil {
			t.Fatal(err)
		}
	}
	e := events.MustNew("m3", events.SourceRobot, t0.Add(10*time.Second), &events.AnswerSubmitted{Seat: "B", Round: 1, Text: "robot words"})
	if err := game.Apply(s2, e); err != nil {
		t.Fatal(err)
	}
	h.Observe(s2, e)
	if got := h.RobotSaid("What's your favorite memory?", "m4", 5); !slices.Equal(got, []string{"robot words"}) {
		t.Errorf("robots said %q elsewhere, want the robot's answer", got)
	}
	if got := h.RobotSaid("What's your favorite memory?", "m3", 5); len(got) != 0 {
		t.Errorf("the current match's robot answers count as elsewhere: %q", got)
	}
	if got := h.Learned("What's your favorite memory?", "m4", nil, 5); slices.Contains(got, "robot words") {
		t.Error("a robot's answer was learned as a human's")
	}
}

// Apply learns from a fact once: a redelivered copy teaches nothing more,
// a refused fact nothing at all.
func TestHumanPlayApplyLearnsOnce(t *testing.T) {
	h := NewHumanPlay()
	s := game.New("m1")
	created, joined, begun := quickOfTwo("p", "ann", "Ann")
	for _, p := range []events.Payload{created, joined, begun} {
		if err := h.Apply(s, events.MustNew("m1", events.SourceGateway, t0, p)); err != nil {
			t.Fatal(err)
		}
	}
	answer := events.MustNew("m1", events.SourceGateway, t0.Add(5*time.Second), &events.AnswerSubmitted{Seat: "A", Round: 1, Text: "hi"})
	for range 2 {
		if err := h.Apply(s, answer); err != nil {
			t.Fatal(err)
		}
	}
	late := events.MustNew("m1", events.SourceGateway, t0.Add(6*time.Second), &events.AnswerSubmitted{Seat: "A", Round: 1, Text: "again"})
	if err := h.Apply(s, late); err == nil {
		t.Fatal("a second answer was applied")
	}
	if n := len(h.rounds[40_000].items); n != 1 {
		t.Fatalf("%d rounds learnt, want 1", n)
	}
	var none *HumanPlay
	if err := none.Apply(game.New("m2"), events.MustNew("m2", events.SourceGateway, t0, &events.MatchEnded{Reason: events.EndAbandoned})); err == nil {
		t.Fatal("a nil HumanPlay does not apply like game.Apply")
	}
}
