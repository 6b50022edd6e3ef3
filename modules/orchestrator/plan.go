package orchestrator

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
)

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
// It is pure: the caller publishes and records what it returns. Robots are
// timed from the built-in prior; planWith times them from what the log
// taught a HumanPlay.
func planFor(s *game.State, now time.Time, done sent) plan {
	return planWith(s, now, done, nil)
}

// planWith is planFor with robots scheduled and styled from humans (nil:
// the prior only).
func planWith(s *game.State, now time.Time, done sent, humans *HumanPlay) plan {
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

	p.commands = robotCommands(s, humans, func(id string) bool { _, ok := done[id]; return ok })
	return p
}

// RobotCommands lists the commands the current phase of s asks of its
// robots that have not answered (or voted) yet, in seat order. Robots get
// their answer command as soon as the round starts, with a schedule drawn
// from how humans play (humans; nil for the prior): they call the model at
// once, hold the answer and show it when a human would have. The schedule
// is seeded by the command id, so a re-sent command is the same command.
// It is pure, and what the turing measure runs too.
func RobotCommands(s *game.State, humans *HumanPlay) []*events.RobotCommand {
	return robotCommands(s, humans, func(string) bool { return false })
}

// robotCommands is RobotCommands without the commands sent already, so a
// tick with nothing to send costs no lookups of style and learned answers.
func robotCommands(s *game.State, humans *HumanPlay, sent func(id string) bool) []*events.RobotCommand {
	r := s.CurrentRound()
	if r == nil {
		return nil
	}
	var out []*events.RobotCommand
	robots := robotSeats(s)
	switch s.Phase {
	case events.PhaseAnswering:
		var earlier []events.SeatText
		var style, learned, avoid []string
		context := sync.OnceFunc(func() {
			earlier = earlierAnswers(s)
			style = styleSamples(s, humans)
			learned = humans.Learned(r.Prompt, s.MatchID, playerIDs(s), maxLearned)
			avoid = humans.RobotSaid(r.Prompt, s.MatchID, maxAvoid)
		})
		for slot, seat := range robots {
			id := commandID(s, seat.Letter, events.KindAnswer)
			if hasAnswer(r, seat.Letter) || sent(id) {
				continue
			}
			context()
			t := humans.DrawRound(s.Settings.AnswerWindowMs, rngFor(id))
			c := &events.RobotCommand{
				CommandID: id, Kind: events.KindAnswer, RobotID: seat.RobotID, Model: seat.Model, Seat: seat.Letter, Round: r.Number,
				Prompt: r.Prompt, Answers: answersExcept(r, seat.Letter), DeadlineMs: s.Deadline.UnixMilli(),
				MaxChars:  s.Settings.MaxAnswerChars,
				StartedMs: windowStart(r.StartedAt, s), TypingAfterMs: max(t.TypingMs, 0), ReplyAfterMs: t.AnswerMs,
				Silent: t.AnswerMs < 0,
				Slot:   slot, Slots: len(robots), Earlier: earlier, Style: style, Learned: learned, Avoid: avoid,
			}
			if c.Silent {
				c.ReplyAfterMs = 0
			}
			out = append(out, c)
		}
	case events.PhaseVoting:
		for _, seat := range robots {
			id := commandID(s, seat.Letter, events.KindVote)
			if hasVote(r, seat.Letter) || sent(id) {
				continue
			}
			out = append(out, &events.RobotCommand{
				CommandID: id, Kind: events.KindVote, RobotID: seat.RobotID, Model: seat.Model, Seat: seat.Letter, Round: r.Number,
				Prompt: r.Prompt, Answers: answersExcept(r, ""), Candidates: candidates(s, seat.Letter),
				DeadlineMs: s.Deadline.UnixMilli(), MaxChars: s.Settings.MaxAnswerChars,
				StartedMs: windowStart(r.VotingAt, s), ReplyAfterMs: humans.DrawVote(s.Settings.VoteWindowMs, rngFor(id)),
			})
		}
	}
	return out
}

// How much text context a command carries: enough to match the room and
// reword an idea, small enough to keep commands small.
const (
	maxStyle   = 4
	maxLearned = 3
	maxAvoid   = 60
)

