package orchestrator

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// started returns a 4-seat match (human A, robots B, C, D) in round 1,
// started at t0 with a 40s answer window.
func started(t *testing.T) *game.State {
	t.Helper()
	s := game.New("m1")
	apply := func(at time.Duration, p events.Payload) {
		e, err := events.New("m1", events.SourceGateway, t0.Add(at), p)
		if err != nil {
			t.Fatal(err)
		}
		if err := game.Apply(s, e); err != nil {
			t.Fatalf("%s: %v", e.Type, err)
		}
	}
	apply(-time.Second, &events.MatchCreated{
		Mode: events.ModePrivate, Code: "ABCDEF", Seats: 4, Humans: 1, Rounds: 2, Prompts: []string{"p1", "p2"},
		SeatOrder: []string{"A", "B", "C", "D"},
		Robots: []events.RobotSeat{
			{RobotID: "r1", Name: "R1", Model: "m"}, {RobotID: "r2", Name: "R2", Model: "m"}, {RobotID: "r3", Name: "R3", Model: "m"},
		},
		AnswerWindowMs: 40_000, VoteWindowMs: 20_000, ResultsPauseMs: 1000, LobbyWaitMs: 1000, IdleTimeoutMs: 60_000, MaxAnswerChars: 100,
	})
	apply(-time.Second, &events.PlayerJoined{PlayerID: "p", Name: "Ann", TokenHash: strings.Repeat("ab", 32)})
	apply(0, &events.MatchStarted{By: "A"})
	return s
}

func answer(t *testing.T, s *game.State, seat string, at time.Duration) {
	t.Helper()
	e := events.MustNew("m1", events.SourceGateway, t0.Add(at), &events.AnswerSubmitted{Seat: seat, Round: s.Round, Text: "hi " + seat})
	if err := game.Apply(s, e); err != nil {
		t.Fatal(err)
	}
}

func TestPlanRobotsWaitForFirstHumanOrLeadTime(t *testing.T) {
	s := started(t)
	// Nothing due at the start; wake at 30% of the window (12s).
	p := planFor(s, t0.Add(time.Second), sent{})
	if len(p.commands) != 0 || p.deadline != nil || !p.wake.Equal(t0.Add(12*time.Second)) {
		t.Fatalf("at 1s: %+v", p)
	}
	// At the lead time all three robots are asked.
	p = planFor(s, t0.Add(12*time.Second), sent{})
	if len(p.commands) != 3 {
		t.Fatalf("at 12s: %d commands", len(p.commands))
	}
	// A human answering at 5s brings the robots forward, with the answer as context.
	answer(t, s, "A", 5*time.Second)
	p = planFor(s, t0.Add(5*time.Second), sent{})
	if len(p.commands) != 3 {
		t.Fatalf("after the human answered: %d commands", len(p.commands))
	}
	c := p.commands[0]
	if c.Kind != events.KindAnswer || c.Prompt != "p1" || c.Round != 1 || c.MaxChars != 100 ||
		c.DeadlineMs != t0.Add(40*time.Second).UnixMilli() || len(c.Answers) != 1 || c.Answers[0].Seat != "A" {
		t.Fatalf("command: %+v", c)
	}
	// Sent commands are not sent again; a robot that answered gets none.
	if p.commands[0].Seat != "B" {
		t.Fatalf("commands not in seat order: %+v", p.commands)
	}
	done := sent{p.commands[0].CommandID: t0}
	answer(t, s, "C", 6*time.Second)
	p = planFor(s, t0.Add(7*time.Second), done)
	if len(p.commands) != 1 || p.commands[0].Seat != "D" {
		t.Fatalf("want only D's command, got %+v", p.commands)
	}
}

