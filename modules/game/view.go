package game

import (
	"slices"
	"strings"
	"time"

	"github.com/arena-hq/arena/modules/events"
)

// View is what one seat (or a spectator, with You empty) may see of a match:
// what the WebSocket sends (docs/gateway.md). Before the match is finished it never
// tells who is human: no names (but a private lobby's list of who joined,
// to its players, without letters), no robot ids, no scores (a score would
// give away whose pick was human); Reveal, Scores and Timeline appear only
// once the phase is finished. In the lobby Seats holds only your own seat, with
// Joined counting the others in a private match (a quick one says nothing
// of how many humans joined): seat letters are handed out to humans first,
// so a letter seen in the lobby would name a human for the whole match.
type View struct {
	MatchID        string          `json:"matchId"`
	Mode           string          `json:"mode"`
	Code           string          `json:"code,omitempty"`
	Phase          string          `json:"phase"`
	Round          int             `json:"round"`
	Rounds         int             `json:"rounds"`
	Prompt         string          `json:"prompt"`
	Prompts        []RoundPrompt   `json:"prompts,omitempty"` // every round begun so far, for history
	Deadline       *time.Time      `json:"deadline,omitempty"`
	You            string          `json:"you,omitempty"`
	Host           bool            `json:"host,omitempty"` // you are the host
	SeatsTotal     int             `json:"seatsTotal"`
	Joined         int             `json:"joined,omitempty"` // private lobby only: players seated so far
	Lobby          *LobbyView      `json:"lobby,omitempty"`  // private lobby, for its players only: settings and names
	MaxAnswerChars int             `json:"maxAnswerChars"`
	NoOneVote      bool            `json:"noOneVote,omitempty"` // "none" (no one: all robots) is a vote
	Seats          []SeatView      `json:"seats"`
	Answers        []AnswerView    `json:"answers"`
	Votes          []VoteView      `json:"votes"`
	Audience       []AudiencePick  `json:"audience,omitempty"` // spectators' picks, once a round's voting is over
	Scores         map[string]int  `json:"scores"`
	Reveal         []RevealView    `json:"reveal,omitempty"`
	Winners        []string        `json:"winners,omitempty"`
	EndReason      string          `json:"endReason,omitempty"`
	Rematch        string          `json:"rematch,omitempty"` // match id of "play again"
	Timeline       []TimelineEntry `json:"timeline,omitempty"`
	Version        int             `json:"version"` // events applied; grows with every change
}

// LobbyView is a private lobby as its players see it: the host's settings
// and the names of who joined (never their seat letters).
type LobbyView struct {
	Humans         int           `json:"humans"`
	AnswerWindowMs int64         `json:"answerWindowMs"`
	VoteWindowMs   int64         `json:"voteWindowMs"`
	Players        []LobbyPlayer `json:"players"`
}

// LobbyPlayer is a joined human in a private lobby. ID is the lobby handle
// (LobbyHandle) the host kicks by.
type LobbyPlayer struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Host bool   `json:"host,omitempty"`
	You  bool   `json:"you,omitempty"`
}

// RoundPrompt is the prompt of a round that has begun.
type RoundPrompt struct {
	Round  int    `json:"round"`
	Prompt string `json:"prompt"`
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
	Correct     int    `json:"correct"` // votes that were right (a human, or "none" when alone)
	Votes       int    `json:"votes"`   // votes cast
}

// ViewFor is what seat sees of s; seat "" (or a seat no one sits in) is a
// spectator. The view shares no memory with s, so it may be encoded after
// s has moved on.
func ViewFor(s *State, seat string) View {
	v := View{
		MatchID:        s.MatchID,
		Mode:           s.Settings.Mode,
		Phase:          s.Phase,
		Round:          s.Round,
		Rounds:         s.Settings.Rounds,
		SeatsTotal:     s.Settings.Seats,
		MaxAnswerChars: s.Settings.MaxAnswerChars,
		Seats:          seatViews(s, seat),
		Answers:        answerViews(s),
		Votes:          voteViews(s),
		Audience:       audienceViews(s),
		Scores:         map[string]int{},
		NoOneVote:      NoOneAllowed(s),
		Version:        s.Events,
	}
	if you := s.SeatOf(seat); you != nil {
		v.You = you.Letter
		// A quick match starts on its own: it has no host. The invite is
		// the players' to share, not a spectator's.
		v.Host = you.Letter == s.Host && s.Settings.Mode == events.ModePrivate
		v.Code = s.Settings.Code
	}
	if r := s.CurrentRound(); r != nil {
		v.Prompt = r.Prompt
	}
	for _, r := range s.Rounds {
		v.Prompts = append(v.Prompts, RoundPrompt{Round: r.Number, Prompt: r.Prompt})
	}
	if !s.Deadline.IsZero() {
		d := s.Deadline
		v.Deadline = &d
	}
	// A quick lobby does not count its players: robots fill the rest at
	// the start, so the count would tell how many humans play (and "no
	// one" is a vote in a quick match because players cannot know it).
	if s.Phase == events.PhaseLobby && s.Settings.Mode != events.ModeQuick {
		v.Joined = len(s.Seats)
		// Names only to those seated: GET /api/matches/{id} is public.
		if v.You != "" {
			v.Lobby = lobbyView(s, v.You)
		}
	}
	if s.Phase == events.PhaseFinished {
		reveal(s, &v)
	}
	return v
}

