// Package seed generates finished sample matches, so history and stats
// have data: quick and private, 3-8 seats, 1-3 humans, 3-5 rounds, robots
// from the configured stable answering with the offline scripted model.
// Every event is folded with the game's rules as it is made, so what seed
// writes is a match the real modules could have written. It is the body of
// the seed command; app only wires it.
package seed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
	"github.com/arena-hq/arena/modules/kafka"
	"github.com/arena-hq/arena/modules/llm"
)

// Options says what seed generates.
type Options struct {
	Matches int
	Seed    int64
	Days    int       // matches are spread over this many days before Now
	Now     time.Time // every match ends before this
}

// Match is one generated match: its events, in log order, and the
// state they fold to.
type Match struct {
	Events []events.Envelope
	State  *game.State
}

// Write generates opts.Matches matches and appends each one's events
// to match-events, one match at a time, waiting for the broker's ack.
func Write(ctx context.Context, clients *kafka.Clients, cfg config.Config, opts Options) ([]Match, error) {
	matches, err := Generate(cfg, opts)
	if err != nil {
		return nil, err
	}
	cl, err := clients.New("seed")
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	for _, m := range matches {
		if err := kafka.Publish(ctx, cl, clients.Topics.MatchEvents, "", m.Events...); err != nil {
			return nil, fmt.Errorf("match %s: %w", m.State.MatchID, err)
		}
	}
	return matches, nil
}

