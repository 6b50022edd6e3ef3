package game

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/arena-hq/arena/modules/events"
)

// fullMatch is a whole quick match of Ada (seat C) against the robots
// A (curious-student), D (skeptical-scientist) and B (creative-artist),
// moved on by every kind of event the orchestrator may use. The scores it
// should produce are worked out by hand in TestFullMatch.
func fullMatch(tb testing.TB) *matchLog {
	l := newLog(tb).lobby(ada).wait(10 * time.Second).add(&events.DeadlineReached{Phase: events.PhaseLobby})
	typeAll := func(round int) {
		for _, seat := range []string{"B", "C", "A", "D"} {
			l.add(&events.Typing{Seat: seat, Round: round})
		}
	}
	votes := func(round int, pairs ...string) {
		for i := 0; i < len(pairs); i += 2 {
			l.add(&events.VoteCast{Voter: pairs[i], Seat: pairs[i+1], Round: round})
		}
	}

	// Round 1, begun by the lobby timer: all answer, all vote.
	typeAll(1)
	l.wait(5 * time.Second).answerAll(1)
	votes(1, "C", "A", "A", "C", "D", "C", "B", "A")

	// Round 2, begun by round.started.
	l.add(&events.RoundStarted{Round: 2})
	typeAll(2)
	l.answerAll(2)
	votes(2, "C", "D", "A", "B", "D", "C", "B", "C")

	// Round 3, begun by the results timer. Ada lets the answer window close;
	// robot B does not vote before the vote window closes.
	l.add(&events.DeadlineReached{Phase: events.PhaseResults, Round: 2})
	typeAll(3)
	l.add(
		&events.AnswerSubmitted{Seat: "A", Round: 3, Text: "robot answer A", ProcessingMs: 900},
		&events.AnswerSubmitted{Seat: "D", Round: 3, Text: "robot answer D", ProcessingMs: 1200},
		&events.AnswerSubmitted{Seat: "B", Round: 3, Text: "robot answer B", ProcessingMs: 700},
	)
	l.wait(40 * time.Second).add(&events.DeadlineReached{Phase: events.PhaseAnswering, Round: 3})
	l.add(&events.AnswerSubmitted{Seat: "C", Round: 3, Text: "too slow"}) // late: rejected
	votes(3, "C", "A", "A", "D", "D", "B")
	l.wait(30 * time.Second).add(&events.DeadlineReached{Phase: events.PhaseVoting, Round: 3})

	// Round 4: every robot spots Ada.
	l.add(&events.RoundStarted{Round: 4})
	l.answerAll(4)
	votes(4, "C", "B", "A", "C", "D", "C", "B", "C")
	l.addEnv(l.evs[len(l.evs)-1]) // a redelivered vote

	// Round 5: nobody votes.
	l.add(&events.DeadlineReached{Phase: events.PhaseResults, Round: 4})
	l.answerAll(5)
	l.wait(30 * time.Second).add(&events.DeadlineReached{Phase: events.PhaseVoting, Round: 5})
	l.add(&events.DeadlineReached{Phase: events.PhaseResults, Round: 5})
	return l
}

// replay applies l's events to a new state, checking the invariants after
// each one, and returns the state and the codes of the rejections.
func replay(tb testing.TB, l *matchLog) (*State, []string) {
	tb.Helper()
	s := New(testMatch)
	var rejected []string
	for _, e := range l.evs {
		round, phase := s.Round, s.Phase
		if err := Apply(s, e); err != nil {
			rejected = append(rejected, RejectionCode(err))
		}
		checkInvariants(tb, s, round, phase)
	}
	return s, rejected
}

