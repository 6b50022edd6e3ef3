package llm

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/modules/events"
)

// packPrompts are the prompts the scripted model has ideas for, in a fixed order.
func packPrompts() []string {
	var out []string
	for p := range packIdeas {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// playMatch has three scripted robots (and one human, whose answers are
// style and earlier text) answer rounds prompts, as the orchestrator and
// robots would: the same slots, earlier answers and style samples.
func playMatch(t *testing.T, m *Scripted, matchID string, prompts []string, style, learned []string) [][]events.SeatText {
	t.Helper()
	robots := []struct{ seat, id string }{{"A", "curious-student"}, {"C", "skeptical-scientist"}, {"D", "gamer-teen"}}
	var rounds [][]events.SeatText
	var earlier []events.SeatText
	for r, prompt := range prompts {
		var this []events.SeatText
		for slot, rb := range robots {
			req := BuildAnswerRequestFor(config.Personality{ID: rb.id}, "m", AnswerContext{
				MatchID: matchID, Prompt: prompt, MaxChars: 280, Seed: fmt.Sprintf("%s/%d/%s", matchID, r, rb.seat),
				Slot: slot, Slots: len(robots), Earlier: earlier, Style: style, Learned: learned,
			})
			resp, err := m.Complete(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			this = append(this, events.SeatText{Seat: rb.seat, Text: CleanAnswer(resp.Text, 280)})
		}
		human := events.SeatText{Seat: "B", Text: fmt.Sprintf("human answer number %d of %s", r, matchID)}
		earlier = append(earlier, append(slices.Clone(this), human)...)
		rounds = append(rounds, this)
	}
	return rounds
}

// Within a match no robot repeats a phrase (a 4-gram) of its own earlier
// answers, nor shares one with another robot, in any round.
func TestScriptedNeverRepeatsAPhraseWithinAMatch(t *testing.T) {
	m := NewScripted(config.LLM{Seed: 1})
	pack := packPrompts()
	styles := [][]string{nil, {"idk pizza probably"}, {"Honestly the best thing ever, no contest!"}, {"my nan's roast dinners", "Cold toast."}}
	for i := range 300 {
		rng := rand.New(rand.NewPCG(uint64(i), 3))
		prompts := make([]string, 5)
		for j, k := range rng.Perm(len(pack))[:5] {
			prompts[j] = pack[k]
		}
		match := fmt.Sprintf("match-%d", i)
		rounds := playMatch(t, m, match, prompts, styles[i%len(styles)], nil)
		seen := map[string]string{} // 4-gram -> seat/round that said it
		for r, answers := range rounds {
			for _, a := range answers {
				for _, g := range fourGrams(a.Text) {
					if who, ok := seen[g]; ok && who != fmt.Sprintf("%s/%d", a.Seat, r) {
						t.Fatalf("%s round %d seat %s: %q repeats %q of %s", match, r+1, a.Seat, a.Text, g, who)
					}
					seen[g] = fmt.Sprintf("%s/%d", a.Seat, r)
				}
			}
		}
	}
}

// Every answer is about the prompt: it shares a content word with it.
func TestScriptedAnswersMentionThePromptsTopic(t *testing.T) {
	m := NewScripted(config.LLM{})
	for _, prompt := range packPrompts() {
		for i := range 12 {
			req := BuildAnswerRequestFor(config.Personality{ID: personalities[i%len(personalities)]}, "m", AnswerContext{
				MatchID: fmt.Sprint("m", i), Prompt: prompt, MaxChars: 280, Seed: fmt.Sprint(i), Slot: i % 3, Slots: 3,
			})
			resp, _ := m.Complete(context.Background(), req)
			if !mentions(resp.Text, prompt) {
				t.Errorf("%q: answer %q does not mention its topic", prompt, resp.Text)
			}
		}
	}
}

// mentions reports whether text shares a content word of prompt (by its
// first four letters, so "hated" matches "hate"; "kid" matches "kids").
func mentions(text, prompt string) bool {
	for _, w := range words(prompt) {
		if len(w) < 3 || stopWords[w] {
			continue
		}
		stem := w[:min(len(w), 4)]
		for _, a := range words(text) {
			if strings.HasPrefix(a, stem) {
				return true
			}
		}
	}
	return false
}

// Human answers from other matches are reworded, never handed on verbatim
// nor with a run of four words copied.
func TestScriptedRewordsLearnedAnswers(t *testing.T) {
	m := NewScripted(config.LLM{})
	learned := []string{
		"Honestly my mom's lasagna, every time",
		"probably the little bakery near my house",
		"A really good burger with friends, because why not",
	}
	used := 0
	for i := range 60 {
		req := BuildAnswerRequestFor(config.Personality{ID: "curious-student"}, "m", AnswerContext{
			MatchID: fmt.Sprint("m", i), Prompt: "What's the best meal you've ever eaten?", MaxChars: 280,
			Seed: fmt.Sprint(i), Slot: i % 3, Slots: 3, Learned: learned,
		})
		resp, _ := m.Complete(context.Background(), req)
		for _, l := range learned {
			if sharesFourGram(resp.Text, l) {
				t.Fatalf("answer %q copies a phrase of the learned %q", resp.Text, l)
			}
		}
		if strings.Contains(normalized(resp.Text), "lasagna") || strings.Contains(normalized(resp.Text), "bakery") ||
			strings.Contains(normalized(resp.Text), "burger with") {
			used++
		}
	}
	if used < 10 {
		t.Fatalf("learned ideas used in %d of 60 answers; robots do not learn", used)
	}
}

// The room's style carries over: an all-lowercase room without full stops
// gets answers like that.
func TestScriptedTakesTheRoomsStyle(t *testing.T) {
	m := NewScripted(config.LLM{})
	for i := range 40 {
		req := BuildAnswerRequestFor(config.Personality{ID: "skeptical-scientist"}, "m", AnswerContext{
			MatchID: fmt.Sprint("m", i), Prompt: "What's your go-to order at a takeaway?", MaxChars: 280, Seed: fmt.Sprint(i),
			Style: []string{"chips and curry sauce obviously", "idk whatever's cheapest"},
		})
		resp, _ := m.Complete(context.Background(), req)
		if strings.ToLower(resp.Text) != resp.Text || strings.HasSuffix(resp.Text, ".") {
			t.Fatalf("answer %q ignores an all-lowercase room", resp.Text)
		}
	}
}

func TestPrintScriptedSample(t *testing.T) {
	if !testing.Verbose() {
		return
	}
	m := NewScripted(config.LLM{})
	for _, r := range playMatch(t, m, "demo", packPrompts()[:5], []string{"Mine's cereal, boring I know."}, nil) {
		t.Log(r)
	}
}

// Two ideas of one prompt share no phrase, or two robots drawing different
// ideas in the same round could still echo each other.
func TestPackIdeasShareNoPhrase(t *testing.T) {
	for prompt, ideas := range packIdeas {
		seen := map[string]int{}
		for i, idea := range ideas {
			for _, g := range fourGrams(idea) {
				if j, ok := seen[g]; ok && j != i {
					t.Errorf("%q: ideas %d and %d share %q", prompt, j, i, g)
				}
				seen[g] = i
			}
		}
	}
}

// "none" is a vote only where it is a candidate; a seat named as a seat wins.
func TestParseVoteNoOne(t *testing.T) {
	with := []string{"A", "B", events.NoOne}
	for reply, want := range map[string]string{
		"none": events.NoOne, "No one, they're all robots": events.NoOne, "nobody": events.NoOne,
		"B": "B", "none of them... ok seat B": "B",
	} {
		if got, ok := ParseVote(reply, with); !ok || got != want {
			t.Errorf("ParseVote(%q) = %q, %v; want %q", reply, got, ok, want)
		}
	}
	if got, ok := ParseVote("none", []string{"A", "B"}); ok {
		t.Errorf("none parsed as %q where it is no candidate", got)
	}
	req := BuildVoteRequest(config.Personality{ID: "x"}, "m", "p", nil, with, "s")
	if u := req.Messages[0].Content; !strings.Contains(u, "seats: A, B.") || !strings.Contains(u, "reply none instead") {
		t.Errorf("vote request does not offer none:\n%s", u)
	}
}

// Robots' answers from other matches are public: a robot finds another way
// to say its idea rather than repeat their phrases.
func TestScriptedAvoidsPhrasesRobotsUsedElsewhere(t *testing.T) {
	m := NewScripted(config.LLM{})
	prompt := "What's the worst haircut you've ever had?"
	var avoid []string
	repeats := 0
	for i := range 40 {
		req := BuildAnswerRequestFor(config.Personality{ID: "creative-artist"}, "m", AnswerContext{
			MatchID: fmt.Sprint("m", i), Prompt: prompt, MaxChars: 280, Seed: fmt.Sprint(i), Slot: i % 2, Slots: 2, Avoid: avoid,
		})
		resp, _ := m.Complete(context.Background(), req)
		for _, a := range avoid {
			if sharesFourGram(resp.Text, a) {
				repeats++
				break
			}
		}
		avoid = append(avoid, resp.Text)
	}
	// Six ideas cannot give forty different answers; rephrasing must
	// keep most of them free of earlier robots' phrases.
	if repeats > 10 {
		t.Fatalf("%d of 40 answers repeat a phrase of an earlier match's robot", repeats)
	}
}

// Every idea of the pack names its prompt's topic in its own words.
func TestPackIdeasMentionTheirTopic(t *testing.T) {
	for prompt, ideas := range packIdeas {
		if len(ideas) < 6 {
			t.Errorf("%q has %d ideas, want at least 6", prompt, len(ideas))
		}
		for _, idea := range ideas {
			if !mentions(idea, prompt) {
				t.Errorf("%q: idea %q does not mention the topic", prompt, idea)
			}
		}
	}
}
