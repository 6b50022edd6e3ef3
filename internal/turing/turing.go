// Package turing measures how well arena's robots pass for human. It plays
// matches of one simulated human (human-like timing and answers) against
// the robots, with the code the server runs: the reducer (game), the
// orchestrator's robot plan and its HumanPlay learning from the facts, the
// robots' schedules, and the scripted model with the requests the robots
// build. No broker and no clock: time is simulated. After each round an
// automated detective applies the signals a sharp player uses (earliest
// typing, earliest answer, "(no answer)", repeated 4-grams, prompt words
// in a fixed frame, phrases shared with other seats, and phrases robots
// used in earlier matches, which the public history shows) and the measure
// reports how often each signal, and their combination, picks the human.
package turing

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
	"github.com/arena-hq/arena/modules/llm"
	"github.com/arena-hq/arena/modules/orchestrator"
	"github.com/arena-hq/arena/modules/robot"
)

// Options configures a measure.
type Options struct {
	Matches int
	Rounds  int
	Robots  int           // robots per match, beside the one human
	Window  time.Duration // answer window
	Seed    uint64
	Learn   bool // robots reword humans' answers of earlier matches (robot.learn)
	// Blank leaves the robots without the log (a fresh install): timing
	// from the built-in prior, no style samples, nothing learned.
	Blank bool
}

// DefaultOptions are the figures docs/robots.md reports.
func DefaultOptions() Options {
	return Options{Matches: 200, Rounds: 5, Robots: 2, Window: 45 * time.Second, Seed: 1, Learn: true}
}

// Figure is how one signal did over every round judged.
type Figure struct {
	Name    string
	Decided int     // rounds it singled out one seat
	Right   int     // of those, rounds that seat was the human
	Rate    float64 // share of rounds it picks the human, a random guess where it cannot decide
}

// Report is a measure's result.
type Report struct {
	Options  Options
	Rounds   int     // rounds judged
	Chance   float64 // 1 / seats
	Signals  []Figure
	Combined Figure
}

// Ratio is how many times chance the combination picks the human.
func (r Report) Ratio() float64 { return r.Combined.Rate / r.Chance }

