package game

import (
	"slices"

	"github.com/arena-hq/arena/modules/events"
)

// maxAudience bounds the spectators remembered per round: past it, picks
// are refused rather than let a crowd grow the state without limit.
const maxAudience = 1000

// audienceVote records a spectator's pick while a round is being voted on.
// It is not in the timeline (a crowd would drown it) and not in the score.
func audienceVote(s *State, a *events.AudienceVote) (move, *Rejection) {
	if rej := inTime(s, a.Round, events.PhaseVoting); rej != nil {
		return nil, rej
	}
	if s.SeatOf(a.Seat) == nil {
		return nil, reject(CodeUnknownSeat, "no one sits in seat %s", a.Seat)
	}
	r := s.CurrentRound()
	if slices.Contains(r.AudienceVoted, a.Spectator) {
		return nil, reject(CodeAlreadyPicked, "this spectator already picked in round %d", a.Round)
	}
	if len(r.AudienceVoted) >= maxAudience {
		return nil, reject(CodeMatchFull, "round %d has %d audience picks already", a.Round, maxAudience)
	}
	return func(s *State) {
		r := s.CurrentRound()
		if r.Audience == nil {
			r.Audience = map[string]int{}
		}
		r.Audience[a.Seat]++
		r.AudienceVoted = append(r.AudienceVoted, a.Spectator)
	}, nil
}

// AudiencePick is the audience's votes for one seat in one round.
type AudiencePick struct {
	Round int    `json:"round"`
	Seat  string `json:"seat"`
	Votes int    `json:"votes"`
}

// audienceViews lists the audience's picks of every round whose voting is
// over, by round then seat.
func audienceViews(s *State) []AudiencePick {
	var out []AudiencePick
	for _, r := range s.Rounds {
		if r.ClosedAt.IsZero() {
			continue
		}
		for _, seat := range s.sortedLetters() {
			if n := r.Audience[seat]; n > 0 {
				out = append(out, AudiencePick{Round: r.Number, Seat: seat, Votes: n})
			}
		}
	}
	return out
}
