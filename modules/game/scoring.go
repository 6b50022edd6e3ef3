package game

import "github.com/arena-hq/arena/modules/events"

// Points awarded when a round's voting closes.
const (
	// PointsSpotted goes to a voter whose pick is right: a human, or "no
	// one" (events.NoOne) when the voter is the only human.
	PointsSpotted = 100
	// PointsBlendedIn goes to a human who answered the round for every
	// robot voter that did not pick them: blending in pays, but only for
	// an answer given.
	PointsBlendedIn = 50
)

// awards is what each seat wins in round r, with an entry for every seat.
// A seat that did not vote neither earns nor gives points.
func (s *State) awards(r *Round) map[string]int {
	won := make(map[string]int, len(s.Seats))
	for _, seat := range s.Seats {
		won[seat.Letter] = 0
	}
	for _, v := range r.Votes {
		if s.RightVote(v) {
			won[v.Voter] += PointsSpotted
		}
		if voter := s.SeatOf(v.Voter); voter == nil || voter.Human {
			continue
		}
		for _, h := range s.Seats {
			if !h.Human || h.Letter == v.Seat {
				continue
			}
			if a := r.answerOf(h.Letter); a != nil && !a.NoAnswer {
				won[h.Letter] += PointsBlendedIn
			}
		}
	}
	return won
}

// RightVote reports whether v picked right: a human seat, or "no one" when
// no human but the voter sits in the match. Scoring, the reveal and (for
// the materializer's stats) detective accuracy all judge by it.
func (s *State) RightVote(v Vote) bool {
	if v.Seat == events.NoOne {
		for _, seat := range s.Seats {
			if seat.Human && seat.Letter != v.Voter {
				return false
			}
		}
		return true
	}
	picked := s.SeatOf(v.Seat)
	return picked != nil && picked.Human
}
