package game

// Points awarded when a round's voting closes.
const (
	// PointsSpotted goes to a voter whose pick is human.
	PointsSpotted = 100
	// PointsBlendedIn goes to a human for every robot voter that did not
	// pick them: blending in pays.
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
		if picked := s.SeatOf(v.Seat); picked != nil && picked.Human {
			won[v.Voter] += PointsSpotted
		}
		if voter := s.SeatOf(v.Voter); voter == nil || voter.Human {
			continue
		}
		for _, h := range s.Seats {
			if h.Human && h.Letter != v.Seat {
				won[h.Letter] += PointsBlendedIn
			}
		}
	}
	return won
}
