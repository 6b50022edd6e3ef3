package materializer

import (
	"cmp"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
)

// Views holds the read views built from match-state snapshots: the history
// of completed matches and the robot and detective stats. Feed it every
// snapshot with Put; it keeps what it needs. It is safe for concurrent use.
//
// Only matches that ended "completed" are kept: an abandoned lobby has no
// rounds to show or count.
type Views struct {
	mu      sync.RWMutex
	matches map[string]*finished
	order   []*finished // newest first: EndedAt desc, then MatchID desc
	stats   *Stats      // cached; nil when a Put changed something since
}

// finished is one completed match as the views need it.
type finished struct {
	version int // State.Events of the snapshot it came from
	item    HistoryItem
	state   *game.State
}

// HistoryItem is one finished match in the history list.
type HistoryItem struct {
	MatchID     string      `json:"matchId"`
	Mode        string      `json:"mode"`
	StartedAt   time.Time   `json:"startedAt"`
	EndedAt     time.Time   `json:"endedAt"`
	Rounds      int         `json:"rounds"`
	Seats       int         `json:"seats"`
	Humans      int         `json:"humans"`
	Robots      []RobotInfo `json:"robots"`
	Winners     []string    `json:"winners"`
	WinnerNames []string    `json:"winnerNames"`
	EndReason   string      `json:"endReason"`
}

// RobotInfo names a robot that played a match.
type RobotInfo struct {
	Personality string `json:"personality"`
	Name        string `json:"name"`
	Model       string `json:"model"`
}

// Stats is the robot leaderboard and how well humans spot humans.
type Stats struct {
	Matches    int            `json:"matches"`
	Robots     []RobotStats   `json:"robots"`
	Detectives DetectiveStats `json:"detectives"`
}

// RobotStats is one personality playing on one model (the A/B view).
// Votes counts the votes cast by other seats in the rounds it played,
// HumanVotes those that picked it; MeanResponseMs averages its real
// answers' response times (placeholders for no answer are left out).
type RobotStats struct {
	Personality    string  `json:"personality"`
	Name           string  `json:"name"`
	Model          string  `json:"model"`
	Matches        int     `json:"matches"`
	Votes          int     `json:"votes"`
	HumanVotes     int     `json:"humanVotes"`
	HumanRate      float64 `json:"humanRate"`
	MeanResponseMs float64 `json:"meanResponseMs"`
}

// DetectiveStats counts the votes cast by humans and how many picked a human.
type DetectiveStats struct {
	Votes    int     `json:"votes"`
	Correct  int     `json:"correct"`
	Accuracy float64 `json:"accuracy"`
}

// NewViews returns empty views.
func NewViews() *Views {
	return &Views{matches: map[string]*finished{}}
}

// Put offers the state of one snapshot. States of matches that are not
// finished, or that were abandoned, are ignored; a state older (fewer events
// applied) than the one held for its match is ignored too, so snapshots may
// be offered more than once and in any order. Put keeps s and never changes
// it: the caller must not change it afterwards either.
func (v *Views) Put(s *game.State) {
	if s == nil || s.Phase != events.PhaseFinished || s.EndReason != events.EndCompleted {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if old, ok := v.matches[s.MatchID]; ok {
		if s.Events < old.version {
			return
		}
		v.remove(old)
	}
	f := &finished{version: s.Events, item: historyItem(s), state: s}
	v.matches[s.MatchID] = f
	i, _ := slices.BinarySearchFunc(v.order, f, newestFirst)
	v.order = slices.Insert(v.order, i, f)
	v.stats = nil
}

func (v *Views) remove(f *finished) {
	if i, ok := slices.BinarySearchFunc(v.order, f, newestFirst); ok {
		v.order = slices.Delete(v.order, i, i+1)
	}
	delete(v.matches, f.item.MatchID)
}

func newestFirst(a, b *finished) int {
	return cmpKey(a.item.EndedAt, a.item.MatchID, b.item.EndedAt, b.item.MatchID)
}

// cmpKey orders (ended, id) pairs newest first.
func cmpKey(aEnded time.Time, aID string, bEnded time.Time, bID string) int {
	if c := bEnded.Compare(aEnded); c != 0 {
		return c
	}
	return cmp.Compare(bID, aID)
}

// History returns up to limit finished matches, newest first, starting after
// the cursor before ("" for the newest). next is the cursor of the following
// page, "" when there is none. limit is clamped to 1..100 (0 means 20). An
// invalid cursor yields no items; check it first with ValidCursor.
func (v *Views) History(limit int, before string) (items []HistoryItem, next string) {
	switch {
	case limit <= 0:
		limit = 20
	case limit > 100:
		limit = 100
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	start := 0
	if before != "" {
		ended, id, ok := parseCursor(before)
		if !ok {
			return []HistoryItem{}, ""
		}
		start, _ = slices.BinarySearchFunc(v.order, ended, func(f *finished, _ time.Time) int {
			return cmpKey(f.item.EndedAt, f.item.MatchID, ended, id)
		})
		// start is the first item at or after the cursor's position; the
		// cursor's own match was on the previous page.
		if start < len(v.order) && v.order[start].item.MatchID == id && v.order[start].item.EndedAt.Equal(ended) {
			start++
		}
	}
	end := min(start+limit, len(v.order))
	items = make([]HistoryItem, 0, end-start)
	for _, f := range v.order[start:end] {
		items = append(items, f.item)
	}
	if end < len(v.order) && len(items) > 0 {
		last := items[len(items)-1]
		next = cursor(last.EndedAt, last.MatchID)
	}
	return items, next
}

// ValidCursor reports whether s is a cursor History could have returned.
func ValidCursor(s string) bool {
	_, _, ok := parseCursor(s)
	return ok
}

// A cursor is opaque to clients: base64url of "<endedAt unix ns>:<match id>".
func cursor(ended time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(ended.UnixNano(), 10) + ":" + id))
}