// earlierAnswers are the match's real answers of rounds before the current
// one, in round then seat order: what no robot may repeat.
func earlierAnswers(s *game.State) []events.SeatText {
	var out []events.SeatText
	for _, r := range s.Rounds[:max(len(s.Rounds)-1, 0)] {
		out = append(out, answersExcept(&r, "")...)
	}
	return out
}

// styleSamples are recent human answers of other matches, topped up with
// this match's humans' earlier answers while the log has few.
func styleSamples(s *game.State, humans *HumanPlay) []string {
	out := humans.Style(s.MatchID, maxStyle)
	for i := len(s.Rounds) - 2; i >= 0 && len(out) < maxStyle; i-- {
		for _, a := range s.Rounds[i].Answers {
			if seat := s.SeatOf(a.Seat); seat != nil && seat.Human && !a.NoAnswer && len(out) < maxStyle {
				out = append(out, a.Text)
			}
		}
	}
	return out
}

func playerIDs(s *game.State) []string {
	var out []string
	for _, seat := range s.Seats {
		if seat.Human && seat.PlayerID != "" {
			out = append(out, seat.PlayerID)
		}
	}
	return out
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

// commandID derives a command's id from the match, round, seat and kind,
// and the window's extension: a window extended for the clock's downtime
// asks its robots again (the commands of before may have expired with the
// old deadline), and a re-sent command is still the same command.
func commandID(s *game.State, seat, kind string) string {
	if s.ExtendedMs > 0 {
		return events.DerivedID(s.MatchID, "command", strconv.Itoa(s.Round), seat, kind, strconv.FormatInt(s.ExtendedMs, 10))
	}
	return events.DerivedID(s.MatchID, "command", strconv.Itoa(s.Round), seat, kind)
}

// windowStart is when the current window began, in unix ms, moved on by its
// extension: a robot's schedule resumes where the downtime stopped it.
func windowStart(opened time.Time, s *game.State) int64 {
	return opened.UnixMilli() + s.ExtendedMs
}

// downtimeMin is the silence of the log, when partitions are assigned,
// that counts as the clock having been down. A shorter gap is a rebalance
// or a quiet moment: the windows keep their deadlines.
const downtimeMin = 3 * time.Second

// extensionFor is the window.extended that gives the current window of s
// back the time the log was silent, from lastSeen (the last record anyone
// wrote to the orchestrator's partitions, or fact of the match) to now.
// Nil when the gap is short, when the window had run out before the
// silence began, or for the lobby (its timers wait for people, not on
// them). At most one whole window: a log that was merely quiet before the
// restart cannot buy more. It is pure.
func extensionFor(s *game.State, lastSeen, now time.Time) *events.WindowExtended {
	var window int64
	switch s.Phase {
	case events.PhaseAnswering:
		window = s.Settings.AnswerWindowMs
	case events.PhaseVoting:
		window = s.Settings.VoteWindowMs
	case events.PhaseResults:
		window = s.Settings.ResultsPauseMs
	default:
		return nil
	}
	gap := now.Sub(lastSeen)
	if lastSeen.IsZero() || gap < downtimeMin || !s.Deadline.After(lastSeen) {
		return nil
	}
	by := min(gap.Milliseconds(), window, events.MaxExtensionMs)
	if by < 1 {
		return nil
	}
	return &events.WindowExtended{Phase: s.Phase, Round: s.Round, ByMs: by}
}

// extensionID derives an extension's id from the window and what it was
// extended by so far: two orchestrators that see one gap write one fact.
func extensionID(s *game.State) string {
	return events.DerivedID(s.MatchID, "extend", s.Phase, strconv.Itoa(s.Round), strconv.FormatInt(s.ExtendedMs, 10))
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

// candidates are the seats a voter may pick: every other seat, and "no
// one" where the rules allow it.
func candidates(s *game.State, voter string) []string {
	var out []string
	for _, seat := range s.Seats {
		if seat.Letter != voter {
			out = append(out, seat.Letter)
		}
	}
	slices.Sort(out)
	if game.NoOneAllowed(s) {
		out = append(out, events.NoOne)
	}
	return out
}