// Run plays o.Matches matches and judges every round.
func Run(ctx context.Context, o Options) (Report, error) {
	if o.Matches < 1 || o.Rounds < 1 || o.Robots < 1 || o.Window < 5*time.Second {
		return Report{}, fmt.Errorf("turing: need matches, rounds and robots >= 1 and a window of at least 5s")
	}
	cfg := config.Default()
	cfg.LLM.Seed = int64(o.Seed)
	cfg.Robot.Learn = o.Learn
	if o.Robots > len(cfg.Robots) {
		return Report{}, fmt.Errorf("turing: the stable has %d robots, asked for %d", len(cfg.Robots), o.Robots)
	}
	if o.Rounds > len(cfg.Prompts) {
		return Report{}, fmt.Errorf("turing: the prompt pack has %d prompts, asked for %d rounds", len(cfg.Prompts), o.Rounds)
	}
	sim := &simulation{
		o: o, cfg: cfg, model: llm.NewScripted(cfg.LLM), humans: orchestrator.NewHumanPlay(),
		rng: rand.New(rand.NewPCG(o.Seed, 0x7e57)), right: map[string]int{}, decided: map[string]int{},
		robotPast: map[string]bool{},
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for m := range o.Matches {
		if err := ctx.Err(); err != nil {
			return Report{}, err
		}
		if err := sim.match(fmt.Sprintf("turing-%d", m), fmt.Sprintf("player-%d", m), at); err != nil {
			return Report{}, err
		}
		at = at.Add(time.Hour)
	}
	return sim.report(), nil
}

type simulation struct {
	o      Options
	cfg    config.Config
	model  *llm.Scripted
	humans *orchestrator.HumanPlay
	rng    *rand.Rand

	judged         int
	right, decided map[string]int
	robotPast      map[string]bool // 4-grams of robots' answers in finished matches
}

// timed is a fact due at a moment of the simulated clock.
type timed struct {
	at time.Time
	p  events.Payload
}

func (sim *simulation) match(id, player string, at time.Time) error {
	o, rng := sim.o, sim.rng
	seats := o.Robots + 1
	letters := strings.Split("ABCDEFGH"[:seats], "")
	rng.Shuffle(len(letters), func(i, j int) { letters[i], letters[j] = letters[j], letters[i] })
	var prompts []string
	for _, i := range rng.Perm(len(sim.cfg.Prompts))[:o.Rounds] {
		prompts = append(prompts, sim.cfg.Prompts[i])
	}
	var roster []events.RobotSeat
	for _, i := range rng.Perm(len(sim.cfg.Robots))[:o.Robots] {
		p := sim.cfg.Robots[i]
		roster = append(roster, events.RobotSeat{RobotID: p.ID, Name: p.Name, Model: "scripted"})
	}
	s := game.New(id)
	n := 0
	apply := func(t time.Time, p events.Payload) {
		n++
		e := events.MustNew(id, events.SourceGateway, t, p)
		e.ID = fmt.Sprintf("%s-%d", id, n)
		if game.Apply(s, e) == nil {
			sim.humans.Observe(s, e) // as the orchestrator's fold would
		}
	}
	apply(at, &events.MatchCreated{
		Mode: events.ModeQuick, Seats: seats, Humans: 1, Rounds: o.Rounds, Prompts: prompts, SeatOrder: letters,
		Robots: roster, AnswerWindowMs: o.Window.Milliseconds(), VoteWindowMs: 30_000, ResultsPauseMs: 5000,
		LobbyWaitMs: 1000, MaxAnswerChars: 280,
	})
	apply(at, &events.PlayerJoined{PlayerID: player, Name: "Sam", TokenHash: strings.Repeat("0", 64)})
	apply(at.Add(time.Second), &events.MatchStarted{By: "lobby"})
	human := letters[0]
	stand := &standIn{rng: rand.New(rand.NewPCG(rng.Uint64(), 1)), used: map[string]bool{}}

	var rounds []roundSeen
	for s.Phase != events.PhaseFinished {
		r := s.CurrentRound()
		start, number := r.StartedAt, r.Number
		var due []timed
		for _, c := range orchestrator.RobotCommands(s, sim.known()) {
			p, _ := sim.cfg.Personality(c.RobotID)
			sch := robot.ScheduleFor(p, c, robot.Latest(c))
			if !sch.TypingAt.IsZero() {
				due = append(due, timed{sch.TypingAt, &events.Typing{Seat: c.Seat, Round: number}})
			}
			if sch.Silent {
				continue
			}
			resp, err := sim.model.Complete(context.Background(), robot.AnswerRequest(robot.ConfigFrom(sim.cfg), p, id, c))
			if err != nil {
				return err
			}
			due = append(due, timed{sch.ReplyAt, &events.AnswerSubmitted{Seat: c.Seat, Round: number, Text: llm.CleanAnswer(resp.Text, c.MaxChars)}})
		}
		if typing, answer := stand.timing(o.Window.Milliseconds()); typing >= 0 {
			due = append(due, timed{start.Add(time.Duration(typing) * time.Millisecond), &events.Typing{Seat: human, Round: number}})
			if answer >= 0 {
				due = append(due, timed{start.Add(time.Duration(answer) * time.Millisecond), &events.AnswerSubmitted{Seat: human, Round: number, Text: stand.answer(r.Prompt)}})
			}
		}
		typed := sim.play(s, apply, due, events.PhaseAnswering, number)
		if s.Phase == events.PhaseAnswering {
			apply(s.Deadline, &events.DeadlineReached{Phase: events.PhaseAnswering, Round: number})
		}
		rounds = append(rounds, seenOf(s, r.Prompt, typed))
		sim.judge(rounds, human)

		due = due[:0]
		votingAt := s.CurrentRound().VotingAt
		for _, c := range orchestrator.RobotCommands(s, sim.known()) {
			p, _ := sim.cfg.Personality(c.RobotID)
			req := llm.BuildVoteRequest(p, sim.cfg.LLM.Model, c.Prompt, c.Answers, c.Candidates, c.CommandID)
			resp, err := sim.model.Complete(context.Background(), req)
			if err != nil {
				return err
			}
			vote, ok := llm.ParseVote(resp.Text, c.Candidates)
			if !ok {
				vote = c.Candidates[0]
			}
			due = append(due, timed{robot.ScheduleFor(p, c, robot.Latest(c)).ReplyAt, &events.VoteCast{Voter: c.Seat, Seat: vote, Round: number}})
		}
		others := slices.DeleteFunc(slices.Clone(letters), func(l string) bool { return l == human })
		due = append(due, timed{votingAt.Add(time.Duration(stand.voteDelay(30_000)) * time.Millisecond),
			&events.VoteCast{Voter: human, Seat: others[stand.rng.IntN(len(others))], Round: number}})
		sim.play(s, apply, due, events.PhaseVoting, number)
		if s.Phase == events.PhaseVoting {
			apply(s.Deadline, &events.DeadlineReached{Phase: events.PhaseVoting, Round: number})
		}
		apply(s.Deadline, &events.DeadlineReached{Phase: events.PhaseResults, Round: number})
	}
	// The match's history is public now, robots labelled.
	for _, r := range rounds {
		for _, v := range r.seats {
			if v.seat != human {
				for _, g := range llm.FourGrams(v.text) {
					sim.robotPast[g] = true
				}
				if v.text != "" {
					sim.robotPast["="+strings.Join(split(v.text), " ")] = true
				}
			}
		}
	}
	return nil
}

// known is what the robots are planned from: what the log taught, or
// nothing at all.
func (sim *simulation) known() *orchestrator.HumanPlay {
	if sim.o.Blank {
		return nil
	}
	return sim.humans
}

// play applies the due facts in time order while the round stays in phase,
// and returns when each seat first showed "typing".
func (sim *simulation) play(s *game.State, apply func(time.Time, events.Payload), due []timed, phase string, round int) map[string]time.Time {
	sort.SliceStable(due, func(i, j int) bool { return due[i].at.Before(due[j].at) })
	typed := map[string]time.Time{}
	for _, d := range due {
		if s.Phase != phase || s.Round != round || !d.at.Before(s.Deadline) {
			break
		}
		if t, ok := d.p.(*events.Typing); ok {
			if _, seen := typed[t.Seat]; !seen {
				typed[t.Seat] = d.at
			}
		}
		apply(d.at, d.p)
	}
	return typed
}

// seenOf is the round as a player saw it once answering closed.
func seenOf(s *game.State, prompt string, typed map[string]time.Time) roundSeen {
	r := s.CurrentRound()
	out := roundSeen{prompt: prompt}
	for _, a := range r.Answers {
		v := seen{seat: a.Seat, typingMs: -1, answerMs: a.ResponseMs, text: a.Text}
		if t, ok := typed[a.Seat]; ok {
			v.typingMs = t.Sub(r.StartedAt).Milliseconds()
		}
		if a.NoAnswer {
			v.answerMs, v.text = -1, ""
		}
		out.seats = append(out.seats, v)
	}
	slices.SortFunc(out.seats, func(a, b seen) int { return strings.Compare(a.seat, b.seat) })
	return out
}

func (sim *simulation) judge(rounds []roundSeen, human string) {
	sim.judged++
	picks := detect(rounds, sim.robotPast)
	for _, name := range signalNames {
		if p := picks[name]; p != "" {
			sim.decided[name]++
			if p == human {
				sim.right[name]++
			}
		}
	}
	sim.decided[sigCombined]++
	if combine(picks, rounds[len(rounds)-1].seats, sim.rng) == human {
		sim.right[sigCombined]++
	}
}

func (sim *simulation) report() Report {
	seats := float64(sim.o.Robots + 1)
	fig := func(name string) Figure {
		d, r := sim.decided[name], sim.right[name]
		return Figure{Name: name, Decided: d, Right: r,
			Rate: (float64(r) + float64(sim.judged-d)/seats) / float64(sim.judged)}
	}
	rep := Report{Options: sim.o, Rounds: sim.judged, Chance: 1 / seats, Combined: fig(sigCombined)}
	for _, name := range signalNames {
		rep.Signals = append(rep.Signals, fig(name))
	}
	return rep
}

// Write prints r as the table docs/robots.md shows.
func (r Report) Write(w io.Writer) {
	o := r.Options
	fmt.Fprintf(w, "%d matches x %d rounds, 1 human + %d robots, %s answer window, learn=%v, blank=%v, seed %d: %d rounds judged, chance %.3f\n",
		o.Matches, o.Rounds, o.Robots, o.Window, o.Learn, o.Blank, o.Seed, r.Rounds, r.Chance)
	fmt.Fprintf(w, "%-34s %8s %8s %8s %10s\n", "signal", "decided", "right", "picks", "x chance")
	for _, f := range append(slices.Clone(r.Signals), r.Combined) {
		fmt.Fprintf(w, "%-34s %8d %8d %8.3f %10.2f\n", f.Name, f.Decided, f.Right, f.Rate, f.Rate/r.Chance)
	}
}