func parseCursor(s string) (time.Time, string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, "", false
	}
	ns, id, ok := strings.Cut(string(b), ":")
	if !ok || id == "" {
		return time.Time{}, "", false
	}
	n, err := strconv.ParseInt(ns, 10, 64)
	if err != nil {
		return time.Time{}, "", false
	}
	return time.Unix(0, n).UTC(), id, true
}

// Stats returns the leaderboard of every completed match seen so far:
// robots by how often they were taken for a human (highest first).
func (v *Views) Stats() Stats {
	v.mu.RLock()
	cached := v.stats
	v.mu.RUnlock()
	if cached == nil {
		v.mu.Lock()
		if v.stats == nil {
			s := v.computeStats()
			v.stats = &s
		}
		cached = v.stats
		v.mu.Unlock()
	}
	out := *cached
	out.Robots = slices.Clone(cached.Robots)
	return out
}

type robotKey struct{ personality, model string }

type robotTotals struct {
	RobotStats
	responseSum, responses int64
	lastEnded              time.Time // the name shown is the one of the newest match
}

func (v *Views) computeStats() Stats {
	totals := map[robotKey]*robotTotals{}
	var det DetectiveStats
	for _, f := range v.matches {
		s := f.state
		played := map[robotKey]bool{}
		for _, seat := range s.Seats {
			if seat.Human {
				continue
			}
			k := robotKey{seat.RobotID, seat.Model}
			t := totals[k]
			if t == nil {
				t = &robotTotals{RobotStats: RobotStats{Personality: seat.RobotID, Model: seat.Model}}
				totals[k] = t
			}
			if !played[k] {
				played[k] = true
				t.Matches++
			}
			if t.Name == "" || s.EndedAt.After(t.lastEnded) {
				t.Name, t.lastEnded = seat.Name, s.EndedAt
			}
			for _, r := range s.Rounds {
				for _, vote := range r.Votes {
					if vote.Voter == seat.Letter {
						continue
					}
					t.Votes++
					if vote.Seat == seat.Letter {
						t.HumanVotes++
					}
				}
				for _, a := range r.Answers {
					if a.Seat == seat.Letter && !a.NoAnswer {
						t.responseSum += a.ResponseMs
						t.responses++
					}
				}
			}
		}
		for _, r := range s.Rounds {
			for _, vote := range r.Votes {
				if voter := s.SeatOf(vote.Voter); voter == nil || !voter.Human {
					continue
				}
				det.Votes++
				if picked := s.SeatOf(vote.Seat); picked != nil && picked.Human {
					det.Correct++
				}
			}
		}
	}
	robots := make([]RobotStats, 0, len(totals))
	for _, t := range totals {
		r := t.RobotStats
		if r.Votes > 0 {
			r.HumanRate = float64(r.HumanVotes) / float64(r.Votes)
		}
		if t.responses > 0 {
			r.MeanResponseMs = float64(t.responseSum) / float64(t.responses)
		}
		robots = append(robots, r)
	}
	slices.SortFunc(robots, func(a, b RobotStats) int {
		return cmp.Or(
			cmp.Compare(b.HumanRate, a.HumanRate),
			cmp.Compare(b.Matches, a.Matches),
			cmp.Compare(a.Personality, b.Personality),
			cmp.Compare(a.Model, b.Model),
		)
	})
	if det.Votes > 0 {
		det.Accuracy = float64(det.Correct) / float64(det.Votes)
	}
	return Stats{Matches: len(v.matches), Robots: robots, Detectives: det}
}

// historyItem summarises a finished match.
func historyItem(s *game.State) HistoryItem {
	it := HistoryItem{
		MatchID:     s.MatchID,
		Mode:        s.Settings.Mode,
		StartedAt:   s.CreatedAt,
		EndedAt:     s.EndedAt,
		Rounds:      len(s.Rounds),
		Seats:       len(s.Seats),
		Robots:      []RobotInfo{},
		Winners:     []string{},
		WinnerNames: []string{},
		EndReason:   s.EndReason,
	}
	if len(s.Rounds) > 0 {
		it.StartedAt = s.Rounds[0].StartedAt
	}
	letters := make([]string, 0, len(s.Seats))
	for _, seat := range s.Seats {
		letters = append(letters, seat.Letter)
		if seat.Human {
			it.Humans++
			continue
		}
		it.Robots = append(it.Robots, RobotInfo{Personality: seat.RobotID, Name: seat.Name, Model: seat.Model})
	}
	slices.Sort(letters)
	best := 0
	for _, l := range letters {
		score := s.Scores[l]
		switch {
		case len(it.Winners) == 0 || score > best:
			it.Winners, best = []string{l}, score
		case score == best:
			it.Winners = append(it.Winners, l)
		}
	}
	for _, l := range it.Winners {
		if seat := s.SeatOf(l); seat != nil {
			it.WinnerNames = append(it.WinnerNames, seat.Name)
		}
	}
	return it
}
