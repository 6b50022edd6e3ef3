package orchestrator

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
)

// HumanPlay is what the orchestrator has learnt of how the humans of this
// game play, from the facts of match-events: when they start typing and
// answer (per answer window length), how often they type and stop or give
// no answer, when they vote, and what they write. Robots are scheduled and
// styled from it, so that nothing in their timing or tone stands out.
// While the log is thin it falls back to a built-in prior.
//
// It is pure bookkeeping (no clock, no I/O): Observe is fed the facts the
// orchestrator folds. It is safe for concurrent use. A nil *HumanPlay is
// the prior alone.
type HumanPlay struct {
	mu        sync.Mutex
	rounds    map[int64]*ring[RoundTiming] // by answer window, ms
	votes     map[int64]*ring[int64]       // vote delays, by vote window, ms
	recent    ring[heard]                  // recent human answers, any prompt
	byPrompt  map[string]*ring[heard]      // human answers, by prompt
	robotSaid map[string]*ring[heard]      // robots' answers, by prompt
	typed     map[string]int64             // first typing of a (match, round, seat) not yet answered, ms into the round
}

// RoundTiming is one human's (or one robot's planned) round: when typing
// first showed and when the answer landed, in ms from the round's start;
// -1 for never.
type RoundTiming struct {
	TypingMs int64
	AnswerMs int64
}

// heard is one human answer and where it came from.
type heard struct {
	text, matchID, playerID string
}

// Bounds of what HumanPlay keeps: enough for a stable estimate, little
// enough to forget the habits of long ago.
const (
	keepRounds    = 400
	keepRecent    = 64
	keepPerPrompt = 24
	keepRobotSaid = 60
	keepPrompts   = 2000
	keepTyped     = 20000
	// trustAfter is how many samples of a window length count as much as
	// the prior: with n samples the empirical distribution is drawn from
	// with probability n/(n+trustAfter).
	trustAfter = 30
)

// NewHumanPlay returns an empty HumanPlay (the prior only).
func NewHumanPlay() *HumanPlay {
	return &HumanPlay{
		rounds: map[int64]*ring[RoundTiming]{}, votes: map[int64]*ring[int64]{},
		recent: ring[heard]{max: keepRecent}, byPrompt: map[string]*ring[heard]{}, robotSaid: map[string]*ring[heard]{},
		typed: map[string]int64{},
	}
}

// Apply is game.Apply that also learns from e when it is applied for the
// first time (not a duplicate, not rejected): the orchestrator's fold calls
// it in place of game.Apply. A nil HumanPlay only applies.
func (h *HumanPlay) Apply(s *game.State, e events.Envelope) error {
	dup := game.IsDuplicate(s, e)
	err := game.Apply(s, e)
	if err == nil && !dup {
		h.Observe(s, e)
	}
	return err
}

// Observe learns from e, a fact just applied to s (s is the state after
// it). Only human seats teach timing and style; robots' answers are kept
// so that later robots do not repeat them. The caller skips duplicates and
// rejected facts: a fact observed twice is counted twice.
func (h *HumanPlay) Observe(s *game.State, e events.Envelope) {
	if h == nil {
		return
	}
	p, err := e.Payload()
	if err != nil {
		return
	}
	r := s.CurrentRound()
	if r == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	key := func(seat string) string { return s.MatchID + "/" + strconv.Itoa(r.Number) + "/" + seat }
	switch v := p.(type) {
	case *events.Typing:
		if !isHuman(s, v.Seat) || v.Round != r.Number {
			return
		}
		if _, ok := h.typed[key(v.Seat)]; !ok {
			if len(h.typed) >= keepTyped {
				clear(h.typed) // rounds abandoned mid-way; losing a few samples is fine
			}
			h.typed[key(v.Seat)] = max(e.Time.Sub(r.StartedAt).Milliseconds(), 0)
		}
	case *events.AnswerSubmitted:
		seat := s.SeatOf(v.Seat)
		if seat == nil || v.Round != r.Number {
			return
		}
		if !seat.Human {
			h.remember(h.robotSaid, r.Prompt, heard{text: strings.TrimSpace(v.Text), matchID: s.MatchID}, keepRobotSaid)
			return
		}
		i := slices.IndexFunc(r.Answers, func(a game.Answer) bool { return a.Seat == v.Seat })
		if i < 0 {
			return
		}
		a := r.Answers[i]
		typing, ok := h.typed[key(v.Seat)]
		if !ok {
			typing = -1
		}
		delete(h.typed, key(v.Seat))
		h.window(s.Settings.AnswerWindowMs).add(RoundTiming{TypingMs: typing, AnswerMs: a.ResponseMs})
		heardIt := heard{text: a.Text, matchID: s.MatchID, playerID: seat.PlayerID}
		h.recent.add(heardIt)
		h.remember(h.byPrompt, r.Prompt, heardIt, keepPerPrompt)
	case *events.DeadlineReached:
		if v.Phase != events.PhaseAnswering || v.Round != r.Number {
			return
		}
		for _, a := range r.Answers {
			if !a.NoAnswer || !isHuman(s, a.Seat) {
				continue
			}
			typing, ok := h.typed[key(a.Seat)]
			if !ok {
				typing = -1
			}
			delete(h.typed, key(a.Seat))
			h.window(s.Settings.AnswerWindowMs).add(RoundTiming{TypingMs: typing, AnswerMs: -1})
		}
	case *events.VoteCast:
		if !isHuman(s, v.Voter) || v.Round != r.Number || r.VotingAt.IsZero() {
			return
		}
		w := s.Settings.VoteWindowMs
		if h.votes[w] == nil {
			h.votes[w] = &ring[int64]{max: keepRounds}
		}
		h.votes[w].add(max(e.Time.Sub(r.VotingAt).Milliseconds(), 0))
	}
}

