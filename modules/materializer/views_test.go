package materializer

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
)

var t0 = time.Date(2025, 1, 2, 15, 0, 0, 0, time.UTC)

func human(letter, name string) game.Seat {
	return game.Seat{Letter: letter, Human: true, Name: name, PlayerID: "p-" + name, TokenHash: strings.Repeat("a", 64)}
}

func robot(letter, id, name, model string) game.Seat {
	return game.Seat{Letter: letter, Name: name, RobotID: id, Model: model}
}

func ans(seat string, ms int64) game.Answer {
	return game.Answer{Seat: seat, Text: "x", ResponseMs: ms}
}

func noAns(seat string, ms int64) game.Answer {
	return game.Answer{Seat: seat, Text: "(no answer)", ResponseMs: ms, NoAnswer: true}
}

func vote(voter, seat string) game.Vote { return game.Vote{Voter: voter, Seat: seat} }

// finishedState builds a completed match by hand.
func finishedState(id string, ended time.Time, seats []game.Seat, scores map[string]int, rounds ...game.Round) *game.State {
	for i := range rounds {
		rounds[i].Number = i + 1
		rounds[i].StartedAt = ended.Add(-time.Duration(len(rounds)-i) * time.Minute)
		rounds[i].ClosedAt = rounds[i].StartedAt.Add(30 * time.Second)
	}
	return &game.State{
		MatchID:   id,
		Settings:  events.MatchCreated{Mode: events.ModePrivate, Seats: len(seats), Rounds: len(rounds)},
		CreatedAt: ended.Add(-time.Hour),
		Phase:     events.PhaseFinished,
		Round:     len(rounds),
		Seats:     seats,
		Rounds:    rounds,
		Scores:    scores,
		EndReason: events.EndCompleted,
		EndedAt:   ended,
		Events:    10,
	}
}

// matchOne: humans A (alice) and D (bob); robots B (curious-student on
// m-x) and C (skeptic on m-y); two rounds.
func matchOne() *game.State {
	return finishedState("m1", t0,
		[]game.Seat{human("A", "alice"), human("D", "bob"), robot("B", "curious-student", "Curious", "m-x"), robot("C", "skeptic", "Skeptic", "m-y")},
		map[string]int{"A": 250, "B": 100, "C": 0, "D": 250},
		game.Round{
			Answers: []game.Answer{ans("A", 1000), ans("B", 2000), noAns("C", 45000), ans("D", 3000)},
			Votes:   []game.Vote{vote("A", "B"), vote("B", "A"), vote("C", "D"), vote("D", "C")},
		},
		game.Round{
			Answers: []game.Answer{ans("B", 4000), ans("C", 1000), ans("A", 10), ans("D", 20)},
			Votes:   []game.Vote{vote("A", "D"), vote("B", "C"), vote("C", "A"), vote("D", "B")},
		},
	)
}

// matchTwo: human A (carol); robots B (curious-student on m-z) and C
// (curious-student on m-x); one round.
func matchTwo() *game.State {
	return finishedState("m2", t0.Add(time.Hour),
		[]game.Seat{human("A", "carol"), robot("B", "curious-student", "Curious", "m-z"), robot("C", "curious-student", "Curious", "m-x")},
		map[string]int{"A": 50, "B": 100, "C": 100},
		game.Round{
			Answers: []game.Answer{ans("A", 500), ans("B", 1500), ans("C", 2500)},
			Votes:   []game.Vote{vote("A", "B"), vote("B", "A"), vote("C", "A")},
		},
	)
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestStatsByHand(t *testing.T) {
	v := NewViews()
	v.Put(matchOne())
	v.Put(matchTwo())
	// Ignored: a match still in play and an abandoned lobby.
	live := matchOne()
	live.MatchID, live.Phase, live.EndReason = "live", events.PhaseVoting, ""
	v.Put(live)
	abandoned := matchTwo()
	abandoned.MatchID, abandoned.EndReason = "gone", events.EndAbandoned
	v.Put(abandoned)

	s := v.Stats()
	if s.Matches != 2 {
		t.Fatalf("matches = %d, want 2", s.Matches)
	}
	// Worked out by hand:
	//  curious-student/m-z (m2 seat B): others' votes A,C = 2, picked by A = 1 -> 0.5; answers 1500.
	//  skeptic/m-y (m1 seat C): round 1 A,B,D voted (D picked C), round 2 A,B,D (B picked C):
	//    6 votes, 2 picks -> 1/3; answers: round 1 no answer (left out), round 2 1000.
	//  curious-student/m-x (m1 seat B, m2 seat C): m1 6 votes, picked by A (r1) and D (r2);
	//    m2 2 votes (A, B), none for C: 8 votes, 2 picks -> 0.25; answers 2000, 4000, 2500.
	want := []RobotStats{
		{Personality: "curious-student", Name: "Curious", Model: "m-z", Matches: 1, Votes: 2, HumanVotes: 1, HumanRate: 0.5, MeanResponseMs: 1500},
		{Personality: "skeptic", Name: "Skeptic", Model: "m-y", Matches: 1, Votes: 6, HumanVotes: 2, HumanRate: 1.0 / 3, MeanResponseMs: 1000},
		{Personality: "curious-student", Name: "Curious", Model: "m-x", Matches: 2, Votes: 8, HumanVotes: 2, HumanRate: 0.25, MeanResponseMs: 8500.0 / 3},
	}
	if len(s.Robots) != len(want) {
		t.Fatalf("robots = %+v, want %+v", s.Robots, want)
	}
	for i, w := range want {
		g := s.Robots[i]
		if g.Personality != w.Personality || g.Name != w.Name || g.Model != w.Model || g.Matches != w.Matches ||
			g.Votes != w.Votes || g.HumanVotes != w.HumanVotes || !near(g.HumanRate, w.HumanRate) || !near(g.MeanResponseMs, w.MeanResponseMs) {
			t.Errorf("robots[%d] = %+v, want %+v", i, g, w)
		}
	}
	// Human votes: m1 r1 A->B, D->C (robots); r2 A->D (human), D->B; m2 A->B. 5 votes, 1 correct.
	if d := s.Detectives; d.Votes != 5 || d.Correct != 1 || !near(d.Accuracy, 0.2) {
		t.Errorf("detectives = %+v, want 5 votes, 1 correct, 0.2", d)
	}

	// The JSON shape the stats page reads.
	b, _ := json.Marshal(s)
	for _, key := range []string{`"matches":2`, `"robots":[`, `"personality":"curious-student"`, `"humanVotes":1`, `"humanRate":0.5`, `"meanResponseMs":1500`, `"detectives":{"votes":5,"correct":1,"accuracy":0.2}`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("stats JSON lacks %s: %s", key, b)
		}
	}
}

