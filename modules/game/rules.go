package game

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/arena-hq/arena/modules/events"
)

// byLobby is MatchStarted.By when a quick match's lobby wait ran out.
const byLobby = "lobby"

// noAnswerText is the placeholder answer of a seat that let the window close.
const noAnswerText = "(no answer)"

// Each rule below judges one event type: it checks the fact against the
// state without touching it, and returns the move that applies it.

func createMatch(s *State, e events.Envelope, c *events.MatchCreated) (move, *Rejection) {
	if s.Phase != "" {
		return nil, reject(CodeAlreadyCreated, "match %s already exists", s.MatchID)
	}
	return func(s *State) {
		s.MatchID = e.MatchID
		s.Settings = *c
		s.CreatedAt = e.Time
		s.Phase = events.PhaseLobby
		s.Deadline = lobbyDeadline(c, e.Time)
		s.Scores = map[string]int{}
		if s.Seen == nil {
			s.Seen = map[string]struct{}{}
		}
		s.Timeline = []TimelineEntry{}
		s.note(e, 0, "", fmt.Sprintf("%s match, %d seats, %d rounds", c.Mode, c.Seats, c.Rounds))
	}, nil
}

// lobbyDeadline is when a lobby's timer runs out: a quick match starts after
// its wait; a private one is abandoned if its host never starts it.
func lobbyDeadline(c *events.MatchCreated, created time.Time) time.Time {
	if c.Mode == events.ModeQuick {
		return created.Add(ms(c.LobbyWaitMs))
	}
	if c.IdleTimeoutMs > 0 {
		return created.Add(ms(c.IdleTimeoutMs))
	}
	return time.Time{}
}

func joinPlayer(s *State, e events.Envelope, j *events.PlayerJoined) (move, *Rejection) {
	if s.Phase != events.PhaseLobby {
		return nil, reject(CodeWrongPhase, "players join only in the lobby, not in %s", s.Phase)
	}
	for _, seat := range s.Seats {
		if seat.PlayerID == j.PlayerID {
			return nil, reject(CodeDuplicatePlayer, "player already sits in seat %s", seat.Letter)
		}
	}
	if slices.Contains(s.Kicked, j.PlayerID) {
		return nil, reject(CodeKicked, "the host removed this player from the match")
	}
	if s.humans() >= s.Settings.Humans || len(s.Seats) >= len(s.Settings.SeatOrder) {
		return nil, reject(CodeMatchFull, "all %d human seats are taken", s.Settings.Humans)
	}
	letter := s.nextLetter()
	return func(s *State) {
		s.Seats = append(s.Seats, Seat{
			Letter:    letter,
			Human:     true,
			Name:      j.Name,
			PlayerID:  j.PlayerID,
			TokenHash: j.TokenHash,
			JoinedAt:  e.Time,
		})
		if s.Host == "" {
			s.Host = letter
		}
		s.Scores[letter] = 0
		s.note(e, 0, letter, j.Name+" joined")
	}, nil
}

func startMatch(s *State, e events.Envelope, st *events.MatchStarted) (move, *Rejection) {
	if s.Phase != events.PhaseLobby {
		return nil, reject(CodeWrongPhase, "the match already started")
	}
	if s.humans() == 0 {
		return nil, reject(CodeNoPlayers, "no human has joined")
	}
	if st.By != byLobby && st.By != s.Host {
		return nil, reject(CodeNotHost, "only the host (seat %s) starts the match", s.Host)
	}
	return func(s *State) {
		seat := ""
		if st.By != byLobby {
			seat = st.By
		}
		s.note(e, 1, seat, "started by "+st.By)
		s.start(e.Time)
	}, nil
}

func startRound(s *State, e events.Envelope, r *events.RoundStarted) (move, *Rejection) {
	if s.Phase != events.PhaseResults {
		return nil, reject(CodeWrongPhase, "a round starts only after the previous round's results, not in %s", s.Phase)
	}
	if r.Round != s.Round+1 || r.Round > s.Settings.Rounds {
		return nil, reject(CodeWrongRound, "round %d cannot follow round %d of %d", r.Round, s.Round, s.Settings.Rounds)
	}
	return func(s *State) {
		s.note(e, r.Round, "", fmt.Sprintf("round %d", r.Round))
		s.beginRound(r.Round, e.Time)
	}, nil
}