// remember adds x to the answers to prompt in m.
func (h *HumanPlay) remember(m map[string]*ring[heard], prompt string, x heard, keep int) {
	pk := promptKey(prompt)
	if m[pk] == nil {
		if len(m) >= keepPrompts {
			clear(m)
		}
		m[pk] = &ring[heard]{max: keep}
	}
	m[pk].add(x)
}

// RobotSaid returns up to n answers robots gave to prompt in matches other
// than matchID, newest first: phrases a player may have read in their
// public history.
func (h *HumanPlay) RobotSaid(prompt, matchID string, n int) []string {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return texts(h.robotSaid[promptKey(prompt)], n, func(x heard) bool { return x.matchID != matchID })
}

// texts lists up to n distinct texts of rg that keep takes, newest first.
func texts(rg *ring[heard], n int, keep func(heard) bool) []string {
	if rg == nil {
		return nil
	}
	var out []string
	for _, x := range rg.newestFirst() {
		if len(out) == n {
			break
		}
		if keep(x) && !slices.Contains(out, x.text) {
			out = append(out, x.text)
		}
	}
	return out
}

func (h *HumanPlay) window(ms int64) *ring[RoundTiming] {
	if h.rounds[ms] == nil {
		h.rounds[ms] = &ring[RoundTiming]{max: keepRounds}
	}
	return h.rounds[ms]
}

// DrawRound draws a human-like round for an answer window of windowMs:
// from the humans seen with that window, smoothed, or from the prior.
func (h *HumanPlay) DrawRound(windowMs int64, rng *rand.Rand) RoundTiming {
	if h != nil {
		h.mu.Lock()
		var pick RoundTiming
		ok := false
		if rg := h.rounds[windowMs]; rg != nil && drawEmpirical(rng, len(rg.items)) {
			pick, ok = rg.items[rng.IntN(len(rg.items))], true
		}
		h.mu.Unlock()
		if ok {
			return smoothRound(pick, windowMs, rng)
		}
	}
	return PriorRound(windowMs, rng)
}

// DrawVote draws a human-like delay from voting's start for a vote window
// of windowMs.
func (h *HumanPlay) DrawVote(windowMs int64, rng *rand.Rand) int64 {
	if h != nil {
		h.mu.Lock()
		var pick int64
		ok := false
		if rg := h.votes[windowMs]; rg != nil && drawEmpirical(rng, len(rg.items)) {
			pick, ok = rg.items[rng.IntN(len(rg.items))], true
		}
		h.mu.Unlock()
		if ok {
			return clampMs(jitter(pick, rng), 500, windowMs-voteMarginMs)
		}
	}
	return PriorVote(windowMs, rng)
}

// Style returns up to n distinct recent human answers of matches other
// than matchID, newest first: the room's length, case and punctuation.
func (h *HumanPlay) Style(matchID string, n int) []string {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return texts(&h.recent, n, func(x heard) bool { return x.matchID != matchID })
}

// Learned returns up to n human answers to prompt from other matches,
// leaving out anything written by players (ids) of the current match, so a
// robot never hands a player's own words back to them. Newest first.
func (h *HumanPlay) Learned(prompt, matchID string, players []string, n int) []string {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return texts(h.byPrompt[promptKey(prompt)], n, func(x heard) bool {
		return x.matchID != matchID && !slices.Contains(players, x.playerID)
	})
}

