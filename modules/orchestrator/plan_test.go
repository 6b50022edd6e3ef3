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

// Robots get their answer command when the round starts, with a schedule
// inside the window, whatever the human does.
func TestPlanRobotsAreAskedWhenTheRoundStarts(t *testing.T) {
	s := started(t)
	p := planFor(s, t0, sent{})
	if len(p.commands) != 3 {
		t.Fatalf("at the round's start: %d commands, want 3", len(p.commands))
	}
	for i, c := range p.commands {
		if want := []string{"B", "C", "D"}[i]; c.Seat != want {
			t.Fatalf("commands not in seat order: %s at %d", c.Seat, i)
		}
		if c.Kind != events.KindAnswer || c.Prompt != "p1" || c.Round != 1 || c.MaxChars != 100 ||
			c.DeadlineMs != t0.Add(40*time.Second).UnixMilli() || c.StartedMs != t0.UnixMilli() ||
			c.Slot != i || c.Slots != 3 {
			t.Fatalf("command: %+v", c)
		}
		if !c.Silent && (c.ReplyAfterMs <= 0 || c.ReplyAfterMs >= 40_000 || c.TypingAfterMs > c.ReplyAfterMs) {
			t.Fatalf("schedule outside the window: typing %d, reply %d", c.TypingAfterMs, c.ReplyAfterMs)
		}
	}
	// The same state plans the same commands: a re-sent command is the
	// same command, schedule included.
	again := planFor(s, t0.Add(3*time.Second), sent{})
	if a, b := again.commands[1], p.commands[1]; a.ReplyAfterMs != b.ReplyAfterMs || a.TypingAfterMs != b.TypingAfterMs || a.Silent != b.Silent {
		t.Fatalf("schedule not stable: %+v vs %+v", again.commands[1], p.commands[1])
	}
	// Sent commands are not sent again; a robot that answered gets none.
	done := sent{p.commands[0].CommandID: t0}
	answer(t, s, "A", 5*time.Second)
	answer(t, s, "C", 6*time.Second)
	p = planFor(s, t0.Add(7*time.Second), done)
	if len(p.commands) != 1 || p.commands[0].Seat != "D" {
		t.Fatalf("want only D's command, got %+v", p.commands)
	}
}

// Round 2's commands carry round 1's answers (not to be repeated) and the
// human's as style.
func TestPlanCarriesEarlierAnswersAndStyle(t *testing.T) {
	s := started(t)
	for _, seat := range []string{"A", "B", "C", "D"} {
		answer(t, s, seat, time.Duration(len(seat))*time.Second)
	}
	for _, p := range []events.Payload{
		&events.DeadlineReached{Phase: events.PhaseVoting, Round: 1},
		&events.DeadlineReached{Phase: events.PhaseResults, Round: 1},
	} {
		if err := game.Apply(s, events.MustNew("m1", events.SourceOrchestrator, t0.Add(time.Minute), p)); err != nil {
			t.Fatal(err)
		}
	}
	c := planFor(s, t0.Add(time.Minute), sent{}).commands[0]
	if c.Round != 2 || len(c.Earlier) != 4 || c.Earlier[0].Text != "hi A" || !slices.Equal(c.Style, []string{"hi A"}) {
		t.Fatalf("round 2 command: %+v", c)
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
		// One human: "no one" is a vote, for robots too.
		if c.Kind != events.KindVote || slices.Contains(c.Candidates, c.Seat) || len(c.Candidates) != 4 ||
			c.Candidates[3] != events.NoOne || len(c.Answers) != 0 || c.StartedMs != t0.Add(40*time.Second).UnixMilli() ||
			c.ReplyAfterMs <= 0 || c.ReplyAfterMs >= 20_000 {
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
