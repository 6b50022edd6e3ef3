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
		if c.CommandID != events.DerivedID("m1", "command", "1", c.Seat, events.KindVote) {
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

// A window that was running when the log fell silent gets the silence back,
// at most one whole window; a short gap (a rebalance), a window that had run
// out before the silence, and the lobby get nothing.
func TestExtensionForTheClocksDowntime(t *testing.T) {
	s := started(t) // answering, 40 s window from t0
	for _, c := range []struct {
		name          string
		lastSeen, now time.Duration // after t0
		want          int64         // ms; 0: no extension
	}{
		{"down 30 s mid-window", 10 * time.Second, 40 * time.Second, 30_000},
		{"down past the deadline", 35 * time.Second, 95 * time.Second, 60_000 - 20_000}, // capped at the 40 s window
		{"a rebalance", 10 * time.Second, 12 * time.Second, 0},
		{"the window had run out before the silence", 41 * time.Second, 90 * time.Second, 0},
	} {
		x := extensionFor(s, t0.Add(c.lastSeen), t0.Add(c.now))
		switch {
		case c.want == 0 && x != nil:
			t.Errorf("%s: extension %+v, want none", c.name, x)
		case c.want != 0 && (x == nil || x.ByMs != c.want || x.Phase != events.PhaseAnswering || x.Round != 1):
			t.Errorf("%s: extension %+v, want %d ms of answering round 1", c.name, x, c.want)
		}
	}
	lobby := game.New("m2")
	_ = game.Apply(lobby, events.MustNew("m2", events.SourceGateway, t0, &events.MatchCreated{
		Mode: events.ModeQuick, Seats: 4, Humans: 2, Rounds: 1, Prompts: []string{"p"}, SeatOrder: []string{"A", "B", "C", "D"},
		Robots:         []events.RobotSeat{{RobotID: "r1", Name: "R1"}, {RobotID: "r2", Name: "R2"}, {RobotID: "r3", Name: "R3"}},
		AnswerWindowMs: 1000, VoteWindowMs: 1000, ResultsPauseMs: 1000, LobbyWaitMs: 30_000, IdleTimeoutMs: 60_000, MaxAnswerChars: 10,
	}))
	if lobby.Phase != events.PhaseLobby {
		t.Fatalf("the lobby match is in %q", lobby.Phase)
	}
	if x := extensionFor(lobby, t0, t0.Add(20*time.Second)); x != nil {
		t.Errorf("a lobby got an extension %+v", x)
	}
}

// Once the extension is in the log the deadline moves, the robots are asked
// again under new command ids with the new deadline, and their schedules
// start where the downtime stopped them; the deadline comes at the new time.
func TestExtendedWindowAsksRobotsAgain(t *testing.T) {
	s := started(t)
	before := planFor(s, t0, sent{})
	x := extensionFor(s, t0.Add(10*time.Second), t0.Add(40*time.Second))
	first := extensionID(s)
	e, err := events.NewWithID(first, "m1", events.SourceOrchestrator, t0.Add(40*time.Second), x)
	if err != nil {
		t.Fatal(err)
	}
	if err := game.Apply(s, e); err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(70 * time.Second); !s.Deadline.Equal(want) || s.ExtendedMs != 30_000 {
		t.Fatalf("deadline %v (extended %d ms), want %v", s.Deadline, s.ExtendedMs, want)
	}
	if extensionID(s) == first {
		t.Fatal("a second extension of the same window would share the first one's id")
	}
	done := sent{}
	for _, c := range before.commands {
		done[c.CommandID] = t0
	}
	p := planFor(s, t0.Add(40*time.Second), done)
	if len(p.commands) != 3 || p.deadline != nil {
		t.Fatalf("after the extension: %d commands and deadline %+v, want 3 new commands and no deadline", len(p.commands), p.deadline)
	}
	for i, c := range p.commands {
		if c.CommandID == before.commands[i].CommandID {
			t.Errorf("seat %s is asked under its old command id", c.Seat)
		}
		if c.DeadlineMs != s.Deadline.UnixMilli() || c.StartedMs != t0.Add(30*time.Second).UnixMilli() {
			t.Errorf("command %+v: want deadline %d and the window's start moved on by 30 s", c, s.Deadline.UnixMilli())
		}
	}
	if p := planFor(s, t0.Add(69*time.Second), done); p.deadline != nil {
		t.Fatal("the deadline came at the old time")
	}
	if p := planFor(s, t0.Add(70*time.Second), done); p.deadline == nil {
		t.Fatal("no deadline at the extended time")
	}
}
