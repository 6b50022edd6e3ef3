package game

import (
	"slices"
	"time"

	"github.com/arena-hq/arena/modules/events"
)

// Summary is what the history list and the stats need of a finished match:
// a few hundred bytes where the whole state is kilobytes, so that readers
// can keep every finished match ever played and fetch the full record only
// when someone opens it.
type Summary struct {
	MatchID     string         `json:"matchId"`
	Mode        string         `json:"mode"`
	StartedAt   time.Time      `json:"startedAt"`
	EndedAt     time.Time      `json:"endedAt"`
	Rounds      int            `json:"rounds"`
	Seats       int            `json:"seats"`
	Humans      int            `json:"humans"`
	EndReason   string         `json:"endReason"`
	Winners     []string       `json:"winners"`
	WinnerNames []string       `json:"winnerNames"`
	Robots      []RobotSummary `json:"robots"`
	// Detective counts the decidable votes of human voters and how many
	// were right (a human, or "no one" where no other human sat).
	DetectiveVotes   int `json:"detectiveVotes"`
	DetectiveCorrect int `json:"detectiveCorrect"`
}

// RobotSummary is one robot seat of a finished match: how the other seats'
// votes fell on it, told apart by who voted, and its answer times.
type RobotSummary struct {
	Personality string `json:"personality"`
	Name        string `json:"name"`
	Model       string `json:"model"`
	// Votes cast by human (robot) voters in the rounds it played, and how
	// many of them picked it as the human.
	HumanVoterVotes  int   `json:"humanVoterVotes"`
	HumanVoterPicks  int   `json:"humanVoterPicks"`
	RobotVoterVotes  int   `json:"robotVoterVotes"`
	RobotVoterPicks  int   `json:"robotVoterPicks"`
	ResponseMsSum    int64 `json:"responseMsSum"` // its real answers' response times
	ResponsesCounted int   `json:"responses"`
}

// Summarize returns the summary of s, which is finished.
func Summarize(s *State) Summary {
	sum := Summary{
		MatchID:     s.MatchID,
		Mode:        s.Settings.Mode,
		StartedAt:   s.CreatedAt,
		EndedAt:     s.EndedAt,
		Rounds:      len(s.Rounds),
		Seats:       len(s.Seats),
		EndReason:   s.EndReason,
		Winners:     []string{},
		WinnerNames: []string{},
		Robots:      []RobotSummary{},
	}
	if len(s.Rounds) > 0 {
		sum.StartedAt = s.Rounds[0].StartedAt
	}
	for _, seat := range s.Seats {
		if seat.Human {
			sum.Humans++
			continue
		}
		rs := RobotSummary{Personality: seat.RobotID, Name: seat.Name, Model: seat.ModelShown()}
		for _, r := range s.Rounds {
			for _, vote := range r.Votes {
				voter := s.SeatOf(vote.Voter)
				if vote.Voter == seat.Letter || voter == nil {
					continue
				}
				picked := vote.Seat == seat.Letter
				if voter.Human {
					rs.HumanVoterVotes++
					if picked {
						rs.HumanVoterPicks++
					}
				} else {
					rs.RobotVoterVotes++
					if picked {
						rs.RobotVoterPicks++
					}
				}
			}
			for _, a := range r.Answers {
				if a.Seat == seat.Letter && !a.NoAnswer {
					rs.ResponseMsSum += a.ResponseMs
					rs.ResponsesCounted++
				}
			}
		}
		sum.Robots = append(sum.Robots, rs)
	}
	// Detective accuracy counts human voters' decidable votes: those with a
	// right answer (another human, or "no one" where it is a vote), judged
	// as scoring judges them.
	decidable := NoOneAllowed(s) || sum.Humans > 1
	for _, r := range s.Rounds {
		for _, vote := range r.Votes {
			if voter := s.SeatOf(vote.Voter); voter == nil || !voter.Human || !decidable {
				continue
			}
			sum.DetectiveVotes++
			if s.RightVote(vote) {
				sum.DetectiveCorrect++
			}
		}
	}
	if s.EndReason == events.EndCompleted {
		sum.Winners = winners(s.Scores)
		for _, l := range sum.Winners {
			if seat := s.SeatOf(l); seat != nil {
				sum.WinnerNames = append(sum.WinnerNames, seat.Name)
			}
		}
	}
	slices.Sort(sum.Winners)
	return sum
}
