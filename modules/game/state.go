// Package game is arena's rulebook: a pure, deterministic reducer over a
// match's events. It does no I/O and reads no clock; time enters only as the
// envelope time of facts in the log, so replaying the same events always
// yields the same State.
package game

import (
	"slices"
	"time"

	"github.com/arena-hq/arena/modules/events"
)

// State is everything known about one match. It is owned by one goroutine at
// a time; Apply mutates it in place. It is serialised as JSON into the
// match-state topic, so it holds secrets (token hashes, who is human) and
// must never be sent to a client: use ViewFor.
type State struct {
	MatchID   string              `json:"matchId"`
	Settings  events.MatchCreated `json:"settings"`
	CreatedAt time.Time           `json:"createdAt"`
	Phase     string              `json:"phase"` // "" until match.created
	Round     int                 `json:"round"` // current round, 0 in the lobby
	Deadline  time.Time           `json:"deadline,omitzero"`
	// ExtendedMs is how much the current window was extended for the
	// clock's downtime (window.extended); 0 when a new window opens.
	ExtendedMs int64                  `json:"extendedMs,omitempty"`
	UpdatedAt  time.Time              `json:"updatedAt,omitzero"` // time of the last fact applied
	Seats      []Seat                 `json:"seats"`              // in join order: humans first, then robots
	Rounds     []Round                `json:"rounds"`             // one per round begun
	Scores     map[string]int         `json:"scores"`
	Host       string                 `json:"host,omitempty"` // first human's seat
	EndReason  string                 `json:"endReason,omitempty"`
	EndedAt    time.Time              `json:"endedAt,omitzero"`
	Rematch    *events.RematchCreated `json:"rematch,omitempty"`
	Kicked     []string               `json:"kicked,omitempty"` // player ids the host removed: those ids may not join again

	// Seen holds every applied or rejected event id, so a redelivered
	// record changes nothing.
	Seen       map[string]struct{} `json:"seen"`
	Rejections []Rejection         `json:"rejections,omitempty"` // most recent last, bounded
	Timeline   []TimelineEntry     `json:"timeline"`
	Events     int                 `json:"events"` // events applied (not rejected, not duplicate)
}

// Seat is one participant.
type Seat struct {
	Letter     string    `json:"seat"`
	Human      bool      `json:"human"`
	Name       string    `json:"name"`                 // display name, or the robot's personality name
	PlayerID   string    `json:"playerId,omitempty"`   // humans
	TokenHash  string    `json:"tokenHash,omitempty"`  // humans: hex SHA-256 of the token
	RobotID    string    `json:"robotId,omitempty"`    // robots
	Model      string    `json:"model,omitempty"`      // robots: the model to ask, drawn at creation
	AnsweredBy string    `json:"answeredBy,omitempty"` // robots: the model its last answer reports (often a dated name of Model)
	JoinedAt   time.Time `json:"joinedAt"`
}

// Round is one round's prompt, answers and votes.
type Round struct {
	Number    int            `json:"round"`
	Prompt    string         `json:"prompt"`
	StartedAt time.Time      `json:"startedAt"`
	Answers   []Answer       `json:"answers"` // in arrival order
	Typing    []string       `json:"typing"`  // seats that signalled typing and have not answered
	VotingAt  time.Time      `json:"votingAt,omitzero"`
	Votes     []Vote         `json:"votes"`
	ClosedAt  time.Time      `json:"closedAt,omitzero"` // voting over
	Awards    map[string]int `json:"awards,omitempty"`  // points won this round, by seat
	// The audience's picks: spectators who voted, and the votes per seat.
	// Never part of the score.
	Audience      map[string]int `json:"audience,omitempty"`
	AudienceVoted []string       `json:"audienceVoted,omitempty"`
}

// Answer is a seat's answer to a round. NoAnswer marks the placeholder given
// to a seat that had not answered when the window closed.
type Answer struct {
	Seat         string    `json:"seat"`
	Text         string    `json:"text"`
	At           time.Time `json:"at"`
	ResponseMs   int64     `json:"responseMs"` // since the round started
	ProcessingMs int64     `json:"processingMs,omitempty"`
	NoAnswer     bool      `json:"noAnswer,omitempty"`
}

// Vote is a voter's pick.
type Vote struct {
	Voter string    `json:"voter"`
	Seat  string    `json:"seat"`
	At    time.Time `json:"at"`
}

// Rejection records a fact the rules refused.
type Rejection struct {
	EventID string `json:"eventId"`
	Type    string `json:"type"`
	Code    string `json:"code"`
	Reason  string `json:"reason"`
}

// TimelineEntry is one line of a match's history.
type TimelineEntry struct {
	At     time.Time `json:"at"`
	Type   string    `json:"type"`
	Round  int       `json:"round,omitempty"`
	Seat   string    `json:"seat,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

// SeatOf returns the seat with letter, or nil if no one sits there.
func (s *State) SeatOf(letter string) *Seat {
	for i := range s.Seats {
		if s.Seats[i].Letter == letter {
			return &s.Seats[i]
		}
	}
	return nil
}

// ModelShown is the model the reveal and the stats name for seat: what its
// answers reported, else the one it was cast with.
func (seat *Seat) ModelShown() string {
	if seat.AnsweredBy != "" {
		return seat.AnsweredBy
	}
	return seat.Model
}

// HumanByToken returns the human seat whose token hashes to tokenHash, or
// nil. The gateway uses it to resume a player's seat.
func (s *State) HumanByToken(tokenHash string) *Seat {
	if tokenHash == "" {
		return nil
	}
	for i := range s.Seats {
		if s.Seats[i].Human && s.Seats[i].TokenHash == tokenHash {
			return &s.Seats[i]
		}
	}
	return nil
}

// CurrentRound returns the round in play (or the last one played, once
// finished), or nil before round 1.
func (s *State) CurrentRound() *Round {
	if s.Round == 0 || len(s.Rounds) == 0 {
		return nil
	}
	return &s.Rounds[len(s.Rounds)-1]
}

// Humans counts the seats taken by humans.
func (s *State) Humans() int { return s.humans() }

func (s *State) humans() int {
	n := 0
	for _, seat := range s.Seats {
		if seat.Human {
			n++
		}
	}
	return n
}

// sortedLetters lists the seat letters in alphabetical order, the order
// seats are shown in.
func (s *State) sortedLetters() []string {
	letters := make([]string, len(s.Seats))
	for i, seat := range s.Seats {
		letters[i] = seat.Letter
	}
	slices.Sort(letters)
	return letters
}

func (r *Round) answerOf(seat string) *Answer {
	for i := range r.Answers {
		if r.Answers[i].Seat == seat {
			return &r.Answers[i]
		}
	}
	return nil
}

func (r *Round) voteOf(voter string) *Vote {
	for i := range r.Votes {
		if r.Votes[i].Voter == voter {
			return &r.Votes[i]
		}
	}
	return nil
}
