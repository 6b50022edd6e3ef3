package game

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arena-hq/arena/modules/events"
)

// ruleCase applies one event to a position of a match and says what must
// follow: want is the rejection code, or "" when the event applies.
type ruleCase struct {
	name  string
	setup func(l *matchLog)
	event events.Payload                                  // the event under test...
	env   func(l *matchLog) events.Envelope               // ...or its whole envelope
	want  string                                          // rejection code; "" = applied
	check func(t *testing.T, s *State, e events.Envelope) // after the event
}

func TestRules(t *testing.T) {
	none := func(*matchLog) {}
	created := func(l *matchLog) { l.create() }
	lobby := func(players ...*events.PlayerJoined) func(*matchLog) {
		return func(l *matchLog) { l.lobby(players...) }
	}
	answering := func(l *matchLog) { l.answering() }
	voting := func(l *matchLog) { l.voting() }
	results := func(l *matchLog) { l.results() }
	finished := func(l *matchLog) { l.finished() }
	round2 := func(l *matchLog) { l.results().add(&events.RoundStarted{Round: 2}) }
	raw := func(typ, data string) func(l *matchLog) events.Envelope {
		return func(l *matchLog) events.Envelope {
			e := l.next(&events.MatchEnded{Reason: events.EndCompleted})
			e.Type, e.Data = typ, json.RawMessage(data)
			return e
		}
	}

	cases := []ruleCase{
		// Every event.
		{name: "event before match.created", setup: none, event: ada, want: CodeNoMatch},
		{name: "deadline before match.created", setup: none, event: &events.DeadlineReached{Phase: "lobby"}, want: CodeNoMatch},
		{name: "event of another match", setup: created, env: func(l *matchLog) events.Envelope {
			return l.nextIn("m-other", ada)
		}, want: CodeWrongMatch},
		{name: "creation of another match", setup: none, env: func(l *matchLog) events.Envelope {
			return l.nextIn("m-other", settings())
		}, want: CodeWrongMatch},
		{name: "malformed payload", setup: answering, env: raw(events.TypeAnswerSubmitted, `{"seat":"c","round":1,"text":"hi"}`), want: CodeMalformed},
		{name: "payload not an object", setup: answering, env: raw(events.TypeVoteCast, `"B"`), want: CodeMalformed},
		{name: "envelope without time", setup: answering, env: func(l *matchLog) events.Envelope {
			e := l.next(&events.Typing{Seat: "A", Round: 1})
			e.Time = time.Time{}
			return e
		}, want: CodeMalformed},
		{name: "unknown type is skipped", setup: answering, env: raw("match.paused", `{"for":5}`), check: func(t *testing.T, s *State, e events.Envelope) {
			if _, seen := s.Seen[e.ID]; !seen {
				t.Error("unknown event's id not remembered")
			}
			if s.Events != 3 || len(s.Timeline) != 3 {
				t.Errorf("unknown event counted: events %d, timeline %d", s.Events, len(s.Timeline))
			}
		}},
		{name: "robot command", setup: answering, event: &events.RobotCommand{CommandID: "c1", Kind: events.KindAnswer, RobotID: "curious-student", Seat: "A", Round: 1, DeadlineMs: 1}, want: CodeNotMatchEvent},
		{name: "robot typing", setup: answering, event: &events.RobotTyping{CommandID: "c1", Seat: "A", Round: 1}, want: CodeNotMatchEvent},
		{name: "robot response", setup: answering, event: &events.ResponseGenerated{CommandID: "c1", Kind: events.KindAnswer, Seat: "A", Round: 1, Text: "hi"}, want: CodeNotMatchEvent},
		{name: "robot failure", setup: answering, event: &events.ResponseFailed{CommandID: "c1", Seat: "A", Round: 1}, want: CodeNotMatchEvent},
		{name: "robot event before match.created", setup: none, event: &events.RobotTyping{CommandID: "c1", Seat: "A", Round: 1}, want: CodeNotMatchEvent},

		// match.created
		{name: "quick match created", setup: none, event: settings(), check: func(t *testing.T, s *State, e events.Envelope) {
			want := phaseAt{events.PhaseLobby, 0, t0.Add(10 * time.Second)}
			want.assert(t, s)
			if !s.CreatedAt.Equal(t0) || s.Settings.Rounds != 5 || s.Scores == nil || len(s.Timeline) != 1 || s.Events != 1 {
				t.Errorf("created: %+v", s)
			}
		}},
		{name: "private match created, idle timeout", setup: none, event: privateSettings(600_000), check: func(t *testing.T, s *State, e events.Envelope) {
			phaseAt{events.PhaseLobby, 0, t0.Add(10 * time.Minute)}.assert(t, s)
		}},
		{name: "private match created, no idle timeout", setup: none, event: privateSettings(0), check: func(t *testing.T, s *State, e events.Envelope) {
			phaseAt{events.PhaseLobby, 0, time.Time{}}.assert(t, s)
		}},
		{name: "created twice", setup: created, event: settings(), want: CodeAlreadyCreated},
		{name: "created after start", setup: answering, event: settings(), want: CodeAlreadyCreated},

		// player.joined
		{name: "first player takes the first letter and hosts", setup: created, event: ada, check: func(t *testing.T, s *State, e events.Envelope) {
			c := s.SeatOf("C")
			if c == nil || !c.Human || c.Name != ada.Name || c.PlayerID != ada.PlayerID || c.TokenHash != ada.TokenHash || !c.JoinedAt.Equal(e.Time) {
				t.Errorf("seat C: %+v", c)
			}
			if s.Host != "C" || s.HumanByToken(ada.TokenHash) != c {
				t.Errorf("host %q", s.Host)
			}
			if last := s.Timeline[len(s.Timeline)-1]; last.Seat != "C" || last.Detail != "Ada Lovelace joined" {
				t.Errorf("timeline: %+v", last)
			}
		}},
		{name: "second player takes the next letter", setup: lobby(ada), event: bob, check: func(t *testing.T, s *State, e events.Envelope) {
			if a := s.SeatOf("A"); a == nil || a.Name != bob.Name || s.Host != "C" {
				t.Errorf("seat A %+v, host %q", a, s.Host)
			}
		}},
		{name: "human seats full", setup: lobby(ada, bob), event: cyd, want: CodeMatchFull},
		{name: "player joins twice", setup: lobby(ada), event: &events.PlayerJoined{PlayerID: ada.PlayerID, Name: "Ada again", TokenHash: ada.TokenHash}, want: CodeDuplicatePlayer},
		{name: "join after start", setup: answering, event: bob, want: CodeWrongPhase},
		{name: "join after the end", setup: finished, event: bob, want: CodeWrongPhase},

		// match.started
		{name: "lobby starts a match", setup: lobby(ada), event: &events.MatchStarted{By: "lobby"}, check: func(t *testing.T, s *State, e events.Envelope) {
			phaseAt{events.PhaseAnswering, 1, e.Time.Add(45 * time.Second)}.assert(t, s)
			assertRobots(t, s)
			r := s.CurrentRound()
			if r == nil || r.Number != 1 || r.Prompt != "prompt one" || !r.StartedAt.Equal(e.Time) {
				t.Errorf("round 1: %+v", r)
			}
		}},
		{name: "host starts a match", setup: lobby(ada, bob), event: &events.MatchStarted{By: "C"}, check: func(t *testing.T, s *State, e events.Envelope) {
			letters := []string{}
			for _, seat := range s.Seats {
				letters = append(letters, seat.Letter)
			}
			if !slices.Equal(letters, []string{"C", "A", "D", "B"}) || s.SeatOf("D").RobotID != "curious-student" || s.SeatOf("B").RobotID != "skeptical-scientist" {
				t.Errorf("seats %+v", s.Seats)
			}
		}},
		{name: "guest starts a match", setup: lobby(ada, bob), event: &events.MatchStarted{By: "A"}, want: CodeNotHost},
		{name: "empty seat starts a match", setup: lobby(ada), event: &events.MatchStarted{By: "D"}, want: CodeNotHost},
		{name: "start with no players", setup: created, event: &events.MatchStarted{By: "lobby"}, want: CodeNoPlayers},
		{name: "start twice", setup: answering, event: &events.MatchStarted{By: "lobby"}, want: CodeWrongPhase},

		// round.started
		{name: "next round starts", setup: results, event: &events.RoundStarted{Round: 2}, check: func(t *testing.T, s *State, e events.Envelope) {
			phaseAt{events.PhaseAnswering, 2, e.Time.Add(45 * time.Second)}.assert(t, s)
			if r := s.CurrentRound(); r.Number != 2 || r.Prompt != "prompt two" || len(s.Rounds) != 2 {
				t.Errorf("round 2: %+v", r)
			}
		}},
		{name: "round started while answering", setup: answering, event: &events.RoundStarted{Round: 2}, want: CodeWrongPhase},
		{name: "round started while voting", setup: voting, event: &events.RoundStarted{Round: 2}, want: CodeWrongPhase},
		{name: "round skipped", setup: results, event: &events.RoundStarted{Round: 3}, want: CodeWrongRound},
		{name: "round repeated", setup: results, event: &events.RoundStarted{Round: 1}, want: CodeWrongRound},
		{name: "round past the last", setup: func(l *matchLog) { l.lastRoundResults() }, event: &events.RoundStarted{Round: 6}, want: CodeWrongRound},
		{name: "round started after the end", setup: finished, event: &events.RoundStarted{Round: 2}, want: CodeWrongPhase},

		// typing
		{name: "typing", setup: answering, event: &events.Typing{Seat: "A", Round: 1}, check: func(t *testing.T, s *State, e events.Envelope) {
			if !slices.Equal(s.CurrentRound().Typing, []string{"A"}) || s.Events != 4 || len(s.Timeline) != 3 {
				t.Errorf("typing %v, events %d, timeline %d", s.CurrentRound().Typing, s.Events, len(s.Timeline))
			}
		}},
		{name: "typing again", setup: func(l *matchLog) { l.answering().add(&events.Typing{Seat: "A", Round: 1}) }, event: &events.Typing{Seat: "A", Round: 1}, check: func(t *testing.T, s *State, e events.Envelope) {
			if !slices.Equal(s.CurrentRound().Typing, []string{"A"}) {
				t.Errorf("typing %v", s.CurrentRound().Typing)
			}
		}},
		{name: "typing in the lobby", setup: lobby(ada), event: &events.Typing{Seat: "C", Round: 1}, want: CodeWrongPhase},
		{name: "typing while voting", setup: voting, event: &events.Typing{Seat: "C", Round: 1}, want: CodeWrongPhase},
		{name: "typing for another round", setup: answering, event: &events.Typing{Seat: "C", Round: 2}, want: CodeWrongRound},
		{name: "typing in an empty seat", setup: answering, event: &events.Typing{Seat: "E", Round: 1}, want: CodeUnknownSeat},
		{name: "typing after answering", setup: func(l *matchLog) { l.answering().add(&events.AnswerSubmitted{Seat: "C", Round: 1, Text: "hi"}) }, event: &events.Typing{Seat: "C", Round: 1}, want: CodeAlreadyAnswered},

		// answer.submitted
		{name: "answer", setup: func(l *matchLog) {
			l.answering().add(&events.Typing{Seat: "C", Round: 1}, &events.Typing{Seat: "A", Round: 1}).wait(7 * time.Second)
		}, event: &events.AnswerSubmitted{Seat: "C", Round: 1, Text: "  \tmy  dog\n ", ProcessingMs: 12}, check: func(t *testing.T, s *State, e events.Envelope) {
			r := s.CurrentRound()
			want := Answer{Seat: "C", Text: "my  dog", At: e.Time, ResponseMs: 10_000, ProcessingMs: 12}
			if len(r.Answers) != 1 || r.Answers[0] != want {
				t.Errorf("answers %+v, want %+v", r.Answers, want)
			}
			if !slices.Equal(r.Typing, []string{"A"}) {
				t.Errorf("typing %v", r.Typing)
			}
			if last := s.Timeline[len(s.Timeline)-1]; last.Type != events.TypeAnswerSubmitted || last.Seat != "C" || last.Detail != "my  dog" || last.Round != 1 {
				t.Errorf("timeline %+v", last)
			}
			phaseAt{events.PhaseAnswering, 1, r.StartedAt.Add(45 * time.Second)}.assert(t, s)
		}},
		{name: "answer of full length", setup: answering, event: &events.AnswerSubmitted{Seat: "C", Round: 1, Text: strings.Repeat("é", 20)}},
		{name: "last answer opens voting", setup: func(l *matchLog) {
			l.answering().add(
				&events.AnswerSubmitted{Seat: "A", Round: 1, Text: "a"},
				&events.AnswerSubmitted{Seat: "B", Round: 1, Text: "b"},
				&events.AnswerSubmitted{Seat: "C", Round: 1, Text: "c"},
				&events.Typing{Seat: "D", Round: 1},
			)
		}, event: &events.AnswerSubmitted{Seat: "D", Round: 1, Text: "d"}, check: func(t *testing.T, s *State, e events.Envelope) {
			phaseAt{events.PhaseVoting, 1, e.Time.Add(30 * time.Second)}.assert(t, s)
			if r := s.CurrentRound(); !r.VotingAt.Equal(e.Time) || len(r.Typing) != 0 || len(r.Answers) != 4 {
				t.Errorf("round %+v", r)
			}
		}},
		{name: "answer in the lobby", setup: lobby(ada), event: &events.AnswerSubmitted{Seat: "C", Round: 1, Text: "hi"}, want: CodeWrongPhase},
		{name: "answer for a future round", setup: answering, event: &events.AnswerSubmitted{Seat: "C", Round: 2, Text: "hi"}, want: CodeWrongRound},
		{name: "answer while voting", setup: voting, event: &events.AnswerSubmitted{Seat: "C", Round: 1, Text: "hi"}, want: CodeLate},
		{name: "answer at results", setup: results, event: &events.AnswerSubmitted{Seat: "C", Round: 1, Text: "hi"}, want: CodeLate},
		{name: "answer for a past round", setup: round2, event: &events.AnswerSubmitted{Seat: "C", Round: 1, Text: "hi"}, want: CodeLate},
		{name: "answer after the end", setup: finished, event: &events.AnswerSubmitted{Seat: "C", Round: 1, Text: "hi"}, want: CodeLate},
		{name: "answer from an empty seat", setup: answering, event: &events.AnswerSubmitted{Seat: "E", Round: 1, Text: "hi"}, want: CodeUnknownSeat},
		{name: "second answer", setup: func(l *matchLog) { l.answering().add(&events.AnswerSubmitted{Seat: "C", Round: 1, Text: "first"}) }, event: &events.AnswerSubmitted{Seat: "C", Round: 1, Text: "second"}, want: CodeAlreadyAnswered},
		{name: "blank answer", setup: answering, event: &events.AnswerSubmitted{Seat: "C", Round: 1, Text: " \n\t "}, want: CodeEmpty},
		{name: "empty answer", setup: answering, event: &events.AnswerSubmitted{Seat: "C", Round: 1}, want: CodeEmpty},
		{name: "answer too long", setup: answering, event: &events.AnswerSubmitted{Seat: "C", Round: 1, Text: strings.Repeat("é", 21)}, want: CodeTooLong},

		// vote.cast
		{name: "vote", setup: voting, event: &events.VoteCast{Voter: "C", Seat: "A", Round: 1}, check: func(t *testing.T, s *State, e events.Envelope) {
			r := s.CurrentRound()
			if len(r.Votes) != 1 || r.Votes[0] != (Vote{Voter: "C", Seat: "A", At: e.Time}) {
				t.Errorf("votes %+v", r.Votes)
			}
			if last := s.Timeline[len(s.Timeline)-1]; last.Seat != "C" || last.Detail != "voted A" {
				t.Errorf("timeline %+v", last)
			}
			phaseAt{events.PhaseVoting, 1, r.VotingAt.Add(30 * time.Second)}.assert(t, s)
		}},
		{name: "last vote closes voting", setup: func(l *matchLog) {
			l.voting().add(
				&events.VoteCast{Voter: "A", Seat: "C", Round: 1},
				&events.VoteCast{Voter: "B", Seat: "D", Round: 1},
				&events.VoteCast{Voter: "C", Seat: "A", Round: 1},
			)
		}, event: &events.VoteCast{Voter: "D", Seat: "C", Round: 1}, check: func(t *testing.T, s *State, e events.Envelope) {
			phaseAt{events.PhaseResults, 1, e.Time.Add(5 * time.Second)}.assert(t, s)
			// A and D spotted Ada: +100 each. B, a robot, did not pick her: +50 to Ada.
			want := map[string]int{"A": 100, "B": 0, "C": 50, "D": 100}
			if r := s.CurrentRound(); !maps.Equal(r.Awards, want) || !r.ClosedAt.Equal(e.Time) {
				t.Errorf("awards %v closed %v", r.Awards, r.ClosedAt)
			}
			if !maps.Equal(s.Scores, want) {
				t.Errorf("scores %v", s.Scores)
			}
		}},
		{name: "vote while answering", setup: answering, event: &events.VoteCast{Voter: "C", Seat: "A", Round: 1}, want: CodeWrongPhase},
		{name: "vote in the lobby", setup: lobby(ada), event: &events.VoteCast{Voter: "C", Seat: "A", Round: 1}, want: CodeWrongPhase},
		{name: "vote for a future round", setup: voting, event: &events.VoteCast{Voter: "C", Seat: "A", Round: 2}, want: CodeWrongRound},
		{name: "vote at results", setup: results, event: &events.VoteCast{Voter: "C", Seat: "B", Round: 1}, want: CodeLate},
		{name: "vote for a past round", setup: round2, event: &events.VoteCast{Voter: "C", Seat: "B", Round: 1}, want: CodeLate},
		{name: "vote from an empty seat", setup: voting, event: &events.VoteCast{Voter: "E", Seat: "A", Round: 1}, want: CodeUnknownSeat},
		{name: "vote for an empty seat", setup: voting, event: &events.VoteCast{Voter: "C", Seat: "E", Round: 1}, want: CodeUnknownSeat},
		{name: "vote for self", setup: voting, event: &events.VoteCast{Voter: "C", Seat: "C", Round: 1}, want: CodeSelfVote},
		{name: "second vote", setup: func(l *matchLog) { l.voting().add(&events.VoteCast{Voter: "C", Seat: "A", Round: 1}) }, event: &events.VoteCast{Voter: "C", Seat: "B", Round: 1}, want: CodeAlreadyVoted},

		// deadline.reached
		{name: "quick lobby wait over", setup: lobby(ada), event: &events.DeadlineReached{Phase: events.PhaseLobby}, check: func(t *testing.T, s *State, e events.Envelope) {
			phaseAt{events.PhaseAnswering, 1, e.Time.Add(45 * time.Second)}.assert(t, s)
			assertRobots(t, s)
		}},
		{name: "empty quick lobby", setup: created, event: &events.DeadlineReached{Phase: events.PhaseLobby}, check: func(t *testing.T, s *State, e events.Envelope) {
			assertFinished(t, s, events.EndAbandoned, e.Time)
		}},
		{name: "idle private lobby", setup: func(l *matchLog) { l.create(private).add(ada) }, event: &events.DeadlineReached{Phase: events.PhaseLobby}, check: func(t *testing.T, s *State, e events.Envelope) {
			assertFinished(t, s, events.EndAbandoned, e.Time)
			if len(s.Seats) != 1 {
				t.Errorf("seats %+v", s.Seats)
			}
		}},
		{name: "answering window closes", setup: func(l *matchLog) {
			l.answering().add(&events.AnswerSubmitted{Seat: "D", Round: 1, Text: "d"}, &events.Typing{Seat: "B", Round: 1}).wait(30 * time.Second)
		}, event: &events.DeadlineReached{Phase: events.PhaseAnswering, Round: 1}, check: func(t *testing.T, s *State, e events.Envelope) {
			phaseAt{events.PhaseVoting, 1, e.Time.Add(30 * time.Second)}.assert(t, s)
			r := s.CurrentRound()
			got := []string{}
			for _, a := range r.Answers {
				if a.NoAnswer != (a.Text == "(no answer)") || (a.NoAnswer && (!a.At.Equal(e.Time) || a.ResponseMs != 33_000)) {
					t.Errorf("answer %+v", a)
				}
				got = append(got, a.Seat)
			}
			if !slices.Equal(got, []string{"D", "A", "B", "C"}) || len(r.Typing) != 0 {
				t.Errorf("answers from %v, typing %v", got, r.Typing)
			}
			noAnswers := 0
			for _, entry := range s.Timeline {
				if entry.Detail == "(no answer)" {
					noAnswers++
				}
			}
			if noAnswers != 3 {
				t.Errorf("%d (no answer) entries in the timeline", noAnswers)
			}
		}},
		{name: "voting window closes", setup: func(l *matchLog) { l.voting().add(&events.VoteCast{Voter: "A", Seat: "B", Round: 1}) }, event: &events.DeadlineReached{Phase: events.PhaseVoting, Round: 1}, check: func(t *testing.T, s *State, e events.Envelope) {
			phaseAt{events.PhaseResults, 1, e.Time.Add(5 * time.Second)}.assert(t, s)
			// Only robot A voted, and not for Ada: +50 to her.
			if want := map[string]int{"A": 0, "B": 0, "C": 50, "D": 0}; !maps.Equal(s.Scores, want) {
				t.Errorf("scores %v", s.Scores)
			}
		}},
		{name: "results pause over", setup: results, event: &events.DeadlineReached{Phase: events.PhaseResults, Round: 1}, check: func(t *testing.T, s *State, e events.Envelope) {
			phaseAt{events.PhaseAnswering, 2, e.Time.Add(45 * time.Second)}.assert(t, s)
			if s.CurrentRound().Prompt != "prompt two" {
				t.Errorf("round %+v", s.CurrentRound())
			}
		}},
		{name: "last results pause over", setup: func(l *matchLog) { l.lastRoundResults() }, event: &events.DeadlineReached{Phase: events.PhaseResults, Round: 5}, check: func(t *testing.T, s *State, e events.Envelope) {
			assertFinished(t, s, events.EndCompleted, e.Time)
		}},
		{name: "deadline of a left phase", setup: voting, event: &events.DeadlineReached{Phase: events.PhaseAnswering, Round: 1}, want: CodeStaleDeadline},
		{name: "deadline of a past round", setup: round2, event: &events.DeadlineReached{Phase: events.PhaseAnswering, Round: 1}, want: CodeStaleDeadline},
		{name: "lobby deadline after start", setup: answering, event: &events.DeadlineReached{Phase: events.PhaseLobby}, want: CodeStaleDeadline},
		{name: "deadline after the end", setup: finished, event: &events.DeadlineReached{Phase: events.PhaseResults, Round: 1}, want: CodeStaleDeadline},

		// match.ended
		{name: "match completed", setup: func(l *matchLog) { l.lastRoundResults() }, event: &events.MatchEnded{Reason: events.EndCompleted}, check: func(t *testing.T, s *State, e events.Envelope) {
			assertFinished(t, s, events.EndCompleted, e.Time)
		}},
		{name: "lobby abandoned", setup: lobby(ada), event: &events.MatchEnded{Reason: events.EndAbandoned}, check: func(t *testing.T, s *State, e events.Envelope) {
			assertFinished(t, s, events.EndAbandoned, e.Time)
		}},
		{name: "match ended while voting", setup: voting, event: &events.MatchEnded{Reason: events.EndAbandoned}, check: func(t *testing.T, s *State, e events.Envelope) {
			assertFinished(t, s, events.EndAbandoned, e.Time)
		}},
		{name: "match ended twice", setup: finished, event: &events.MatchEnded{Reason: events.EndCompleted}, want: CodeAlreadyFinished},

		// rematch.created
		{name: "play again", setup: finished, event: &events.RematchCreated{MatchID: "m-next", Code: "ABCDEF"}, check: func(t *testing.T, s *State, e events.Envelope) {
			if s.Rematch == nil || *s.Rematch != (events.RematchCreated{MatchID: "m-next", Code: "ABCDEF"}) {
				t.Errorf("rematch %+v", s.Rematch)
			}
		}},
		{name: "play again before the end", setup: results, event: &events.RematchCreated{MatchID: "m-next"}, want: CodeWrongPhase},
		{name: "play again twice", setup: func(l *matchLog) { l.finished().add(&events.RematchCreated{MatchID: "m-next"}) }, event: &events.RematchCreated{MatchID: "m-other"}, want: CodeDuplicateRematch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newLog(t)
			tc.setup(l)
			s := l.state()
			var e events.Envelope
			if tc.env != nil {
				e = tc.env(l)
			} else {
				e = l.next(tc.event)
			}
			before := mustJSON(t, s)

			checked := Check(s, e)
			if got := mustJSON(t, s); string(got) != string(before) {
				t.Fatalf("Check changed the state")
			}
			err := Apply(s, e)
			if RejectionCode(checked) != tc.want || RejectionCode(err) != tc.want || (err == nil) != (tc.want == "") || (checked == nil) != (tc.want == "") {
				t.Fatalf("want %q; Check said %v, Apply said %v", tc.want, checked, err)
			}
			if _, seen := s.Seen[e.ID]; !seen {
				t.Errorf("event id not remembered")
			}
			if tc.want != "" {
				assertOnlyRejected(t, s, e, err, before)
			}
			if tc.check != nil {
				tc.check(t, s, e)
			}
			checkInvariants(t, s, l.state().Round, l.state().Phase)

			// A redelivered copy changes nothing, whatever the verdict.
			after := mustJSON(t, s)
			if err := Apply(s, e); err != nil || string(mustJSON(t, s)) != string(after) || !IsDuplicate(s, e) {
				t.Errorf("duplicate changed the state or said %v", err)
			}
		})
	}
}

