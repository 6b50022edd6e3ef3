package turing

import (
	"math/rand/v2"
	"slices"
	"strings"
	"unicode"

	"github.com/arena-hq/arena/modules/llm"
)

// seen is what anyone watching a round can see of one seat: when its
// "typing" first showed and when its answer landed (ms from the round's
// start; -1: never), and its answer ("" for "(no answer)").
type seen struct {
	seat     string
	typingMs int64
	answerMs int64
	text     string
}

// roundSeen is one round as a player sees it.
type roundSeen struct {
	prompt string
	seats  []seen // in seat order
}

// Signal names, in report order.
const (
	sigTyping   = "earliest typing"
	sigAnswer   = "earliest answer"
	sigNoAnswer = "(no answer)"
	sigRepeat   = "repeated 4-grams across rounds"
	sigFrame    = "prompt words in a fixed frame"
	sigShared   = "phrases shared with other seats"
	sigHistory  = "robot phrases from past matches"
	sigCombined = "combination"
)

var signalNames = []string{sigTyping, sigAnswer, sigNoAnswer, sigRepeat, sigFrame, sigShared, sigHistory}

// detect applies every signal to the match so far (rounds, the last one
// being judged) and returns each signal's pick ("" when it cannot single
// out one seat). robotPast holds the 4-grams of robots' answers in
// finished matches, which their public history labels, and each whole
// answer (as "=" and its words); nil for none.
func detect(rounds []roundSeen, robotPast map[string]bool) map[string]string {
	cur := rounds[len(rounds)-1]
	picks := map[string]string{}

	picks[sigTyping] = argBest(cur.seats, func(s seen) (int64, bool) { return s.typingMs, s.typingMs >= 0 }, false)
	picks[sigAnswer] = argBest(cur.seats, func(s seen) (int64, bool) { return s.answerMs, s.answerMs >= 0 }, false)
	var silent []string
	for _, s := range cur.seats {
		if s.answerMs < 0 {
			silent = append(silent, s.seat)
		}
	}
	if len(silent) == 1 {
		picks[sigNoAnswer] = silent[0]
	}

	bySeat := map[string][]string{} // seat -> its answers so far
	framed := map[string][]string{} // with the prompt's words masked
	for _, r := range rounds {
		pw := promptWords(r.prompt)
		for _, s := range r.seats {
			if s.text == "" {
				continue
			}
			bySeat[s.seat] = append(bySeat[s.seat], s.text)
			framed[s.seat] = append(framed[s.seat], mask(s.text, pw))
		}
	}
	// Robots repeat themselves, paste prompt words into fixed frames and
	// share stories: the human is the one seat that does so least.
	picks[sigRepeat] = fewest(cur.seats, func(seat string) int { return selfRepeats(bySeat[seat]) })
	picks[sigFrame] = fewest(cur.seats, func(seat string) int { return selfRepeats(framed[seat]) })
	picks[sigShared] = fewest(cur.seats, func(seat string) int {
		others := map[string]bool{}
		for other, texts := range bySeat {
			if other == seat {
				continue
			}
			for _, t := range texts {
				for _, g := range llm.FourGrams(t) {
					others[g] = true
				}
			}
		}
		n := 0
		for _, t := range bySeat[seat] {
			for _, g := range llm.FourGrams(t) {
				if others[g] {
					n++
				}
			}
		}
		return n
	})
	// Robots of earlier matches told these stories: the human is the seat
	// whose answers so far repeat them least.
	picks[sigHistory] = fewest(cur.seats, func(seat string) int {
		n := 0
		for _, t := range bySeat[seat] {
			for _, g := range append(llm.FourGrams(t), "="+strings.Join(split(t), " ")) {
				if robotPast[g] {
					n++
				}
			}
		}
		return n
	})
	return picks
}

// combine picks the seat most signals point at, ties broken at random; with
// no signal at all it guesses.
func combine(picks map[string]string, seats []seen, rng *rand.Rand) string {
	votes := map[string]int{}
	for _, name := range signalNames {
		if p := picks[name]; p != "" {
			votes[p]++
		}
	}
	best, top := []string{}, 0
	for _, s := range seats {
		switch n := votes[s.seat]; {
		case n > top:
			best, top = []string{s.seat}, n
		case n == top:
			best = append(best, s.seat)
		}
	}
	return best[rng.IntN(len(best))]
}

// argBest is the one seat with the lowest value (or highest, with high),
// or "" when none has one or two share it.
func argBest(seats []seen, value func(seen) (int64, bool), high bool) string {
	pick, best, tie := "", int64(0), false
	for _, s := range seats {
		v, ok := value(s)
		if !ok {
			continue
		}
		switch {
		case pick == "" || (!high && v < best) || (high && v > best):
			pick, best, tie = s.seat, v, false
		case v == best:
			tie = true
		}
	}
	if tie {
		return ""
	}
	return pick
}

// fewest is the one seat with the lowest count, if it is strictly lowest
// and some seat has more.
func fewest(seats []seen, count func(seat string) int) string {
	counts := make([]int, len(seats))
	for i, s := range seats {
		counts[i] = count(s.seat)
	}
	lo, hi := slices.Min(counts), slices.Max(counts)
	if lo == hi {
		return ""
	}
	pick := ""
	for i, c := range counts {
		if c == lo {
			if pick != "" {
				return ""
			}
			pick = seats[i].seat
		}
	}
	return pick
}

// selfRepeats counts the 4-grams of each answer that an earlier answer of
// the same seat already had.
func selfRepeats(texts []string) int {
	had, n := map[string]bool{}, 0
	for _, t := range texts {
		grams := llm.FourGrams(t)
		for _, g := range grams {
			if had[g] {
				n++
			}
		}
		for _, g := range grams {
			had[g] = true
		}
	}
	return n
}

// promptWords are a prompt's content words (four letters or more).
func promptWords(prompt string) map[string]bool {
	out := map[string]bool{}
	for _, w := range split(prompt) {
		if len(w) >= 4 && !common[w] {
			out[w] = true
		}
	}
	return out
}

// mask replaces the prompt's words in text by one placeholder, so that a
// frame ("... if someone asked me about X") recurs whatever X is.
func mask(text string, words map[string]bool) string {
	ws := split(text)
	for i, w := range ws {
		if words[w] {
			ws[i] = "xtopicx"
		}
	}
	return strings.Join(ws, " ")
}

func split(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	})
}

var common = map[string]bool{"what": true, "what's": true, "your": true, "you've": true, "have": true, "ever": true,
	"that": true, "with": true, "when": true, "would": true, "which": true, "thing": true, "most": true, "like": true}