// Generate builds finished matches. It is a pure function of cfg and
// opts: no clock, no I/O. Every event is folded with the game's rules as it
// is made and must be accepted, and every match must end completed, so what
// seed writes is a match the real modules could have written.
func Generate(cfg config.Config, opts Options) ([]Match, error) {
	if len(cfg.Robots) < 2 {
		return nil, fmt.Errorf("seed: the config has %d robots; a match needs at least 2", len(cfg.Robots))
	}
	if len(cfg.Prompts) == 0 {
		return nil, errors.New("seed: the config has no prompts")
	}
	span := time.Duration(opts.Days) * 24 * time.Hour
	out := make([]Match, 0, opts.Matches)
	for i := range opts.Matches {
		g := &matchGen{
			cfg:     cfg,
			rng:     rand.New(rand.NewPCG(uint64(opts.Seed), uint64(i)+1)),
			model:   llm.NewScripted(config.LLM{Seed: opts.Seed}),
			seedKey: strconv.FormatInt(opts.Seed, 10),
		}
		// Oldest first, evenly spread, each match starting at a random
		// point of its slot and ending an hour or more before now.
		slot := span / time.Duration(opts.Matches)
		start := opts.Now.Add(-span - time.Hour).Add(slot * time.Duration(i)).Add(time.Duration(g.rng.Int64N(int64(slot/2) + 1)))
		m, err := g.match(start.Truncate(time.Millisecond))
		if err != nil {
			return nil, fmt.Errorf("seed: match %d: %w", i+1, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// matchGen generates one match.
type matchGen struct {
	cfg     config.Config
	rng     *rand.Rand
	model   llm.Model
	seedKey string

	id    string
	state *game.State
	evs   []events.Envelope
}

// timed is an event waiting for its time.
type timed struct {
	at time.Time
	p  events.Payload
}

// emit folds p at time at into the match and keeps it. A rejection is a
// bug in the generator: seed never writes a fact the rules refuse.
func (g *matchGen) emit(at time.Time, p events.Payload) error {
	id := events.DerivedID("seed", g.seedKey, g.id, strconv.Itoa(len(g.evs)))
	e, err := events.NewWithID(id, g.id, events.SourceSeed, at, p)
	if err != nil {
		return err
	}
	if err := game.Apply(g.state, e); err != nil {
		return fmt.Errorf("generated %s refused: %w", e.Type, err)
	}
	g.evs = append(g.evs, e)
	return nil
}

// emitAll emits the events in time order (stable, so equal times keep
// their order).
func (g *matchGen) emitAll(ts []timed) error {
	slices.SortStableFunc(ts, func(a, b timed) int { return a.at.Compare(b.at) })
	for _, t := range ts {
		if err := g.emit(t.at, t.p); err != nil {
			return err
		}
	}
	return nil
}

func (g *matchGen) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(g.rng.Int64N(int64(hi-lo)))
}

func (g *matchGen) chance(p float64) bool { return g.rng.Float64() < p }

func (g *matchGen) randomString(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[g.rng.IntN(len(alphabet))]
	}
	return string(b)
}

func (g *matchGen) match(created time.Time) (Match, error) {
	cfg, rng := g.cfg, g.rng
	g.id = g.randomString("abcdefghijkmnpqrstuvwxyz23456789", 16)
	g.state = game.New(g.id)

	mode := events.ModeQuick
	if g.chance(0.4) {
		mode = events.ModePrivate
	}
	maxSeats := min(8, len(cfg.Robots)+1)
	var seats int
	if mode == events.ModeQuick {
		seats = []int{3, 4, 4, 4, 5, 6}[rng.IntN(6)]
	} else {
		seats = 3 + rng.IntN(6)
	}
	seats = max(2, min(seats, maxSeats))
	humans := 1 + rng.IntN(min(3, seats-1))
	humanSeats := humans // human seats on offer; some may be left to robots
	if mode == events.ModeQuick {
		humanSeats = max(humans, min(cfg.Game.Humans, seats-1))
	} else if humans < seats-1 && g.chance(0.3) {
		humanSeats = humans + 1 // a friend who never came
	}
	rounds := 3 + rng.IntN(3)

	var stable []events.RobotSeat
	for _, p := range cfg.Robots {
		stable = append(stable, events.RobotSeat{RobotID: p.ID, Name: p.Name, Model: modelOf(p, cfg.LLM.Model)})
	}
	code := ""
	if mode == events.ModePrivate {
		code = g.randomString("ABCDEFGHJKMNPQRSTUVWXYZ23456789", 6)
	}
	gc := cfg.Game
	mc := game.NewMatch(rng.Shuffle, game.Setup{
		Mode: mode, Seats: seats, Humans: humanSeats, Rounds: rounds, Code: code,
		Prompts: cfg.Prompts, Stable: stable,
		AnswerWindow: gc.AnswerWindow, VoteWindow: gc.VoteWindow, ResultsPause: gc.ResultsPause,
		LobbyWait: gc.LobbyWait, IdleTimeout: gc.IdleTimeout, MaxAnswerChars: gc.MaxAnswerChars,
	})
	if err := g.emit(created, mc); err != nil {
		return Match{}, err
	}

	// The lobby: humans join within the wait; a quick match starts when
	// the wait runs out, a private one when its host says so.
	at := created
	names := slices.Clone(humanNames)
	rng.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	lobby := gc.LobbyWait
	if lobby <= 0 {
		lobby = 3 * time.Second
	}
	for h := range humans {
		at = at.Add(g.between(300*time.Millisecond, lobby/time.Duration(humans+1)))
		token := sha256.Sum256([]byte(g.randomString("abcdefghijklmnopqrstuvwxyz0123456789", 43)))
		if err := g.emit(at, &events.PlayerJoined{
			PlayerID: g.randomString("abcdefghijkmnpqrstuvwxyz23456789", 20), Name: names[h%len(names)],
			TokenHash: hex.EncodeToString(token[:]),
		}); err != nil {
			return Match{}, err
		}
	}
	var err error
	if mode == events.ModeQuick {
		err = g.emit(created.Add(gc.LobbyWait), &events.DeadlineReached{Phase: events.PhaseLobby})
	} else {
		err = g.emit(at.Add(g.between(2*time.Second, 25*time.Second)), &events.MatchStarted{By: g.state.Host})
	}
	if err != nil {
		return Match{}, err
	}

	for r := 1; r <= rounds; r++ {
		if err := g.round(r); err != nil {
			return Match{}, fmt.Errorf("round %d: %w", r, err)
		}
	}
	if g.state.Phase != events.PhaseFinished || g.state.EndReason != events.EndCompleted {
		return Match{}, fmt.Errorf("generated match ends in %s (%s), not completed", g.state.Phase, g.state.EndReason)
	}
	return Match{Events: g.evs, State: g.state}, nil
}

// round plays round r from its start to its results deadline, which starts
// the next round or ends the match.
func (g *matchGen) round(r int) error {
	s, gc := g.state, g.cfg.Game
	cur := s.CurrentRound()
	if s.Phase != events.PhaseAnswering || cur == nil || cur.Number != r {
		return fmt.Errorf("round did not start (phase %s)", s.Phase)
	}
	start, prompt := cur.StartedAt, cur.Prompt
	window := gc.AnswerWindow
	maxChars := gc.MaxAnswerChars

	// Answers, each after a typing signal; a few seats let the window close.
	var ts []timed
	answered := 0
	for _, seat := range g.letters() {
		st := s.SeatOf(seat)
		var text string
		var took time.Duration
		var processing int64
		if st.Human {
			if !g.chance(0.9) {
				if g.chance(0.5) { // typed something, never sent it
					ts = append(ts, timed{start.Add(g.between(3*time.Second, window*2/3)), &events.Typing{Seat: seat, Round: r}})
				}
				continue
			}
			text = g.humanAnswer(prompt, maxChars)
			took = g.between(6*time.Second, window*4/5)
		} else {
			if !g.chance(0.96) {
				continue // the model failed and no fallback came in time
			}
			p, _ := g.cfg.Personality(st.RobotID)
			req := llm.BuildAnswerRequest(p, g.cfg.LLM.Model, prompt, nil, maxChars, g.id+"/"+strconv.Itoa(r)+"/"+seat)
			resp, err := g.model.Complete(context.Background(), req)
			if err != nil {
				return err
			}
			if text = llm.CleanAnswer(resp.Text, maxChars); text == "" {
				text = "hmm not sure tbh"
			}
			processing = 300 + g.rng.Int64N(2200)
			typing := time.Duration(float64(len([]rune(text))) / max(p.TypingCPS, 1) * float64(time.Second))
			took = g.between(p.Delay.Min, p.Delay.Max) + time.Duration(processing)*time.Millisecond + typing
		}
		took = clampDuration(took, window/20, window*19/20)
		typingFor := min(time.Duration(len([]rune(text)))*150*time.Millisecond, took/2)
		ts = append(ts,
			timed{start.Add(took - typingFor), &events.Typing{Seat: seat, Round: r}},
			timed{start.Add(took), &events.AnswerSubmitted{Seat: seat, Round: r, Text: text, ProcessingMs: processing}})
		answered++
	}
	if err := g.emitAll(ts); err != nil {
		return err
	}
	if answered < len(s.Seats) {
		if err := g.emit(start.Add(window), &events.DeadlineReached{Phase: events.PhaseAnswering, Round: r}); err != nil {
			return err
		}
	}

	// Votes: robots ask the model, humans guess, a few forget.
	cur = s.CurrentRound()
	votingAt, voteWindow := cur.VotingAt, gc.VoteWindow
	var answers []events.SeatText
	for _, a := range cur.Answers {
		answers = append(answers, events.SeatText{Seat: a.Seat, Text: a.Text})
	}
	ts = ts[:0]
	voted := 0
	for _, seat := range g.letters() {
		st := s.SeatOf(seat)
		others := slices.DeleteFunc(g.letters(), func(l string) bool { return l == seat })
		var pick string
		var took time.Duration
		if st.Human {
			if !g.chance(0.92) {
				continue
			}
			var humans []string
			for _, l := range others {
				if s.SeatOf(l).Human {
					humans = append(humans, l)
				}
			}
			if len(humans) > 0 && g.chance(0.45) {
				pick = humans[g.rng.IntN(len(humans))]
			} else {
				pick = others[g.rng.IntN(len(others))]
			}
			took = g.between(4*time.Second, voteWindow*4/5)
		} else {
			if !g.chance(0.97) {
				continue
			}
			p, _ := g.cfg.Personality(st.RobotID)
			req := llm.BuildVoteRequest(p, g.cfg.LLM.Model, cur.Prompt, answers, others, g.id+"/"+strconv.Itoa(r)+"/"+seat+"/vote")
			resp, err := g.model.Complete(context.Background(), req)
			if err != nil {
				return err
			}
			var ok bool
			if pick, ok = llm.ParseVote(resp.Text, others); !ok {
				pick = others[g.rng.IntN(len(others))]
			}
			took = g.between(p.Delay.Min/2, p.Delay.Max) + time.Duration(300+g.rng.IntN(2000))*time.Millisecond
		}
		took = clampDuration(took, voteWindow/20, voteWindow*19/20)
		ts = append(ts, timed{votingAt.Add(took), &events.VoteCast{Voter: seat, Seat: pick, Round: r}})
		voted++
	}
	if err := g.emitAll(ts); err != nil {
		return err
	}
	if voted < len(s.Seats) {
		if err := g.emit(votingAt.Add(voteWindow), &events.DeadlineReached{Phase: events.PhaseVoting, Round: r}); err != nil {
			return err
		}
	}
	if s.Phase != events.PhaseResults {
		return fmt.Errorf("voting did not close (phase %s)", s.Phase)
	}
	return g.emit(s.CurrentRound().ClosedAt.Add(gc.ResultsPause), &events.DeadlineReached{Phase: events.PhaseResults, Round: r})
}

// letters are the match's seats in alphabetical order.
func (g *matchGen) letters() []string {
	out := make([]string, len(g.state.Seats))
	for i, s := range g.state.Seats {
		out[i] = s.Letter
	}
	slices.Sort(out)
	return out
}

// humanAnswer picks a human-sounding answer: one written for the prompt
// when there is one, else a generic one, now and then in lower case or
// without its full stop, as people type.
func (g *matchGen) humanAnswer(prompt string, maxChars int) string {
	pool := humanAnswers[prompt]
	if len(pool) == 0 || g.chance(0.25) {
		pool = genericHumanAnswers
	}
	text := pool[g.rng.IntN(len(pool))]
	if g.chance(0.3) {
		text = strings.ToLower(text)
	}
	if g.chance(0.4) {
		text = strings.TrimRight(text, ".")
	}
	return llm.CleanAnswer(text, maxChars)
}

// clampDuration keeps d within [lo, hi], so that the timings drawn for a
// personality still fit a window shortened in the config.
func clampDuration(d, lo, hi time.Duration) time.Duration { return max(lo, min(d, hi)) }

func modelOf(p config.Personality, fallback string) string {
	if p.Model != "" {
		return p.Model
	}
	return fallback
}

var humanNames = []string{
	"sam", "Priya", "jonas", "Aiko", "mel", "Tomás", "Grace", "dev", "Olu", "Hannah",
	"k8", "Lucas", "Zoë", "ravi_p", "Nina", "Ben", "marta", "Chidi", "Ellie", "Yusuf",
}

var genericHumanAnswers = []string{
	"honestly no idea, pass",
	"oh god. my mum would remember this better than me lol",
	"ok this is hard. probably something from when I was like 8",
	"hmm let me think... no, I've got nothing good",
	"is 'none of your business' an answer? fine. my cousin's wedding",
	"my brother would kill me if I said it here",
	"not sure, ask me after coffee",
	"I was going to say something deep but no. pizza.",
	"haha too many to pick one",
	"the one time we drove to the coast and the car broke down halfway",
	"probably my grandad's shed, don't ask",
	"lol I plead the fifth",
	"genuinely can't think of one, sorry team",
	"whatever it is, my dog was involved",
	"my first flat. tiny, damp, loved it",
	"something with my sister, we were always getting into stuff",
	"ugh I always blank on these",
	"that summer I worked in a chip shop",
}

var humanAnswers = map[string][]string{
	"What's your favorite memory?": {
		"sitting on the roof with my friends the night before we all moved away",
		"my dad teaching me to ride a bike in the car park behind the church",
		"first snow in our new house, everyone in pyjamas outside",
	},
	"What did you have for breakfast today, honestly?": {
		"cold pizza. no regrets",
		"two coffees and half a banana",
		"nothing yet, it's in the toaster right now",
	},
	"What's a smell that instantly takes you back to childhood?": {
		"chlorine. every saturday at the pool",
		"my nan's kitchen, onions and washing powder",
		"cut grass and suncream",
	},
	"What's your go-to order at a takeaway?": {
		"chicken tikka, garlic naan, and way too many poppadoms",
		"salt and pepper chips every time",
		"whatever's number 42 on the menu, it's always good",
	},
	"What's the worst gift you've ever received?": {
		"a calendar of someone else's cat. not even my cat",
		"socks with my own face on them",
		"a self help book about being on time. subtle",
	},
	"What's your most irrational fear?": {
		"escalators eating my shoelaces",
		"that the car behind me at the lights is judging my singing",
		"moths. I know, I know",
	},
	"What would you name a boat if you had one?": {
		"Knot Working",
		"The Overdraft",
		"probably just Steve",
	},
	"What's the last photo on your phone?": {
		"a screenshot of a bus timetable",
		"my cat asleep in the sink",
		"a blurry photo of a receipt I need for work",
	},
	"Which song do you know every single word of?": {
		"bohemian rhapsody, like everyone else",
		"mr brightside. it's the law",
		"the whole first side of a Spice Girls album, unfortunately",
	},
	"What's a hill you're willing to die on?": {
		"milk goes in after the tea",
		"pineapple on pizza is fine, stop",
		"films are too long now",
	},
	"What's the first thing you do when you get home?": {
		"kick my shoes off and check the fridge like something new appeared",
		"say hi to the dog, then the people",
		"phone on charge, kettle on",
	},
	"What would your perfect Sunday look like?": {
		"lie in, big fry up, long walk, nap, repeat",
		"market in the morning, football in the afternoon",
		"not leaving the sofa at all",
	},
}
