package game

import (
	"slices"
	"time"

	"github.com/arena-hq/arena/modules/events"
)

// Setup is what a new match is decided from: the caller's choices (mode,
// counts, windows, invite code) and the pools the random parts are drawn
// from.
type Setup struct {
	Mode     string
	Seats    int
	Humans   int // human seats on offer
	Rounds   int
	Code     string // invite code of a private match
	Previous string // the match this one is a rematch of

	Prompts []string           // the pack prompts are drawn from
	Stable  []events.RobotSeat // the personalities the roster is drawn from, with the model each plays on

	AnswerWindow, VoteWindow, ResultsPause, LobbyWait, IdleTimeout time.Duration
	MaxAnswerChars                                                 int
}

// NewMatch decides everything random about a new match (seat letters,
// prompts, robot roster) with shuffle, which has rand.Shuffle's shape: the
// gateway passes crypto/rand (a guessable seat order would tell who is
// human), the seed a seeded generator (the same seed, the same matches).
// Prompts are distinct while the pack lasts, and every personality plays
// once before any plays twice.
func NewMatch(shuffle func(n int, swap func(i, j int)), s Setup) *events.MatchCreated {
	order := make([]string, s.Seats)
	for i := range order {
		order[i] = string(rune('A' + i))
	}
	shuffle(len(order), swapper(order))

	prompts := make([]string, 0, s.Rounds)
	for len(prompts) < s.Rounds && len(s.Prompts) > 0 {
		pack := slices.Clone(s.Prompts)
		shuffle(len(pack), swapper(pack))
		prompts = append(prompts, pack[:min(len(pack), s.Rounds-len(prompts))]...)
	}

	roster := make([]events.RobotSeat, 0, max(s.Seats-1, 0))
	for len(roster) < s.Seats-1 && len(s.Stable) > 0 {
		stable := slices.Clone(s.Stable)
		shuffle(len(stable), swapper(stable))
		roster = append(roster, stable[:min(len(stable), s.Seats-1-len(roster))]...)
	}

	return &events.MatchCreated{
		Mode:           s.Mode,
		Code:           s.Code,
		Seats:          s.Seats,
		Humans:         s.Humans,
		Rounds:         s.Rounds,
		Prompts:        prompts,
		SeatOrder:      order,
		Robots:         roster,
		AnswerWindowMs: s.AnswerWindow.Milliseconds(),
		VoteWindowMs:   s.VoteWindow.Milliseconds(),
		ResultsPauseMs: s.ResultsPause.Milliseconds(),
		LobbyWaitMs:    s.LobbyWait.Milliseconds(),
		IdleTimeoutMs:  s.IdleTimeout.Milliseconds(),
		MaxAnswerChars: s.MaxAnswerChars,
		Previous:       s.Previous,
	}
}

func swapper[T any](xs []T) func(i, j int) {
	return func(i, j int) { xs[i], xs[j] = xs[j], xs[i] }
}
