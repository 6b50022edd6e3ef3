package game

import "time"

// View is what one seat (or a spectator, with You empty) may see of a match:
// the VIEW of DESIGN.md section 7. Before the match is finished it never
// tells who is human: no names, no robot ids, no scores (a score would give
// away whose pick was human); Reveal, Scores and Timeline appear only once
// the phase is finished.
type View struct {
	MatchID        string          `json:"matchId"`
	Mode           string          `json:"mode"`
	Code           string          `json:"code,omitempty"`
	Phase          string          `json:"phase"`
	Round          int             `json:"round"`
	Rounds         int             `json:"rounds"`
	Prompt         string          `json:"prompt"`
	Deadline       *time.Time      `json:"deadline,omitempty"`
	You            string          `json:"you,omitempty"`
	Host           bool            `json:"host,omitempty"` // you are the host
	SeatsTotal     int             `json:"seatsTotal"`
	MaxAnswerChars int             `json:"maxAnswerChars"`
	Seats          []SeatView      `json:"seats"`
	Answers        []AnswerView    `json:"answers"`
	Votes          []VoteView      `json:"votes"`
	Scores         map[string]int  `json:"scores"`
	Reveal         []RevealView    `json:"reveal,omitempty"`
	Winners        []string        `json:"winners,omitempty"`
	EndReason      string          `json:"endReason,omitempty"`
	Rematch        string          `json:"rematch,omitempty"` // match id of "play again"
	Timeline       []TimelineEntry `json:"timeline,omitempty"`
	Version        int             `json:"version"` // events applied; grows with every change
}

// SeatView is a seat as everyone sees it during play.
type SeatView struct {
	Seat     string `json:"seat"`
	Answered bool   `json:"answered"`
	Typing   bool   `json:"typing"`
	Voted    bool   `json:"voted"`
}

// AnswerView is an anonymised answer.
type AnswerView struct {
	Round    int    `json:"round"`
	Seat     string `json:"seat"`
	Text     string `json:"text"`
	NoAnswer bool   `json:"noAnswer,omitempty"`
}

// VoteView is one vote, shown once its round's voting is over.
type VoteView struct {
	Round int    `json:"round"`
	Voter string `json:"voter"`
	Seat  string `json:"seat"`
}

// RevealView is a seat's identity, shown once the match is finished.
type RevealView struct {
	Seat        string `json:"seat"`
	Human       bool   `json:"human"`
	Name        string `json:"name"`
	Personality string `json:"personality,omitempty"` // robot id
	Model       string `json:"model,omitempty"`
	Score       int    `json:"score"`
	Correct     int    `json:"correct"` // votes that picked a human
	Votes       int    `json:"votes"`   // votes cast
}