// assertOnlyRejected checks that a rejection changed nothing but Seen and
// Rejections.
func assertOnlyRejected(t *testing.T, s *State, e events.Envelope, err error, before []byte) {
	t.Helper()
	var rej *Rejection
	if !errors.As(err, &rej) {
		t.Fatalf("error %T is not a *Rejection", err)
	}
	if rej.EventID != e.ID || rej.Type != e.Type || rej.Reason == "" || !strings.Contains(rej.Error(), rej.Code) {
		t.Errorf("rejection %+v", rej)
	}
	if n := len(s.Rejections); n == 0 || s.Rejections[n-1] != *rej {
		t.Fatalf("rejection not recorded: %+v", s.Rejections)
	}
	restored := *s
	restored.Seen = maps.Clone(s.Seen)
	delete(restored.Seen, e.ID)
	restored.Rejections = s.Rejections[:len(s.Rejections)-1]
	if len(restored.Rejections) == 0 {
		restored.Rejections = nil
	}
	if got := mustJSON(t, &restored); string(got) != string(before) {
		t.Errorf("rejection changed the state:\n%s\n%s", before, got)
	}
}

// phaseAt is where a match should be.
type phaseAt struct {
	phase    string
	round    int
	deadline time.Time
}

func (p phaseAt) assert(t *testing.T, s *State) {
	t.Helper()
	if s.Phase != p.phase || s.Round != p.round || !s.Deadline.Equal(p.deadline) {
		t.Errorf("at %s of round %d, deadline %v; want %s of round %d, deadline %v",
			s.Phase, s.Round, s.Deadline, p.phase, p.round, p.deadline)
	}
}