func TestStatsEmptyAndReplace(t *testing.T) {
	v := NewViews()
	b, _ := json.Marshal(v.Stats())
	if string(b) != `{"matches":0,"robots":[],"detectives":{"votes":0,"correct":0,"accuracy":0}}` {
		t.Errorf("empty stats = %s", b)
	}
	m := matchTwo()
	v.Put(m)
	v.Put(m) // a redelivered snapshot counts once
	older := matchTwo()
	older.Events = 3
	older.Rounds[0].Votes = nil
	v.Put(older) // an older version does not replace a newer one
	if s := v.Stats(); s.Matches != 1 || s.Detectives.Votes != 1 {
		t.Errorf("after duplicate and older puts: %+v", s)
	}
	newer := matchTwo()
	newer.Events = 11
	newer.Rematch = &events.RematchCreated{MatchID: "m9"}
	newer.Rounds[0].Votes = []game.Vote{vote("A", "C")}
	v.Put(newer)
	if s := v.Stats(); s.Matches != 1 || s.Detectives.Votes != 1 || s.Detectives.Correct != 0 || len(s.Robots) != 2 {
		t.Errorf("after a newer put: %+v", s)
	}
	items, _ := v.History(10, "")
	if len(items) != 1 {
		t.Errorf("history after replace has %d items, want 1", len(items))
	}
}

func TestHistoryItem(t *testing.T) {
	v := NewViews()
	v.Put(matchOne())
	items, next := v.History(0, "")
	if len(items) != 1 || next != "" {
		t.Fatalf("items %v next %q", items, next)
	}
	it := items[0]
	if it.MatchID != "m1" || it.Mode != "private" || it.Rounds != 2 || it.Seats != 4 || it.Humans != 2 || it.EndReason != "completed" {
		t.Errorf("item = %+v", it)
	}
	if !it.EndedAt.Equal(t0) || !it.StartedAt.Equal(t0.Add(-2*time.Minute)) {
		t.Errorf("startedAt %v endedAt %v", it.StartedAt, it.EndedAt)
	}
	if !slices.Equal(it.Winners, []string{"A", "D"}) || !slices.Equal(it.WinnerNames, []string{"alice", "bob"}) {
		t.Errorf("winners %v names %v", it.Winners, it.WinnerNames)
	}
	wantRobots := []RobotInfo{{"curious-student", "Curious", "m-x"}, {"skeptic", "Skeptic", "m-y"}}
	if !slices.Equal(it.Robots, wantRobots) {
		t.Errorf("robots %v", it.Robots)
	}
	b, _ := json.Marshal(it)
	for _, key := range []string{"matchId", "mode", "startedAt", "endedAt", "rounds", "seats", "humans", "robots", "winners", "winnerNames", "endReason", `"personality":"skeptic"`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("item JSON lacks %s: %s", key, b)
		}
	}
}

