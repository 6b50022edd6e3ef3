package turing

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"
)

// A short measure: the combination of the detective's signals picks the
// human no more often than 1.3 times chance (docs/robots.md has the long run).
func TestRobotsPassForHuman(t *testing.T) {
	o := DefaultOptions()
	o.Matches = 60
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.Write(&out)
	t.Log("\n" + out.String())
	if rep.Rounds != o.Matches*o.Rounds {
		t.Fatalf("judged %d rounds, want %d", rep.Rounds, o.Matches*o.Rounds)
	}
	if r := rep.Ratio(); r > 1.3 {
		t.Errorf("the combination picks the human %.2fx chance, want <= 1.3x", r)
	}
}

// The detective is no strawman: against the robots the issue describes
// (the human types and answers first; robots paste the prompt into fixed
// frames and share a story), it finds the human every round.
func TestDetectiveFindsObviousRobots(t *testing.T) {
	var rounds []roundSeen
	right := 0
	for i, prompt := range []string{"What's your favorite memory?", "What's the best meal you've ever eaten?", "What's your earliest memory?"} {
		rounds = append(rounds, roundSeen{prompt: prompt, seats: []seen{
			{seat: "A", typingMs: 3000, answerMs: 9000, text: []string{"my dog lol", "pizza in naples", "a bee sting"}[i]},
			{seat: "B", typingMs: 10300, answerMs: 23500, text: "everyone loves " + prompt + " makes me think of a tiny gallery in lisbon"},
			{seat: "C", typingMs: 17500, answerMs: 23600, text: "i'd paint a tiny gallery in lisbon if someone asked me about " + prompt},
		}})
		if combine(detect(rounds, nil), rounds[i].seats, rand.New(rand.NewPCG(1, 1))) == "A" {
			right++
		}
	}
	if right != 3 {
		t.Fatalf("the detective found the human in %d of 3 obvious rounds", right)
	}
}
