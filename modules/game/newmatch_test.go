package game

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/arena-hq/arena/modules/events"
)

func TestNewMatchDrawsSeatsPromptsAndRoster(t *testing.T) {
	stable := []events.RobotSeat{{RobotID: "a", Name: "A", Model: "m1"}, {RobotID: "b", Name: "B", Model: "m2"}, {RobotID: "c", Name: "C", Model: "m1"}}
	cases := []struct {
		name          string
		seats, rounds int
		prompts       []string
	}{
		{"enough of everything", 4, 3, []string{"p1", "p2", "p3", "p4", "p5"}},
		{"pack shorter than the rounds", 3, 5, []string{"p1", "p2"}},
		{"stable smaller than the seats", 7, 2, []string{"p1", "p2", "p3"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			mc := NewMatch(rng.Shuffle, Setup{
				Mode: events.ModePrivate, Seats: tc.seats, Humans: 1, Rounds: tc.rounds, Code: "ABCDEF", Previous: "old",
				Prompts: tc.prompts, Stable: stable, AnswerWindow: 45 * time.Second, VoteWindow: 20 * time.Second,
				ResultsPause: 5 * time.Second, LobbyWait: 10 * time.Second, IdleTimeout: time.Minute, MaxAnswerChars: 200,
			})
			order := slices.Clone(mc.SeatOrder)
			slices.Sort(order)
			want := make([]string, tc.seats)
			for i := range want {
				want[i] = string(rune('A' + i))
			}
			if !slices.Equal(order, want) {
				t.Fatalf("seat order %v is not a permutation of %v", mc.SeatOrder, want)
			}
			if len(mc.Prompts) != tc.rounds {
				t.Fatalf("%d prompts for %d rounds", len(mc.Prompts), tc.rounds)
			}
			// Distinct while the pack lasts: each run of len(pack) prompts has no repeat.
			for i := 0; i < len(mc.Prompts); i += len(tc.prompts) {
				run := slices.Clone(mc.Prompts[i:min(i+len(tc.prompts), len(mc.Prompts))])
				slices.Sort(run)
				if len(slices.Compact(run)) != len(run) {
					t.Fatalf("prompts %v repeat within one pass of the pack", mc.Prompts)
				}
			}
			if len(mc.Robots) != tc.seats-1 {
				t.Fatalf("%d robots for %d seats", len(mc.Robots), tc.seats)
			}
			// Every personality once before any plays twice.
			count := map[string]int{}
			for _, r := range mc.Robots {
				count[r.RobotID]++
				if i := slices.IndexFunc(stable, func(s events.RobotSeat) bool { return s.RobotID == r.RobotID }); i < 0 || stable[i] != r {
					t.Fatalf("robot %+v is not from the stable", r)
				}
			}
			for _, s := range stable {
				if lo, hi := (tc.seats-1)/len(stable), (tc.seats-1+len(stable)-1)/len(stable); count[s.RobotID] < lo || count[s.RobotID] > hi {
					t.Fatalf("personality %s plays %d times in %v", s.RobotID, count[s.RobotID], mc.Robots)
				}
			}
			if mc.Code != "ABCDEF" || mc.Previous != "old" || mc.AnswerWindowMs != 45000 || mc.MaxAnswerChars != 200 {
				t.Fatalf("caller's choices not kept: %+v", mc)
			}
			if err := mc.Validate(); err != nil {
				t.Fatalf("match.created invalid: %v", err)
			}
		})
	}
}
