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
	"github.com/arena-hq/arena/modules/fold"
	"github.com/arena-hq/arena/modules/game"
)

// Views holds the read views of finished matches: the history list and
// the robot and detective stats. Each match is kept as its game.Summary and
// the location of its final checkpoint in match-state, never its whole
// state, so that every match ever played fits in memory; a match's full
// record is fetched from the log when someone opens it. Feed it with Put or
// PutSummary; it is safe for concurrent use.
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
	version int // State.Events of the state it came from; 0 from a checkpoint's summary
	sum     game.Summary
	at      fold.Location // its newest checkpoint; Offset -1 while unknown
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
// HumanVotes those that picked it; the same split by who voted follows,
// since a robot voter taking a robot for human says little about how
// human it sounds. MeanResponseMs averages its real answers' response
// times (placeholders for no answer are left out).
type RobotStats struct {
	Personality     string  `json:"personality"`
	Name            string  `json:"name"`
	Model           string  `json:"model"`
	Matches         int     `json:"matches"`
	Votes           int     `json:"votes"`
	HumanVotes      int     `json:"humanVotes"`
	HumanRate       float64 `json:"humanRate"`
	HumanVoterVotes int     `json:"humanVoterVotes"`
	HumanVoterPicks int     `json:"humanVoterPicks"`
	HumanVoterRate  float64 `json:"humanVoterRate"`
	RobotVoterVotes int     `json:"robotVoterVotes"`
	RobotVoterPicks int     `json:"robotVoterPicks"`
	RobotVoterRate  float64 `json:"robotVoterRate"`
	MeanResponseMs  float64 `json:"meanResponseMs"`
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

// Put offers a state. States of matches that are not finished, or that were
// abandoned, are ignored; a state older (fewer events applied) than the one
// held for its match is ignored too, so states may be offered more than
// once and in any order. Only the state's summary is kept.
func (v *Views) Put(s *game.State) {
	if s == nil || s.Phase != events.PhaseFinished || s.EndReason != events.EndCompleted {
		return
	}
	v.put(game.Summarize(s), s.Events, fold.Location{Offset: -1})
}

// PutSummary offers the summary of a finished match read from its
// checkpoint at at.
func (v *Views) PutSummary(sum game.Summary, at fold.Location) {
	if sum.EndReason != events.EndCompleted {
		return
	}
	v.put(sum, 0, at)
}

func (v *Views) put(sum game.Summary, version int, at fold.Location) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if old, ok := v.matches[sum.MatchID]; ok {
		if at.Offset < 0 {
			at = old.at
		}
		if version < old.version || (version == old.version && old.at == at) {
			if at.Offset >= 0 {
				old.at = at
			}
			return
		}
		v.remove(old)
	}
	f := &finished{version: version, sum: sum, at: at}
	v.matches[sum.MatchID] = f
	i, _ := slices.BinarySearchFunc(v.order, f, newestFirst)
	v.order = slices.Insert(v.order, i, f)
	v.stats = nil
}

// Locate records where a finished match's newest checkpoint is.
func (v *Views) Locate(matchID string, at fold.Location) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if f := v.matches[matchID]; f != nil {
		f.at = at
	}
}

// Location returns where the newest checkpoint of a finished match is, and
// whether it is known.
func (v *Views) Location(matchID string) (fold.Location, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	f := v.matches[matchID]
	if f == nil || f.at.Offset < 0 {
		return fold.Location{}, false
	}
	return f.at, true
}

// Len is how many finished matches the views hold.
func (v *Views) Len() int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return len(v.matches)
}

func (v *Views) remove(f *finished) {
	if i, ok := slices.BinarySearchFunc(v.order, f, newestFirst); ok {
		v.order = slices.Delete(v.order, i, i+1)
	}
	delete(v.matches, f.sum.MatchID)
}

func newestFirst(a, b *finished) int {
	return cmpKey(a.sum.EndedAt, a.sum.MatchID, b.sum.EndedAt, b.sum.MatchID)
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
			return cmpKey(f.sum.EndedAt, f.sum.MatchID, ended, id)
		})
		// start is the first item at or after the cursor's position; the
		// cursor's own match was on the previous page.
		if start < len(v.order) && v.order[start].sum.MatchID == id && v.order[start].sum.EndedAt.Equal(ended) {
			start++
		}
	}
	end := min(start+limit, len(v.order))
	items = make([]HistoryItem, 0, end-start)
	for _, f := range v.order[start:end] {
		items = append(items, historyItem(&f.sum))
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
		s := &f.sum
		played := map[robotKey]bool{}
		for _, r := range s.Robots {
			k := robotKey{r.Personality, r.Model}
			t := totals[k]
			if t == nil {
				t = &robotTotals{RobotStats: RobotStats{Personality: r.Personality, Model: r.Model}}
				totals[k] = t
			}
			if !played[k] {
				played[k] = true
				t.Matches++
			}
			if t.Name == "" || s.EndedAt.After(t.lastEnded) {
				t.Name, t.lastEnded = r.Name, s.EndedAt
			}
			t.HumanVoterVotes += r.HumanVoterVotes
			t.HumanVoterPicks += r.HumanVoterPicks
			t.RobotVoterVotes += r.RobotVoterVotes
			t.RobotVoterPicks += r.RobotVoterPicks
			t.responseSum += r.ResponseMsSum
			t.responses += int64(r.ResponsesCounted)
		}
		det.Votes += s.DetectiveVotes
		det.Correct += s.DetectiveCorrect
	}
	robots := make([]RobotStats, 0, len(totals))
	for _, t := range totals {
		r := t.RobotStats
		r.Votes = r.HumanVoterVotes + r.RobotVoterVotes
		r.HumanVotes = r.HumanVoterPicks + r.RobotVoterPicks
		r.HumanRate = rate(r.HumanVotes, r.Votes)
		r.HumanVoterRate = rate(r.HumanVoterPicks, r.HumanVoterVotes)
		r.RobotVoterRate = rate(r.RobotVoterPicks, r.RobotVoterVotes)
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
	det.Accuracy = rate(det.Correct, det.Votes)
	return Stats{Matches: len(v.matches), Robots: robots, Detectives: det}
}

func rate(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

// historyItem is a finished match as the history list shows it.
func historyItem(s *game.Summary) HistoryItem {
	it := HistoryItem{
		MatchID:     s.MatchID,
		Mode:        s.Mode,
		StartedAt:   s.StartedAt,
		EndedAt:     s.EndedAt,
		Rounds:      s.Rounds,
		Seats:       s.Seats,
		Humans:      s.Humans,
		Robots:      make([]RobotInfo, 0, len(s.Robots)),
		Winners:     append([]string{}, s.Winners...),
		WinnerNames: append([]string{}, s.WinnerNames...),
		EndReason:   s.EndReason,
	}
	for _, r := range s.Robots {
		it.Robots = append(it.Robots, RobotInfo{Personality: r.Personality, Name: r.Name, Model: r.Model})
	}
	return it
}