// typing is not written to the timeline: it is presence, not history.
func typing(s *State, t *events.Typing) (move, *Rejection) {
	if s.Phase != events.PhaseAnswering {
		return nil, reject(CodeWrongPhase, "typing only counts while answering, not in %s", s.Phase)
	}
	if t.Round != s.Round {
		return nil, reject(CodeWrongRound, "typing for round %d in round %d", t.Round, s.Round)
	}
	if s.SeatOf(t.Seat) == nil {
		return nil, reject(CodeUnknownSeat, "no one sits in seat %s", t.Seat)
	}
	r := s.CurrentRound()
	if r.answerOf(t.Seat) != nil {
		return nil, reject(CodeAlreadyAnswered, "seat %s already answered round %d", t.Seat, t.Round)
	}
	return func(s *State) {
		r := s.CurrentRound()
		if !slices.Contains(r.Typing, t.Seat) {
			r.Typing = append(r.Typing, t.Seat)
		}
	}, nil
}

func submitAnswer(s *State, e events.Envelope, a *events.AnswerSubmitted) (move, *Rejection) {
	if rej := inTime(s, a.Round, events.PhaseAnswering); rej != nil {
		return nil, rej
	}
	if s.SeatOf(a.Seat) == nil {
		return nil, reject(CodeUnknownSeat, "no one sits in seat %s", a.Seat)
	}
	if s.CurrentRound().answerOf(a.Seat) != nil {
		return nil, reject(CodeAlreadyAnswered, "seat %s already answered round %d", a.Seat, a.Round)
	}
	text := strings.TrimSpace(a.Text)
	if text == "" {
		return nil, reject(CodeEmpty, "an answer needs some text")
	}
	if n := utf8.RuneCountInString(text); n > s.Settings.MaxAnswerChars {
		return nil, reject(CodeTooLong, "answer has %d characters, at most %d allowed", n, s.Settings.MaxAnswerChars)
	}
	return func(s *State) {
		r := s.CurrentRound()
		r.Answers = append(r.Answers, Answer{
			Seat:         a.Seat,
			Text:         text,
			At:           e.Time,
			ResponseMs:   sinceMs(r.StartedAt, e.Time),
			ProcessingMs: a.ProcessingMs,
		})
		r.Typing = slices.DeleteFunc(r.Typing, func(seat string) bool { return seat == a.Seat })
		if seat := s.SeatOf(a.Seat); a.Model != "" && !seat.Human {
			seat.AnsweredBy = a.Model
		}
		s.note(e, r.Number, a.Seat, text)
		if len(r.Answers) == len(s.Seats) {
			s.openVoting(e.Time)
		}
	}, nil
}

func castVote(s *State, e events.Envelope, v *events.VoteCast) (move, *Rejection) {
	if rej := inTime(s, v.Round, events.PhaseVoting); rej != nil {
		return nil, rej
	}
	if s.SeatOf(v.Voter) == nil {
		return nil, reject(CodeUnknownSeat, "no one sits in seat %s", v.Voter)
	}
	switch {
	case v.Seat == events.NoOne && !NoOneAllowed(s):
		return nil, reject(CodeUnknownSeat, "\"no one\" is not a vote here: this match has more than one human")
	case v.Seat != events.NoOne && s.SeatOf(v.Seat) == nil:
		return nil, reject(CodeUnknownSeat, "no one sits in seat %s", v.Seat)
	}
	if v.Voter == v.Seat {
		return nil, reject(CodeSelfVote, "seat %s cannot vote for itself", v.Voter)
	}
	if s.CurrentRound().voteOf(v.Voter) != nil {
		return nil, reject(CodeAlreadyVoted, "seat %s already voted in round %d", v.Voter, v.Round)
	}
	return func(s *State) {
		r := s.CurrentRound()
		r.Votes = append(r.Votes, Vote{Voter: v.Voter, Seat: v.Seat, At: e.Time})
		s.note(e, r.Number, v.Voter, "voted "+v.Seat)
		if len(r.Votes) == len(s.Seats) {
			s.closeVoting(e.Time)
		}
	}, nil
}