func TestPlanDeadlineIsDueOnceThenResent(t *testing.T) {
	s := started(t)
	at := t0.Add(40 * time.Second)
	if p := planFor(s, at.Add(-time.Millisecond), sent{}); p.deadline != nil {
		t.Fatal("deadline due early")
	}
	p := planFor(s, at, sent{})
	if p.deadline == nil || p.deadline.Phase != events.PhaseAnswering || p.deadline.Round != 1 {
		t.Fatalf("deadline: %+v", p.deadline)
	}
	done := sent{deadlineID(s): at}
	if p := planFor(s, at.Add(time.Second), done); p.deadline != nil || !p.wake.Equal(at.Add(resendAfter)) {
		t.Fatalf("deadline resent too soon: %+v", p)
	}
	if p := planFor(s, at.Add(resendAfter), done); p.deadline == nil {
		t.Fatal("a deadline that never came back is not resent")
	}
}

func TestPlanVotesExcludeOwnSeat(t *testing.T) {
	s := started(t)
	e := events.MustNew("m1", events.SourceOrchestrator, t0.Add(40*time.Second), &events.DeadlineReached{Phase: events.PhaseAnswering, Round: 1})
	if err := game.Apply(s, e); err != nil {
		t.Fatal(err)
	}
	p := planFor(s, t0.Add(40*time.Second), sent{})
	if len(p.commands) != 3 {
		t.Fatalf("%d vote commands", len(p.commands))
	}
	for _, c := range p.commands {
		if c.Kind != events.KindVote || slices.Contains(c.Candidates, c.Seat) || len(c.Candidates) != 3 || len(c.Answers) != 0 {
			t.Fatalf("vote command %+v", c)
		}
		if c.CommandID != commandID("m1", 1, c.Seat, events.KindVote) {
			t.Fatal("command id is not derived from match, round, seat and kind")
		}
	}
}

func TestPlanFinishedMatchNeedsNothing(t *testing.T) {
	s := started(t)
	e := events.MustNew("m1", events.SourceGateway, t0.Add(time.Second), &events.MatchEnded{Reason: events.EndAbandoned})
	if err := game.Apply(s, e); err != nil {
		t.Fatal(err)
	}
	if p := planFor(s, t0.Add(time.Hour), sent{}); p.deadline != nil || len(p.commands) != 0 || !p.wake.IsZero() {
		t.Fatalf("finished match planned %+v", p)
	}
}

// A quick lobby starts as soon as its last human seat is taken.
func TestPlanFullQuickLobbyStartsAtOnce(t *testing.T) {
	s := game.New("q1")
	for i, p := range []events.Payload{
		&events.MatchCreated{
			Mode: events.ModeQuick, Seats: 3, Humans: 2, Rounds: 1, Prompts: []string{"p"}, SeatOrder: []string{"A", "B", "C"},
			Robots:         []events.RobotSeat{{RobotID: "r1", Name: "R1", Model: "m"}, {RobotID: "r2", Name: "R2", Model: "m"}},
			AnswerWindowMs: 1000, VoteWindowMs: 1000, LobbyWaitMs: 60_000, MaxAnswerChars: 10,
		},
		&events.PlayerJoined{PlayerID: "p1", Name: "Ann", TokenHash: strings.Repeat("ab", 32)},
	} {
		if err := game.Apply(s, events.MustNew("q1", events.SourceGateway, t0.Add(time.Duration(i)), p)); err != nil {
			t.Fatal(err)
		}
	}
	if p := planFor(s, t0.Add(time.Second), sent{}); p.deadline != nil {
		t.Fatal("a lobby with a free human seat started early")
	}
	if err := game.Apply(s, events.MustNew("q1", events.SourceGateway, t0.Add(time.Second),
		&events.PlayerJoined{PlayerID: "p2", Name: "Bo", TokenHash: strings.Repeat("cd", 32)})); err != nil {
		t.Fatal(err)
	}
	p := planFor(s, t0.Add(2*time.Second), sent{})
	if p.deadline == nil || p.deadline.Phase != events.PhaseLobby {
		t.Fatalf("full quick lobby not closed: %+v", p)
	}
	e := events.MustNew("q1", events.SourceOrchestrator, t0.Add(2*time.Second), p.deadline)
	if err := game.Apply(s, e); err != nil || s.Phase != events.PhaseAnswering || len(s.Seats) != 3 {
		t.Fatalf("lobby close did not start the match: %v, phase %s, %d seats", err, s.Phase, len(s.Seats))
	}
}
