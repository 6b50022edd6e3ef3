package llm

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/arena-hq/arena/config"
)

var testPrompts = []string{
	"What's your favorite memory?",
	"What's the best meal you've ever had?",
	"If you could travel anywhere tomorrow, where would you go?",
	"Describe your perfect weekend.",
	"What would you do with a million dollars?",
	"What's a skill you wish you had?",
	"What song is stuck in your head?",
	"Who was your childhood hero?",
	"Ok",
	"",
}

var personalities = []string{"curious-student", "skeptical-scientist", "creative-artist", "someone-new"}

func answerReq(personality, prompt, seed string, maxChars int) Request {
	p := config.Personality{ID: personality, SystemPrompt: "x"}
	return BuildAnswerRequest(p, "m", prompt, nil, maxChars, seed)
}

func TestScriptedIsDeterministic(t *testing.T) {
	a, b := NewScripted(config.LLM{Seed: 7}), NewScripted(config.LLM{Seed: 7})
	for _, p := range personalities {
		req := answerReq(p, "What's your favorite memory?", "match-1/round-2/seat-B", 280)
		r1, err1 := a.Complete(context.Background(), req)
		r2, err2 := b.Complete(context.Background(), req)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if r1 != r2 {
			t.Errorf("%s: %q then %q", p, r1.Text, r2.Text)
		}
		if r1.Model != "scripted" || r1.Attempts != 1 {
			t.Errorf("resp = %+v", r1)
		}
	}
	// A different llm.seed is a different game.
	other := NewScripted(config.LLM{Seed: 8})
	differ := 0
	for i := range 20 {
		req := answerReq("curious-student", testPrompts[i%len(testPrompts)], fmt.Sprint(i), 280)
		r1, _ := a.Complete(context.Background(), req)
		r2, _ := other.Complete(context.Background(), req)
		if r1.Text != r2.Text {
			differ++
		}
	}
	if differ < 10 {
		t.Errorf("llm.seed changed only %d of 20 answers", differ)
	}
}

func TestScriptedAnswersVaryAndLookHuman(t *testing.T) {
	m := NewScripted(config.LLM{})
	aiWord := regexp.MustCompile(`(?i)\b(ai|a\.i\.|robot|bot|language model|assistant)\b`)
	const maxChars = 120
	seen := map[string]bool{}
	perPersonality := map[string]map[string]bool{}
	total := 0
	for _, p := range personalities {
		perPersonality[p] = map[string]bool{}
		for _, prompt := range testPrompts {
			for seed := range 8 {
				resp, err := m.Complete(context.Background(), answerReq(p, prompt, fmt.Sprintf("cmd-%d", seed), maxChars))
				if err != nil {
					t.Fatal(err)
				}
				text := resp.Text
				total++
				seen[text] = true
				perPersonality[p][text] = true
				if n := utf8.RuneCountInString(text); n < 5 || n > maxChars {
					t.Errorf("%s %q: %d chars: %q", p, prompt, n, text)
				}
				if strings.Contains(text, "AI") || aiWord.MatchString(text) {
					t.Errorf("%s gives itself away: %q", p, text)
				}
				if text != strings.TrimSpace(text) || strings.Contains(text, "{") {
					t.Errorf("unfinished template: %q", text)
				}
			}
		}
	}
	if len(seen) < total*3/4 {
		t.Errorf("only %d distinct answers of %d", len(seen), total)
	}
	for p, s := range perPersonality {
		if len(s) < 40 {
			t.Errorf("%s: only %d distinct answers", p, len(s))
		}
	}
}

func TestScriptedAnswerUsesThePrompt(t *testing.T) {
	m := NewScripted(config.LLM{})
	mentions := 0
	for seed := range 20 {
		resp, _ := m.Complete(context.Background(), answerReq("someone-new", "Describe your perfect weekend.", fmt.Sprint(seed), 280))
		if strings.Contains(strings.ToLower(resp.Text), "weekend") {
			mentions++
		}
	}
	if mentions == 0 {
		t.Error("no answer ever mentions the prompt's topic")
	}
}

func TestScriptedVotesForACandidate(t *testing.T) {
	m := NewScripted(config.LLM{Seed: 3})
	candidates := []string{"A", "C", "D"}
	picks := map[string]int{}
	for i := range 60 {
		req := BuildVoteRequest(config.Personality{ID: personalities[i%4]}, "m", "What's your favorite memory?", nil, candidates, fmt.Sprintf("vote-%d", i))
		resp, err := m.Complete(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(candidates, resp.Text) {
			t.Fatalf("vote %q is not a candidate", resp.Text)
		}
		if again, _ := m.Complete(context.Background(), req); again.Text != resp.Text {
			t.Fatalf("vote not deterministic: %q then %q", resp.Text, again.Text)
		}
		picks[resp.Text]++
	}
	if len(picks) != len(candidates) {
		t.Errorf("votes never vary across commands: %v", picks)
	}
	if _, err := m.Complete(context.Background(), Request{Task: TaskVote}); err == nil {
		t.Error("a vote with no candidates should fail")
	}
}

func TestTopicOf(t *testing.T) {
	cases := map[string]string{
		"What's your favorite memory?":                      "favorite memory",
		"What's the best meal you've ever had?":             "best meal",
		"Describe your perfect weekend.":                    "perfect weekend",
		"If you could have dinner with anyone, who'd it be": "dinner",
		"What would you do with a million dollars?":         "million dollars",
		"Why?": "",
	}
	for prompt, want := range cases {
		if got := topicOf(prompt); got != want {
			t.Errorf("topicOf(%q) = %q, want %q", prompt, got, want)
		}
	}
}
