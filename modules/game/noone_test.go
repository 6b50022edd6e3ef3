package game

import (
	"maps"
	"slices"
	"testing"

	"github.com/arena-hq/arena/modules/events"
)

// A solo player has a right answer: "no one" scores, and the robots that
// did not pick her pay her blend-in points.
func TestSoloNoOneVoteScores(t *testing.T) {
	l := newLog(t).voting() // Ada in C, robots A, D, B, everyone answered
	l.add(
		&events.VoteCast{Voter: "C", Seat: events.NoOne, Round: 1},
		&events.VoteCast{Voter: "A", Seat: "C", Round: 1},
		&events.VoteCast{Voter: "B", Seat: events.NoOne, Round: 1}, // a robot may say it too: wrong, Ada is there
		&events.VoteCast{Voter: "D", Seat: "A", Round: 1},
	)
	s := l.state()
	want := map[string]int{"A": 100, "B": 0, "C": 100 + 2*PointsBlendedIn, "D": 0}
	if got := s.Rounds[0].Awards; !maps.Equal(got, want) {
		t.Fatalf("awards %v, want %v", got, want)
	}
	if !ViewFor(s, "C").NoOneVote {
		t.Error("a quick match's view does not offer the no-one vote")
	}
}

// With a second human in the match, "no one" is a wrong pick, and where
// players know it (a private match), not a vote at all.
func TestNoOneVoteWithTwoHumans(t *testing.T) {
	quick := newLog(t).lobby(ada, bob).add(&events.MatchStarted{By: "lobby"}).answerAll(1)
	quick.add(&events.VoteCast{Voter: "C", Seat: events.NoOne, Round: 1})
	s := quick.state()
	if !ViewFor(s, "C").NoOneVote {
		t.Fatal("a quick match must offer no one: its players cannot know how many humans joined")
	}
	quick.add(&events.DeadlineReached{Phase: events.PhaseVoting, Round: 1})
	if got := quick.state().Rounds[0].Awards["C"]; got != 0 {
		t.Errorf("Ada said no one with Bob in the match and won %d", got)
	}

	priv := newLog(t).create(private).add(ada, bob, &events.MatchStarted{By: "C"}).answerAll(1)
	s = priv.state()
	if ViewFor(s, "C").NoOneVote {
		t.Error("a private match of two humans offers no one")
	}
	err := Apply(s, priv.next(&events.VoteCast{Voter: "C", Seat: events.NoOne, Round: 1}))
	if RejectionCode(err) != CodeUnknownSeat {
		t.Fatalf("no-one vote with two humans in a private match: %v, want %s", err, CodeUnknownSeat)
	}

	solo := newLog(t).create(private).add(ada, &events.MatchStarted{By: "C"}).answerAll(1)
	solo.add(&events.VoteCast{Voter: "C", Seat: events.NoOne, Round: 1})
	s = solo.state()
	if !ViewFor(s, "C").NoOneVote {
		t.Error("a private match of one human does not offer no one")
	}
	solo.add(&events.DeadlineReached{Phase: events.PhaseVoting, Round: 1})
	s = solo.state()
	if got := s.Rounds[0].Awards["C"]; got != PointsSpotted {
		t.Errorf("solo private no-one vote won %d, want %d", got, PointsSpotted)
	}
	if rv := ViewFor(finish(t, solo), "C").Reveal; rv[slices.IndexFunc(rv, func(r RevealView) bool { return r.Seat == "C" })].Correct != 1 {
		t.Errorf("reveal does not count the no-one vote as right: %+v", rv)
	}
}

func finish(t *testing.T, l *matchLog) *State {
	t.Helper()
	return l.add(&events.MatchEnded{Reason: events.EndCompleted}).state()
}

// A human who let the window close earns nothing for blending in.
func TestNoBlendInPointsWithoutAnAnswer(t *testing.T) {
	l := newLog(t).answering()
	l.add(
		&events.AnswerSubmitted{Seat: "A", Round: 1, Text: "robot a"},
		&events.AnswerSubmitted{Seat: "B", Round: 1, Text: "robot b"},
		&events.AnswerSubmitted{Seat: "D", Round: 1, Text: "robot d"},
		&events.DeadlineReached{Phase: events.PhaseAnswering, Round: 1},
		&events.VoteCast{Voter: "A", Seat: "B", Round: 1},
		&events.VoteCast{Voter: "B", Seat: "D", Round: 1},
		&events.VoteCast{Voter: "D", Seat: "A", Round: 1},
		&events.VoteCast{Voter: "C", Seat: "A", Round: 1},
	)
	if got := l.state().Rounds[0].Awards["C"]; got != 0 {
		t.Fatalf("Ada gave no answer and won %d blend-in points", got)
	}
}

// Answers are shown by seat letter, whatever order they arrived in.
func TestAnswersShownInSeatOrder(t *testing.T) {
	l := newLog(t).answering()
	for _, seat := range []string{"C", "D", "A", "B"} { // the human first
		l.add(&events.AnswerSubmitted{Seat: seat, Round: 1, Text: "answer of " + seat})
	}
	var got []string
	for _, a := range ViewFor(l.state(), "C").Answers {
		got = append(got, a.Seat)
	}
	if !slices.Equal(got, []string{"A", "B", "C", "D"}) {
		t.Fatalf("answers shown in order %v, want seat order", got)
	}
}