func assertFinished(t *testing.T, s *State, reason string, at time.Time) {
	t.Helper()
	phaseAt{events.PhaseFinished, s.Round, time.Time{}}.assert(t, s)
	if s.EndReason != reason || !s.EndedAt.Equal(at) {
		t.Errorf("ended %q at %v; want %q at %v", s.EndReason, s.EndedAt, reason, at)
	}
}

// assertRobots checks that Ada's match was filled with the roster in order.
func assertRobots(t *testing.T, s *State) {
	t.Helper()
	want := []Seat{
		{Letter: "A", Name: "Curious Student", RobotID: "curious-student", Model: "model-alpha"},
		{Letter: "D", Name: "Skeptical Scientist", RobotID: "skeptical-scientist", Model: "model-beta"},
		{Letter: "B", Name: "Creative Artist", RobotID: "creative-artist", Model: "model-gamma"},
	}
	if len(s.Seats) != 4 {
		t.Fatalf("seats %+v", s.Seats)
	}
	for i, w := range want {
		got := s.Seats[i+1]
		w.JoinedAt = got.JoinedAt
		if got != w || got.JoinedAt.IsZero() {
			t.Errorf("seat %d: %+v, want %+v", i+1, got, w)
		}
	}
}

func privateSettings(idleMs int64) *events.MatchCreated {
	c := settings()
	private(c)
	c.IdleTimeoutMs = idleMs
	return c
}

func TestRejectionsAreBounded(t *testing.T) {
	l := newLog(t).answering()
	s := l.state()
	for i := range 40 {
		e := l.next(&events.VoteCast{Voter: "C", Seat: "A", Round: 1})
		e.ID = "flood-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		if RejectionCode(Apply(s, e)) != CodeWrongPhase {
			t.Fatal("vote while answering applied")
		}
	}
	if len(s.Rejections) != maxRejections || s.Rejections[0].EventID != "flood-ia" || s.Rejections[31].EventID != "flood-nb" {
		t.Errorf("%d rejections, first %s, last %s", len(s.Rejections), s.Rejections[0].EventID, s.Rejections[len(s.Rejections)-1].EventID)
	}
	if s.Events != 3 {
		t.Errorf("rejections counted as events: %d", s.Events)
	}
}

func TestZeroStateIsUsable(t *testing.T) {
	var s State
	e := newLog(t).next(settings())
	if err := Apply(&s, e); err != nil {
		t.Fatal(err)
	}
	if s.MatchID != testMatch || s.Phase != events.PhaseLobby || !IsDuplicate(&s, e) {
		t.Errorf("state %+v", s)
	}
}