// seatViews lists the seats in letter order with what everyone may see of
// them: whether they answered or are typing (while answering) and whether
// they voted (while voting). In the lobby it lists only you.
func seatViews(s *State, you string) []SeatView {
	out := []SeatView{}
	r := s.CurrentRound()
	for _, letter := range s.sortedLetters() {
		if s.Phase == events.PhaseLobby && letter != you {
			continue
		}
		sv := SeatView{Seat: letter}
		switch {
		case s.Phase == events.PhaseAnswering && r != nil:
			sv.Answered = r.answerOf(letter) != nil
			sv.Typing = slices.Contains(r.Typing, letter)
		case s.Phase == events.PhaseVoting && r != nil:
			sv.Voted = r.voteOf(letter) != nil
		}
		out = append(out, sv)
	}
	return out
}

// answerViews lists every answer shown so far, by round then seat letter:
// the current round's only once answering is over, so an early answer does
// not set the tone for the others. Letter order says nothing about arrival
// (the reducer keeps answers in arrival order), and seat letters are dealt
// from a shuffled order, so it says nothing about who is human either.
func answerViews(s *State) []AnswerView {
	out := []AnswerView{}
	for _, r := range s.Rounds {
		if r.Number == s.Round && s.Phase == events.PhaseAnswering {
			continue
		}
		answers := slices.Clone(r.Answers)
		slices.SortStableFunc(answers, func(a, b Answer) int { return strings.Compare(a.Seat, b.Seat) })
		for _, a := range answers {
			out = append(out, AnswerView{Round: r.Number, Seat: a.Seat, Text: a.Text, NoAnswer: a.NoAnswer})
		}
	}
	return out
}

// voteViews lists the votes of every round whose voting is over.
func voteViews(s *State) []VoteView {
	out := []VoteView{}
	for _, r := range s.Rounds {
		if r.ClosedAt.IsZero() {
			continue
		}
		for _, vote := range r.Votes {
			out = append(out, VoteView{Round: r.Number, Voter: vote.Voter, Seat: vote.Seat})
		}
	}
	return out
}

// reveal adds to v what only a finished match shows: who was who, the
// scores, the winners and the timeline.
func reveal(s *State, v *View) {
	for _, letter := range s.sortedLetters() {
		seat := s.SeatOf(letter)
		rv := RevealView{
			Seat:        letter,
			Human:       seat.Human,
			Name:        seat.Name,
			Personality: seat.RobotID,
			Model:       seat.ModelShown(),
			Score:       s.Scores[letter],
		}
		for _, vote := range v.Votes {
			if vote.Voter != letter {
				continue
			}
			rv.Votes++
			if s.RightVote(Vote{Voter: vote.Voter, Seat: vote.Seat}) {
				rv.Correct++
			}
		}
		v.Reveal = append(v.Reveal, rv)
		v.Scores[letter] = s.Scores[letter]
	}
	v.EndReason = s.EndReason
	if s.EndReason == events.EndCompleted {
		v.Winners = winners(v.Scores)
	}
	if s.Rematch != nil {
		v.Rematch = s.Rematch.MatchID
	}
	v.Timeline = slices.Clone(s.Timeline)
}

// winners lists the seats with the top score, in letter order.
func winners(scores map[string]int) []string {
	var out []string
	best := 0
	for seat, score := range scores {
		switch {
		case len(out) == 0 || score > best:
			out, best = []string{seat}, score
		case score == best:
			out = append(out, seat)
		}
	}
	slices.Sort(out)
	return out
}