// NoOneAllowed reports whether "no one, they are all robots" is a vote in
// s: wherever no other human may be present, so that every voter has a
// right answer. That is a match with one human, and any quick match, whose
// players cannot know how many humans joined.
func NoOneAllowed(s *State) bool {
	return s.Settings.Mode == events.ModeQuick || s.humans() == 1
}

// extendWindow gives the current window back the time the clock was down
// (see events.WindowExtended). The rules take any positive extension of the
// window the match is in; how much is the orchestrator's call.
func extendWindow(s *State, e events.Envelope, w *events.WindowExtended) (move, *Rejection) {
	if w.Phase != s.Phase || w.Round != s.Round {
		return nil, reject(CodeStaleDeadline, "extension of %s in round %d, but the match is in %s of round %d",
			w.Phase, w.Round, s.Phase, s.Round)
	}
	return func(s *State) {
		by := ms(w.ByMs)
		s.Deadline = s.Deadline.Add(by)
		s.ExtendedMs += w.ByMs
		s.note(e, s.Round, "", fmt.Sprintf("%s window extended by %s: the clock was down", w.Phase, by.Round(time.Second)))
	}, nil
}

// window opens a new timed window ending at deadline (zero: none), with no
// extension yet.
func (s *State) window(deadline time.Time) {
	s.Deadline = deadline
	s.ExtendedMs = 0
}

// reachDeadline moves the match on when a phase's timer runs out, so a
// player who leaves or idles never stalls it.
func reachDeadline(s *State, e events.Envelope, d *events.DeadlineReached) (move, *Rejection) {
	if d.Phase != s.Phase || d.Round != s.Round {
		return nil, reject(CodeStaleDeadline, "deadline of %s in round %d, but the match is in %s of round %d",
			d.Phase, d.Round, s.Phase, s.Round)
	}
	switch d.Phase {
	case events.PhaseLobby:
		if s.Settings.Mode == events.ModeQuick && s.humans() > 0 {
			return func(s *State) {
				s.note(e, 1, "", "lobby wait over, started")
				s.start(e.Time)
			}, nil
		}
		return func(s *State) {
			s.note(e, 0, "", "lobby idle, abandoned")
			s.finish(events.EndAbandoned, e.Time)
		}, nil
	case events.PhaseAnswering:
		return func(s *State) {
			s.note(e, s.Round, "", "answering closed")
			s.fillMissingAnswers(e)
			s.openVoting(e.Time)
		}, nil
	case events.PhaseVoting:
		return func(s *State) {
			s.note(e, s.Round, "", "voting closed")
			s.closeVoting(e.Time)
		}, nil
	default: // results
		return func(s *State) {
			if s.Round < s.Settings.Rounds {
				s.note(e, s.Round+1, "", fmt.Sprintf("round %d", s.Round+1))
				s.beginRound(s.Round+1, e.Time)
				return
			}
			s.note(e, s.Round, "", "match completed")
			s.finish(events.EndCompleted, e.Time)
		}, nil
	}
}

func endMatch(s *State, e events.Envelope, m *events.MatchEnded) (move, *Rejection) {
	if s.Phase == events.PhaseFinished {
		return nil, reject(CodeAlreadyFinished, "the match already ended (%s)", s.EndReason)
	}
	return func(s *State) {
		s.note(e, s.Round, "", m.Reason)
		s.finish(m.Reason, e.Time)
	}, nil
}

func createRematch(s *State, e events.Envelope, r *events.RematchCreated) (move, *Rejection) {
	if s.Phase != events.PhaseFinished {
		return nil, reject(CodeWrongPhase, "play again only once the match is finished")
	}
	if s.Rematch != nil {
		return nil, reject(CodeDuplicateRematch, "play again already leads to match %s", s.Rematch.MatchID)
	}
	return func(s *State) {
		rematch := *r
		s.Rematch = &rematch
		s.note(e, s.Round, "", "play again: "+r.MatchID)
	}, nil
}