func TestHistoryPaging(t *testing.T) {
	v := NewViews()
	mk := func(id string, ended time.Time) *game.State {
		s := matchTwo()
		s.MatchID, s.EndedAt = id, ended
		return s
	}
	// Put out of order; two matches end at the same instant.
	v.Put(mk("b", t0.Add(2*time.Minute)))
	v.Put(mk("a", t0))
	v.Put(mk("d", t0.Add(3*time.Minute)))
	v.Put(mk("c", t0.Add(2*time.Minute)))
	v.Put(mk("e", t0.Add(4*time.Minute)))

	var got []string
	cur := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		items, next := v.History(2, cur)
		for _, it := range items {
			got = append(got, it.MatchID)
		}
		if next == "" {
			break
		}
		if !ValidCursor(next) {
			t.Fatalf("cursor %q not valid", next)
		}
		cur = next
	}
	if want := []string{"e", "d", "c", "b", "a"}; !slices.Equal(got, want) {
		t.Errorf("pages give %v, want %v", got, want)
	}

	// A cursor whose match was replaced still pages on from its position.
	items, _ := v.History(2, "")
	_, next := v.History(2, "")
	v.Put(mk("d", t0.Add(3*time.Minute)))
	rest, _ := v.History(10, next)
	if len(items) != 2 || len(rest) != 3 || rest[0].MatchID != "c" {
		t.Errorf("after re-put: %v then %v", items, rest)
	}

	for _, bad := range []string{"!!", "bm9jb2xvbg", "eDp5"} {
		if ValidCursor(bad) {
			t.Errorf("cursor %q should be invalid", bad)
		}
		if items, next := v.History(5, bad); len(items) != 0 || next != "" {
			t.Errorf("bad cursor %q gave %v %q", bad, items, next)
		}
	}
	if items, _ := v.History(1000, ""); len(items) != 5 {
		t.Errorf("limit over 100 is clamped, not an error: %d items", len(items))
	}
}

// TestStatsByVoterKind: "taken for human" told apart by who voted. Worked
// out by hand from matchOne and matchTwo:
//   - skeptic/m-y (m1 C): human voters A, D in two rounds = 4 votes, D picked it
//     in round 1 -> 1; robot voter B in two rounds = 2 votes, B picked it in
//     round 2 -> 1.
//   - curious-student/m-x (m1 B, m2 C): m1 humans A, D x2 = 4 votes, A (r1) and
//     D (r2) picked it -> 2; m1 robot C x2 = 2 votes, none; m2 human A 1 vote,
//     none; m2 robot B 1 vote, none.
func TestStatsByVoterKind(t *testing.T) {
	v := NewViews()
	v.Put(matchOne())
	v.Put(matchTwo())
	got := map[string]RobotStats{}
	for _, r := range v.Stats().Robots {
		got[r.Personality+"/"+r.Model] = r
	}
	for key, w := range map[string][4]int{
		"skeptic/m-y":         {4, 1, 2, 1},
		"curious-student/m-x": {5, 2, 3, 0},
		"curious-student/m-z": {1, 1, 1, 0},
	} {
		r := got[key]
		if r.HumanVoterVotes != w[0] || r.HumanVoterPicks != w[1] || r.RobotVoterVotes != w[2] || r.RobotVoterPicks != w[3] {
			t.Errorf("%s: by humans %d/%d, by robots %d/%d; want %d/%d and %d/%d", key,
				r.HumanVoterPicks, r.HumanVoterVotes, r.RobotVoterPicks, r.RobotVoterVotes, w[1], w[0], w[3], w[2])
		}
		if r.HumanVoterVotes+r.RobotVoterVotes != r.Votes || !near(r.HumanVoterRate, float64(w[1])/float64(w[0])) {
			t.Errorf("%s: totals %+v", key, r)
		}
	}
}

// TestStatsNoOneVote: a lone human's "no one, they are all robots" vote is
// a right detection, not a failed one.
func TestStatsNoOneVote(t *testing.T) {
	solo := finishedState("m3", t0.Add(2*time.Hour),
		[]game.Seat{human("A", "dana"), robot("B", "curious-student", "Curious", "m-x"), robot("C", "skeptic", "Skeptic", "m-y")},
		map[string]int{"A": 100, "B": 0, "C": 0},
		game.Round{
			Answers: []game.Answer{ans("A", 500), ans("B", 1500), ans("C", 2500)},
			Votes:   []game.Vote{vote("A", events.NoOne), vote("B", "A"), vote("C", "A")},
		},
		game.Round{
			Answers: []game.Answer{ans("A", 500), ans("B", 1500), ans("C", 2500)},
			Votes:   []game.Vote{vote("A", "B"), vote("B", "A"), vote("C", "A")},
		},
	)
	v := NewViews()
	v.Put(solo)
	if d := v.Stats().Detectives; d.Votes != 2 || d.Correct != 1 {
		t.Fatalf("detectives = %+v, want 2 votes (none, B) with 1 right", d)
	}
}
