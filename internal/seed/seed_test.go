package seed

import (
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
)

var seedNow = time.Date(2026, 6, 1, 18, 30, 0, 0, time.UTC)

func TestGenerateMatchesIsDeterministic(t *testing.T) {
	cfg := config.Default()
	opts := Options{Matches: 4, Seed: 42, Days: 3, Now: seedNow}
	a, err := Generate(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatal("the same seed generated different matches")
	}
	opts.Seed = 43
	c, err := Generate(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if a[i].State.MatchID == c[i].State.MatchID {
			t.Fatalf("seeds 42 and 43 both generated match %s", a[i].State.MatchID)
		}
	}
}

// Every generated match is one the rules accept event by event, finished,
// and the set is varied the way real play would be.
func TestGeneratedMatchesAreValidAndVaried(t *testing.T) {
	cfg := config.Default()
	opts := Options{Matches: 40, Seed: 5, Days: 7, Now: seedNow}
	ms, err := Generate(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	modes := map[string]int{}
	seats, humans, rounds := map[int]bool{}, map[int]bool{}, map[int]bool{}
	personalities := map[string]bool{}
	var robotAnswers, noAnswers, humanPicks, votes int
	var prevEnd time.Time
	for _, m := range ms {
		s := game.New(m.State.MatchID)
		for _, e := range m.Events {
			if err := game.Apply(s, e); err != nil {
				t.Fatalf("match %s: %s refused: %v", s.MatchID, e.Type, err)
			}
			if e.Source != events.SourceSeed || e.MatchID != s.MatchID {
				t.Fatalf("event %+v: wrong source or match", e)
			}
		}
		if s.Phase != events.PhaseFinished || s.EndReason != events.EndCompleted || s.Events != len(m.Events) {
			t.Fatalf("match %s ends %s/%s after %d of %d events", s.MatchID, s.Phase, s.EndReason, s.Events, len(m.Events))
		}
		// Spread over the past days, in order, all over before now.
		created := m.Events[0].Time
		if created.Before(seedNow.Add(-8*24*time.Hour)) || !s.EndedAt.Before(seedNow) || created.Before(prevEnd) {
			t.Fatalf("match %s runs %s..%s: outside the past week or overlapping the previous one", s.MatchID, created, s.EndedAt)
		}
		prevEnd = s.EndedAt
		modes[s.Settings.Mode]++
		if (s.Settings.Mode == events.ModePrivate) != (len(s.Settings.Code) == 6) {
			t.Errorf("match %s: mode %s with code %q", s.MatchID, s.Settings.Mode, s.Settings.Code)
		}
		seats[len(s.Seats)] = true
		humans[s.Humans()] = true
		rounds[s.Settings.Rounds] = true
		if len(s.Rounds) != s.Settings.Rounds {
			t.Errorf("match %s played %d of %d rounds", s.MatchID, len(s.Rounds), s.Settings.Rounds)
		}
		for _, seat := range s.Seats {
			if seat.Human {
				continue
			}
			p, ok := cfg.Personality(seat.RobotID)
			if !ok || seat.Name != p.Name || seat.Model != p.Model {
				t.Errorf("robot seat %+v is not from the stable", seat)
			}
			personalities[seat.RobotID] = true
		}
		for _, r := range s.Rounds {
			if len(r.Answers) != len(s.Seats) {
				t.Errorf("round %d of %s has %d answers for %d seats", r.Number, s.MatchID, len(r.Answers), len(s.Seats))
			}
			for _, a := range r.Answers {
				if utf8.RuneCountInString(a.Text) > cfg.Game.MaxAnswerChars {
					t.Errorf("answer over the limit: %q", a.Text)
				}
				if a.NoAnswer {
					noAnswers++
				} else if !s.SeatOf(a.Seat).Human {
					robotAnswers++
					if a.ProcessingMs <= 0 {
						t.Errorf("robot answer without processing time: %+v", a)
					}
				}
				if !a.At.Before(r.StartedAt.Add(cfg.Game.AnswerWindow).Add(time.Millisecond)) {
					t.Errorf("answer at %s after the window of round %d", a.At, r.Number)
				}
			}
			for _, v := range r.Votes {
				votes++
				if s.SeatOf(v.Seat).Human {
					humanPicks++
				}
			}
		}
	}
	if modes[events.ModeQuick] == 0 || modes[events.ModePrivate] == 0 {
		t.Errorf("modes %v: want both", modes)
	}
	for _, n := range []int{3, 4, 5, 6} {
		if !seats[n] {
			t.Errorf("no match with %d seats in %v", n, seats)
		}
	}
	for n := 1; n <= 3; n++ {
		if !humans[n] {
			t.Errorf("no match with %d humans", n)
		}
	}
	for n := 3; n <= 5; n++ {
		if !rounds[n] {
			t.Errorf("no match with %d rounds", n)
		}
	}
	if len(personalities) < len(cfg.Robots)-1 {
		t.Errorf("only %d of %d personalities played", len(personalities), len(cfg.Robots))
	}
	if robotAnswers == 0 || noAnswers == 0 {
		t.Errorf("robot answers %d, missed answers %d: want some of each", robotAnswers, noAnswers)
	}
	if humanPicks == 0 || humanPicks == votes {
		t.Errorf("%d of %d votes picked a human: want some right and some wrong", humanPicks, votes)
	}
}

func TestGenerateMatchesNeedsAStable(t *testing.T) {
	cfg := config.Default()
	cfg.Robots = cfg.Robots[:1]
	if _, err := Generate(cfg, Options{Matches: 1, Seed: 1, Days: 1, Now: seedNow}); err == nil {
		t.Fatal("seeded with one robot")
	}
	// A small stable caps the seats instead of failing.
	cfg = config.Default()
	cfg.Robots = cfg.Robots[:3]
	ms, err := Generate(cfg, Options{Matches: 20, Seed: 1, Days: 1, Now: seedNow})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if n := len(m.State.Seats); n > 4 {
			t.Fatalf("%d seats with a stable of 3", n)
		}
	}
}