// phaseRank orders the phases of a round, so that a fact for a phase the
// round has already left can be told apart from one that comes too early.
var phaseRank = map[string]int{
	events.PhaseLobby:     0,
	events.PhaseAnswering: 1,
	events.PhaseVoting:    2,
	events.PhaseResults:   3,
	events.PhaseFinished:  4,
}

// inTime checks that a fact about round belongs to phase want of the
// current round. One for an earlier round, or for a phase the round has
// left, is late: the usual fate of an answer or vote racing a deadline.
func inTime(s *State, round int, want string) *Rejection {
	switch {
	case s.Round == 0:
		return reject(CodeWrongPhase, "no round has begun")
	case round > s.Round:
		return reject(CodeWrongRound, "round %d has not begun; the match is in round %d", round, s.Round)
	case round < s.Round || phaseRank[s.Phase] > phaseRank[want]:
		return reject(CodeLate, "%s of round %d is over", want, round)
	case s.Phase != want:
		return reject(CodeWrongPhase, "round %d is in %s, not %s", round, s.Phase, want)
	}
	return nil
}

// The moves below are the transitions shared by several rules.

// start fills the seats no human took with robots from the roster, in
// order, and begins round 1.
func (s *State) start(at time.Time) {
	for _, robot := range s.Settings.Robots {
		if len(s.Seats) >= s.Settings.Seats || len(s.Seats) >= len(s.Settings.SeatOrder) {
			break
		}
		letter := s.nextLetter()
		s.Seats = append(s.Seats, Seat{
			Letter:   letter,
			Name:     robot.Name,
			RobotID:  robot.RobotID,
			Model:    robot.Model,
			JoinedAt: at,
		})
		s.Scores[letter] = 0
	}
	s.beginRound(1, at)
}

func (s *State) beginRound(n int, at time.Time) {
	prompt := ""
	if n <= len(s.Settings.Prompts) {
		prompt = s.Settings.Prompts[n-1]
	}
	s.Phase = events.PhaseAnswering
	s.Round = n
	s.Rounds = append(s.Rounds, Round{Number: n, Prompt: prompt, StartedAt: at})
	s.window(at.Add(ms(s.Settings.AnswerWindowMs)))
}

// fillMissingAnswers gives every seat that let the window close the
// "(no answer)" placeholder, so each seat has exactly one answer to vote on.
func (s *State) fillMissingAnswers(e events.Envelope) {
	r := s.CurrentRound()
	for _, seat := range s.sortedLetters() {
		if r.answerOf(seat) != nil {
			continue
		}
		r.Answers = append(r.Answers, Answer{
			Seat:       seat,
			Text:       noAnswerText,
			At:         e.Time,
			ResponseMs: sinceMs(r.StartedAt, e.Time),
			NoAnswer:   true,
		})
		s.note(e, r.Number, seat, noAnswerText)
	}
	r.Typing = nil
}

func (s *State) openVoting(at time.Time) {
	r := s.CurrentRound()
	r.Typing = nil
	r.VotingAt = at
	s.Phase = events.PhaseVoting
	s.window(at.Add(ms(s.Settings.VoteWindowMs)))
}

// closeVoting scores the current round and shows its results.
func (s *State) closeVoting(at time.Time) {
	r := s.CurrentRound()
	r.ClosedAt = at
	r.Awards = s.awards(r)
	for seat, points := range r.Awards {
		s.Scores[seat] += points
	}
	s.Phase = events.PhaseResults
	s.window(at.Add(ms(s.Settings.ResultsPauseMs)))
}

func (s *State) finish(reason string, at time.Time) {
	s.Phase = events.PhaseFinished
	s.EndReason = reason
	s.EndedAt = at
	s.window(time.Time{})
}

// note appends e to the timeline. Entries may hold names and answers: the
// timeline is only shown after the reveal.
func (s *State) note(e events.Envelope, round int, seat, detail string) {
	s.Timeline = append(s.Timeline, TimelineEntry{At: e.Time, Type: e.Type, Round: round, Seat: seat, Detail: detail})
}

func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

// sinceMs is the milliseconds from start to at; never negative, as log
// times written by different machines may be slightly out of order.
func sinceMs(start, at time.Time) int64 {
	return max(at.Sub(start).Milliseconds(), 0)
}