// The built-in prior, per answer window W: humans start typing a while in
// (log-normal, median 17% of W: 7.7 s of 45 s, 3.4 s of 20 s, like the
// 3-13 s seen in play), then write for a log-normal time (median 28% of
// W); an answer that would land in the last lastMomentMs is one typed and
// abandoned. A few (priorIdle) never type at all. Votes come a log-normal
// time after voting opens (median 28% of the vote window).
const (
	priorIdle        = 0.04
	priorTypingShare = 0.17
	priorTypingSigma = 0.45
	priorWriteShare  = 0.28
	priorWriteSigma  = 0.55
	priorVoteShare   = 0.28
	priorVoteSigma   = 0.5
	// lastMomentMs matches the margin a robot keeps for its reply to
	// travel (robot.margin): a human-like answer later than that would
	// arrive too late.
	lastMomentMs = 1500
	voteMarginMs = 1500
)

// PriorRound draws a round from the built-in prior for a window of
// windowMs.
func PriorRound(windowMs int64, rng *rand.Rand) RoundTiming {
	if rng.Float64() < priorIdle {
		return RoundTiming{TypingMs: -1, AnswerMs: -1}
	}
	w := float64(windowMs)
	typing := logNormal(rng, priorTypingShare*w, priorTypingSigma)
	answer := typing + logNormal(rng, priorWriteShare*w, priorWriteSigma)
	t := RoundTiming{TypingMs: int64(typing), AnswerMs: int64(answer)}
	if t.TypingMs >= windowMs-lastMomentMs {
		return RoundTiming{TypingMs: -1, AnswerMs: -1}
	}
	if t.AnswerMs >= windowMs-lastMomentMs {
		t.AnswerMs = -1
	}
	return t
}

// PriorVote draws a vote delay from the built-in prior.
func PriorVote(windowMs int64, rng *rand.Rand) int64 {
	d := logNormal(rng, priorVoteShare*float64(windowMs), priorVoteSigma)
	return clampMs(int64(d), 500, windowMs-voteMarginMs)
}

// smoothRound jitters a human's round a little, so robots follow the
// distribution without replaying anyone's exact times.
func smoothRound(t RoundTiming, windowMs int64, rng *rand.Rand) RoundTiming {
	out := t
	if t.TypingMs >= 0 {
		out.TypingMs = clampMs(jitter(t.TypingMs, rng), 0, windowMs-lastMomentMs-1)
	}
	if t.AnswerMs >= 0 {
		out.AnswerMs = jitter(t.AnswerMs, rng)
		if out.TypingMs >= 0 {
			out.AnswerMs = max(out.AnswerMs, out.TypingMs+300)
		}
		if out.AnswerMs >= windowMs-lastMomentMs {
			out.AnswerMs = windowMs - lastMomentMs - 1
		}
	}
	return out
}

func drawEmpirical(rng *rand.Rand, n int) bool {
	return n > 0 && rng.Float64() < float64(n)/float64(n+trustAfter)
}

func jitter(ms int64, rng *rand.Rand) int64 {
	return int64(float64(ms) * math.Exp(rng.NormFloat64()*0.08))
}

func logNormal(rng *rand.Rand, median, sigma float64) float64 {
	return median * math.Exp(rng.NormFloat64()*sigma)
}

func clampMs(v, lo, hi int64) int64 {
	if hi < lo {
		return lo
	}
	return min(max(v, lo), hi)
}

func isHuman(s *game.State, letter string) bool {
	seat := s.SeatOf(letter)
	return seat != nil && seat.Human
}

// promptKey matches the same prompt across matches despite case and spacing.
func promptKey(p string) string { return strings.Join(strings.Fields(strings.ToLower(p)), " ") }

// rngFor is a generator seeded from seed alone: a re-sent command draws
// the same schedule.
func rngFor(seed string) *rand.Rand {
	f := fnv.New64a()
	f.Write([]byte(seed))
	sum := f.Sum64()
	return rand.New(rand.NewPCG(sum, sum^0x243f6a8885a308d3))
}

// ring keeps the last max items added.
type ring[T any] struct {
	items []T
	next  int
	max   int
}

func (r *ring[T]) add(x T) {
	if len(r.items) < r.max {
		r.items = append(r.items, x)
		return
	}
	r.items[r.next] = x
	r.next = (r.next + 1) % r.max
}

// newestFirst lists the items from the last added back.
func (r *ring[T]) newestFirst() []T {
	out := make([]T, 0, len(r.items))
	for i := range len(r.items) {
		out = append(out, r.items[(r.next-1-i+2*len(r.items))%len(r.items)])
	}
	return out
}
