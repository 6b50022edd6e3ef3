package game

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arena-hq/arena/modules/events"
)

// secrets are strings that tell who is human (or which robot is which) and
// so must not appear in any view before the match is finished.
func secrets() []string {
	out := []string{`"human"`, "personality", "reveal", "timeline", "winners"}
	for _, p := range []*events.PlayerJoined{ada, bob} {
		out = append(out, p.Name, p.PlayerID, p.TokenHash)
	}
	for _, r := range roster {
		out = append(out, r.RobotID, r.Name, r.Model)
	}
	return out
}

// assertNoLeak fails if a view of s, for any seat or a spectator, tells
// more than a player may know before the reveal.
func assertNoLeak(t *testing.T, s *State, after string) {
	t.Helper()
	for _, seat := range []string{"", "A", "B", "C", "D"} {
		v := ViewFor(s, seat)
		js := string(mustJSON(t, v))
		for _, secret := range secrets() {
			if strings.Contains(strings.ToLower(js), strings.ToLower(secret)) {
				t.Fatalf("after %s, the view of seat %q shows %q: %s", after, seat, secret, js)
			}
		}
		if len(v.Scores) != 0 || v.Scores == nil || v.Reveal != nil || v.Timeline != nil || v.Winners != nil {
			t.Fatalf("after %s, the view of seat %q shows results: %s", after, seat, js)
		}
	}
}

func TestViewNeverLeaksBeforeTheReveal(t *testing.T) {
	matches := map[string]*matchLog{
		"1 human": fullMatch(t),
		"2 humans": newLog(t).lobby(ada, bob).add(&events.MatchStarted{By: "C"}).
			answerAll(1).voteAll(1).add(&events.DeadlineReached{Phase: events.PhaseResults, Round: 1}).
			add(&events.MatchEnded{Reason: events.EndAbandoned}),
	}
	for name, l := range matches {
		t.Run(name, func(t *testing.T) {
			s := New(testMatch)
			for _, e := range l.evs {
				_ = Apply(s, e)
				if s.Phase == events.PhaseFinished {
					v := ViewFor(s, "")
					if len(v.Reveal) != 4 || len(v.Scores) != 4 || v.Timeline == nil {
						t.Fatalf("finished view without the reveal: %+v", v)
					}
					return
				}
				assertNoLeak(t, s, e.ID+" "+e.Type)
			}
			t.Fatal("the match never finished")
		})
	}
}

func TestLobbyViewShowsOnlyYourSeat(t *testing.T) {
	s := newLog(t).lobby(ada, bob).state()
	for seat, want := range map[string][]SeatView{"C": {{Seat: "C"}}, "A": {{Seat: "A"}}, "": {}} {
		v := ViewFor(s, seat)
		// A quick match starts on its own: no one is its host. Nor does
		// its lobby count the humans who joined.
		if !slices.Equal(v.Seats, want) || v.Joined != 0 || v.Host {
			t.Errorf("lobby view of %q: seats %+v, joined %d, host %v", seat, v.Seats, v.Joined, v.Host)
		}
	}
	if v := ViewFor(newLog(t).create(private).add(ada, bob).state(), "C"); v.Joined != 2 {
		t.Errorf("a private lobby counts %d players, want 2", v.Joined)
	}
	if v := ViewFor(s, "C"); v.Deadline == nil || !v.Deadline.Equal(t0.Add(10*time.Second)) || v.SeatsTotal != 4 || v.Rounds != 5 || v.MaxAnswerChars != 20 || v.Version != 3 {
		t.Errorf("lobby view %+v", v)
	}
}

func TestViewOfAPrivateMatchGivesTheCodeToPlayersOnly(t *testing.T) {
	s := newLog(t).create(private).add(ada, bob).state()
	if v := ViewFor(s, "C"); v.Code != "QWERTY" || v.Mode != events.ModePrivate || v.Deadline == nil || !v.Host {
		t.Errorf("host view %+v", v)
	}
	if v := ViewFor(s, ""); v.Code != "" {
		t.Errorf("spectator sees the code %q", v.Code)
	}
	if v := ViewFor(s, "A"); v.Code != "QWERTY" || v.Host {
		t.Errorf("guest view %+v", v)
	}
	if v := ViewFor(s, "D"); v.Code != "" || v.You != "" {
		t.Errorf("an empty seat sees the code %q or sits as %q", v.Code, v.You)
	}
}

