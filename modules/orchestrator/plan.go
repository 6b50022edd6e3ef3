package orchestrator

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
)

// robotLead is the share of the answer window after which robots are asked
// to answer even if no human has answered yet, so that a robot with a slow
// model and a human-like delay still finishes inside the window.
const robotLead = 0.3

// resendAfter is how long a published deadline may take to come back through
// the log before it is published again. Its id is derived from the match,
// phase and round, so a second copy is a duplicate the reducer drops.
const resendAfter = 5 * time.Second

// plan is what one match needs from the clock at a given moment.
type plan struct {
	deadline *events.DeadlineReached // due now
	commands []*events.RobotCommand  // due now
	wake     time.Time               // when something next becomes due; zero: nothing
}

// sent remembers what the orchestrator published for a match and when.
type sent map[string]time.Time

// planFor derives the due facts of s from its state alone, so that a
// restarted or rebalanced orchestrator resumes every timer from the log.
// It is pure: the caller publishes and records what it returns.
func planFor(s *game.State, now time.Time, done sent) plan {
	var p plan
	if s.Phase == "" || s.Phase == events.PhaseFinished {
		return p
	}
	earliest := func(t time.Time) {
		if !t.IsZero() && (p.wake.IsZero() || t.Before(p.wake)) {
			p.wake = t
		}
	}

	due := s.Deadline
	if lobbyFull(s) {
		due = now // a full quick lobby has no one left to wait for
	}
	if !due.IsZero() {
		id := deadlineID(s)
		switch at, ok := done[id]; {
		case !now.Before(due) && (!ok || now.Sub(at) >= resendAfter):
			p.deadline = &events.DeadlineReached{Phase: s.Phase, Round: s.Round}
			earliest(now.Add(resendAfter))
		case ok:
			earliest(at.Add(resendAfter))
		default:
			earliest(due)
		}
	}

	r := s.CurrentRound()
	if r == nil {
		return p
	}
	switch s.Phase {
	case events.PhaseAnswering:
		at := answerDispatchAt(s, r)
		for _, seat := range robotSeats(s) {
			if hasAnswer(r, seat.Letter) {
				continue
			}
			id := commandID(s.MatchID, r.Number, seat.Letter, events.KindAnswer)
			if _, ok := done[id]; ok {
				continue
			}
			if now.Before(at) {
				earliest(at)
				continue
			}
			p.commands = append(p.commands, &events.RobotCommand{
				CommandID: id, Kind: events.KindAnswer, RobotID: seat.RobotID, Seat: seat.Letter, Round: r.Number,
				Prompt: r.Prompt, Answers: answersExcept(r, seat.Letter), DeadlineMs: s.Deadline.UnixMilli(),
				MaxChars: s.Settings.MaxAnswerChars,
			})
		}
	case events.PhaseVoting:
		for _, seat := range robotSeats(s) {
			if hasVote(r, seat.Letter) {
				continue
			}
			id := commandID(s.MatchID, r.Number, seat.Letter, events.KindVote)
			if _, ok := done[id]; ok {
				continue
			}
			p.commands = append(p.commands, &events.RobotCommand{
				CommandID: id, Kind: events.KindVote, RobotID: seat.RobotID, Seat: seat.Letter, Round: r.Number,
				Prompt: r.Prompt, Answers: answersExcept(r, ""), Candidates: candidates(s, seat.Letter),
				DeadlineMs: s.Deadline.UnixMilli(), MaxChars: s.Settings.MaxAnswerChars,
			})
		}
	}
	return p
}

// answerDispatchAt is when robots are asked to answer: as soon as the first
// human has answered (robots then answer like people who read the room),
// and at the latest a share of the window in, so they can finish.
func answerDispatchAt(s *game.State, r *game.Round) time.Time {
	latest := r.StartedAt.Add(time.Duration(float64(s.Settings.AnswerWindowMs)*robotLead) * time.Millisecond)
	for _, a := range r.Answers {
		if seat := s.SeatOf(a.Seat); seat != nil && seat.Human && !a.NoAnswer {
			if a.At.Before(latest) {
				return a.At
			}
			break
		}
	}
	return latest
}

// lobbyFull reports a quick match whose human seats are all taken.
func lobbyFull(s *game.State) bool {
	if s.Phase != events.PhaseLobby || s.Settings.Mode != events.ModeQuick {
		return false
	}
	humans := 0
	for _, seat := range s.Seats {
		if seat.Human {
			humans++
		}
	}
	return humans >= s.Settings.Humans
}

func deadlineID(s *game.State) string {
	return events.DerivedID(s.MatchID, "deadline", s.Phase, strconv.Itoa(s.Round))
}

func commandID(matchID string, round int, seat, kind string) string {
	return events.DerivedID(matchID, "command", strconv.Itoa(round), seat, kind)
}

func robotSeats(s *game.State) []game.Seat {
	var out []game.Seat
	for _, seat := range s.Seats {
		if !seat.Human && seat.RobotID != "" {
			out = append(out, seat)
		}
	}
	return out
}

func hasAnswer(r *game.Round, seat string) bool {
	return slices.ContainsFunc(r.Answers, func(a game.Answer) bool { return a.Seat == seat })
}

func hasVote(r *game.Round, voter string) bool {
	return slices.ContainsFunc(r.Votes, func(v game.Vote) bool { return v.Voter == voter })
}

// answersExcept lists the round's real answers, leaving out seat's own and
// the "(no answer)" placeholders, in seat order so prompts are stable.
func answersExcept(r *game.Round, seat string) []events.SeatText {
	var out []events.SeatText
	for _, a := range r.Answers {
		if a.Seat != seat && !a.NoAnswer {
			out = append(out, events.SeatText{Seat: a.Seat, Text: a.Text})
		}
	}
	slices.SortFunc(out, func(a, b events.SeatText) int { return strings.Compare(a.Seat, b.Seat) })
	return out
}

// candidates are the seats a voter may pick: every other seat.
func candidates(s *game.State, voter string) []string {
	var out []string
	for _, seat := range s.Seats {
		if seat.Letter != voter {
			out = append(out, seat.Letter)
		}
	}
	slices.Sort(out)
	return out
}