func TestFullMatch(t *testing.T) {
	l := fullMatch(t)
	s, rejected := replay(t, l)
	if !slices.Equal(rejected, []string{CodeLate}) {
		t.Errorf("rejections %v, want only the late answer", rejected)
	}
	assertFinished(t, s, events.EndCompleted, l.evs[len(l.evs)-1].Time)

	// Worked by hand: +100 to a voter who picks C (Ada, the only human);
	// +50 to Ada for each robot that voted and did not pick her, in the
	// rounds she answered.
	wantAwards := []map[string]int{
		{"A": 100, "B": 0, "C": 50, "D": 100},  // C→A A→C D→C B→A: B missed her
		{"A": 0, "B": 100, "C": 50, "D": 100},  // C→D A→B D→C B→C: A missed her
		{"A": 0, "B": 0, "C": 0, "D": 0},       // C→A A→D D→B, B silent: Ada gave no answer, so no blend-in points
		{"A": 100, "B": 100, "C": 0, "D": 100}, // C→B A→C D→C B→C: all found her
		{"A": 0, "B": 0, "C": 0, "D": 0},       // nobody voted
	}
	for i, want := range wantAwards {
		if got := s.Rounds[i].Awards; !maps.Equal(got, want) {
			t.Errorf("round %d awards %v, want %v", i+1, got, want)
		}
	}
	wantScores := map[string]int{"A": 200, "B": 200, "C": 100, "D": 300}
	if !maps.Equal(s.Scores, wantScores) {
		t.Errorf("scores %v, want %v", s.Scores, wantScores)
	}

	r3 := s.Rounds[2]
	if a := r3.answerOf("C"); a == nil || !a.NoAnswer || a.Text != "(no answer)" {
		t.Errorf("Ada's round 3 answer: %+v", a)
	}
	// D answered 6 s into round 3: after four typing events and A's answer.
	if a := r3.answerOf("D"); a == nil || a.ProcessingMs != 1200 || a.ResponseMs != 6000 {
		t.Errorf("D's round 3 answer: %+v", a)
	}

	v := ViewFor(s, "C")
	if !slices.Equal(v.Winners, []string{"D"}) || !maps.Equal(v.Scores, wantScores) || v.EndReason != events.EndCompleted {
		t.Errorf("winners %v, scores %v, reason %q", v.Winners, v.Scores, v.EndReason)
	}
	wantReveal := []RevealView{
		{Seat: "A", Name: "Curious Student", Personality: "curious-student", Model: "model-alpha", Score: 200, Correct: 2, Votes: 4},
		{Seat: "B", Name: "Creative Artist", Personality: "creative-artist", Model: "model-gamma", Score: 200, Correct: 2, Votes: 3},
		{Seat: "C", Human: true, Name: "Ada Lovelace", Score: 100, Correct: 0, Votes: 4},
		{Seat: "D", Name: "Skeptical Scientist", Personality: "skeptical-scientist", Model: "model-beta", Score: 300, Correct: 3, Votes: 4},
	}
	if !slices.Equal(v.Reveal, wantReveal) {
		t.Errorf("reveal\n%+v\nwant\n%+v", v.Reveal, wantReveal)
	}
	if len(v.Answers) != 20 || len(v.Votes) != 4+4+3+4 || len(v.Timeline) != len(s.Timeline) {
		t.Errorf("%d answers, %d votes, %d timeline entries", len(v.Answers), len(v.Votes), len(v.Timeline))
	}
}

func TestMatchEndedAfterLastResults(t *testing.T) {
	l := fullMatch(t)
	l.evs = l.evs[:len(l.evs)-1]
	l.add(&events.MatchEnded{Reason: events.EndCompleted})
	s, _ := replay(t, l)
	assertFinished(t, s, events.EndCompleted, l.evs[len(l.evs)-1].Time)
	if v := ViewFor(s, ""); !slices.Equal(v.Winners, []string{"D"}) {
		t.Errorf("winners %v", v.Winners)
	}
}

func TestAbandonedMatchHasNoWinners(t *testing.T) {
	s := newLog(t).voting().add(&events.MatchEnded{Reason: events.EndAbandoned}).state()
	v := ViewFor(s, "")
	if v.Winners != nil || len(v.Reveal) != 4 || v.EndReason != events.EndAbandoned {
		t.Errorf("view %+v", v)
	}
}

func TestReplayIsDeterministic(t *testing.T) {
	l := fullMatch(t)
	once := Replay(testMatch, l.evs)
	assertSameState(t, "replayed twice", once, Replay(testMatch, l.evs))

	twice := New(testMatch)
	for _, e := range l.evs {
		_ = Apply(twice, e) // the log holds one late answer
		if err := Apply(twice, e); err != nil {
			t.Fatalf("redelivered %s: %v", e.ID, err)
		}
	}
	assertSameState(t, "every event delivered twice", once, twice)
}

// A module may bootstrap from a state published to match-state and go on
// applying the log from there: the state must survive its JSON encoding.
func TestReplayResumesFromEncodedState(t *testing.T) {
	l := fullMatch(t)
	want := Replay(testMatch, l.evs)
	for k := range l.evs {
		s := Replay(testMatch, l.evs[:k])
		var resumed State
		if err := json.Unmarshal(mustJSON(t, s), &resumed); err != nil {
			t.Fatal(err)
		}
		for _, e := range l.evs[k:] {
			_ = Apply(&resumed, e)
		}
		assertSameState(t, "resumed", want, &resumed)
	}
}