func TestViewWhileAnswering(t *testing.T) {
	l := newLog(t).results().add(&events.RoundStarted{Round: 2}).add(
		&events.Typing{Seat: "B", Round: 2},
		&events.Typing{Seat: "D", Round: 2},
		&events.AnswerSubmitted{Seat: "D", Round: 2, Text: "secret so far"},
	)
	s := l.state()
	v := ViewFor(s, "C")
	want := []SeatView{{Seat: "A"}, {Seat: "B", Typing: true}, {Seat: "C"}, {Seat: "D", Answered: true}}
	if !slices.Equal(v.Seats, want) {
		t.Errorf("seats %+v", v.Seats)
	}
	if p := v.Prompts; len(p) != 2 || p[0] != (RoundPrompt{1, s.Rounds[0].Prompt}) || p[1] != (RoundPrompt{2, "prompt two"}) {
		t.Errorf("prompts of the rounds begun: %+v", p)
	}
	if v.Phase != events.PhaseAnswering || v.Round != 2 || v.Prompt != "prompt two" || v.You != "C" || v.Host {
		t.Errorf("view %+v", v)
	}
	for _, a := range v.Answers {
		if a.Round != 1 {
			t.Errorf("current round's answer shown while answering: %+v", a)
		}
	}
	if len(v.Answers) != 4 || len(v.Votes) != 4 || v.Votes[0] != (VoteView{Round: 1, Voter: "A", Seat: "C"}) {
		t.Errorf("answers %+v votes %+v", v.Answers, v.Votes)
	}
	if v.Deadline == nil || !v.Deadline.Equal(s.Deadline) || v.Version != s.Events {
		t.Errorf("deadline %v version %d", v.Deadline, v.Version)
	}
	// The view shares nothing with the state.
	*v.Deadline = time.Time{}
	if s.Deadline.IsZero() {
		t.Error("the view's deadline points into the state")
	}
}

func TestViewWhileVoting(t *testing.T) {
	s := newLog(t).voting().add(&events.VoteCast{Voter: "B", Seat: "A", Round: 1}).state()
	v := ViewFor(s, "A")
	want := []SeatView{{Seat: "A"}, {Seat: "B", Voted: true}, {Seat: "C"}, {Seat: "D"}}
	if !slices.Equal(v.Seats, want) || v.Host || v.You != "A" {
		t.Errorf("view %+v", v)
	}
	wantAnswers := []AnswerView{
		{Round: 1, Seat: "A", Text: "answer of A"}, {Round: 1, Seat: "B", Text: "answer of B"},
		{Round: 1, Seat: "C", Text: "answer of C"}, {Round: 1, Seat: "D", Text: "answer of D"},
	}
	if !slices.Equal(v.Answers, wantAnswers) || len(v.Votes) != 0 {
		t.Errorf("answers %+v votes %+v", v.Answers, v.Votes)
	}
}

func TestViewAtResults(t *testing.T) {
	s := newLog(t).results().state()
	v := ViewFor(s, "")
	if len(v.Votes) != 4 || v.You != "" || v.Host || len(v.Scores) != 0 {
		t.Errorf("view %+v", v)
	}
	for _, sv := range v.Seats {
		if sv.Answered || sv.Typing || sv.Voted {
			t.Errorf("seat %+v at results", sv)
		}
	}
}

func TestViewOfNoMatch(t *testing.T) {
	v := ViewFor(New(testMatch), "A")
	if v.MatchID != testMatch || v.Phase != "" || v.Seats == nil || v.Answers == nil || v.Votes == nil || v.Scores == nil || v.Deadline != nil {
		t.Errorf("view %+v", v)
	}
}

func TestViewAfterPlayAgain(t *testing.T) {
	s := newLog(t).finished().add(&events.RematchCreated{MatchID: "m-next"}).state()
	if v := ViewFor(s, "C"); v.Rematch != "m-next" || v.Deadline != nil {
		t.Errorf("view %+v", v)
	}
}
