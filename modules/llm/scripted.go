package llm

import (
	"context"
	"errors"
	"hash/fnv"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/arena-hq/arena/config"
)

// scriptedMaxChars keeps scripted answers chat-sized even when the game
// allows more.
const scriptedMaxChars = 200

// Scripted is the offline model, with no network and no delay (robots add
// their own timing). It answers the prompt it is given from ideas for that
// prompt (the default pack's, see packIdeas, and human answers to it in
// other matches, reworded), or for a prompt it has no ideas for, from the
// personality's voice. The robots of one match share the ideas out by
// Request.Slot, so no two of them tell the same story; no answer repeats a
// phrase (a 4-gram) of the match's earlier answers; and when the request
// carries human answers as Style, the answer takes its length, case and
// end punctuation from one of them. Output is a pure function of the
// request and llm.seed, so a redone command gives the same answer. It is
// safe for concurrent use.
type Scripted struct {
	seed int64
}

// NewScripted returns the scripted model seeded with llm.seed.
func NewScripted(cfg config.LLM) *Scripted { return &Scripted{seed: cfg.Seed} }

// Name implements Model.
func (s *Scripted) Name() string { return config.ProviderScripted }

// Complete implements Model. A vote task replies with one letter from
// req.Candidates; anything else is answered as a prompt.
func (s *Scripted) Complete(ctx context.Context, req Request) (Response, error) {
	if err := ctx.Err(); err != nil {
		return Response{}, err
	}
	rng := s.rng(req)
	var text string
	if req.Task == TaskVote {
		if len(req.Candidates) == 0 {
			return Response{Attempts: 1}, errors.New("llm: scripted vote: request has no candidates")
		}
		text = req.Candidates[rng.IntN(len(req.Candidates))]
	} else {
		text = s.answer(rng, req)
	}
	return Response{Text: text, Model: config.ProviderScripted, Attempts: 1}, nil
}

// rng is seeded from everything the output may depend on, and nothing else.
func (s *Scripted) rng(req Request) *rand.Rand {
	return seeded(strconv.FormatInt(s.seed, 10), req.Seed, req.Personality, req.Task, req.Prompt, strings.Join(req.Candidates, ","))
}

func seeded(parts ...string) *rand.Rand {
	h := fnv.New64a()
	for _, part := range parts {
		h.Write([]byte(part))
		h.Write([]byte{0}) // separator: ("ab","c") and ("a","bc") must differ
	}
	sum := h.Sum64()
	return rand.New(rand.NewPCG(sum, sum^0x9e3779b97f4a7c15))
}

// attempts bounds the answers tried before the one with the fewest
// repeated phrases is taken.
const attempts = 96

// answer writes one answer to req.Prompt; see Scripted.
func (s *Scripted) answer(rng *rand.Rand, req Request) string {
	v := voiceFor(req.Personality)
	limit := scriptedMaxChars
	if req.MaxChars > 0 && req.MaxChars < limit {
		limit = req.MaxChars
	}
	var st *style
	if len(req.Style) > 0 {
		st = styleOf(req.Style[rng.IntN(len(req.Style))])
	}
	used := map[string]bool{} // 4-grams, and whole answers (a short one has no 4-gram)
	for _, t := range slices.Concat(req.Earlier, req.Avoid) {
		for _, g := range fourGrams(t) {
			used[g] = true
		}
		used["="+normalized(t)] = true
	}
	cores := s.cores(rng, req, v)
	best, fewest := "", -1
	for try := range attempts {
		core := cores[try%len(cores)]
		if st != nil && try < len(cores) { // of two ideas, the one nearer the room's length
			if alt := cores[rng.IntN(len(cores))]; abs(len(alt)-st.length) < abs(len(core)-st.length) {
				core = alt
			}
		}
		if try >= len(cores) { // every idea as it stands was said: say one differently
			core = vary(rng, core)
		}
		text := truncateWords(dress(rng, v, st, core, req.Prompt), limit)
		hits := 0
		for _, g := range append(fourGrams(text), "="+normalized(text)) {
			if used[g] {
				hits++
			}
		}
		if hits == 0 {
			return text
		}
		if fewest < 0 || hits < fewest {
			best, fewest = text, hits
		}
	}
	return best
}

// cores are the ideas this robot may answer with, in the order to try
// them: its share of the prompt's ideas (the share fixed per match, so the
// robots of a match never draw the same one), reworded human answers from
// other matches first about half the time.
func (s *Scripted) cores(rng *rand.Rand, req Request, v *voice) []string {
	ideas := packIdeas[strings.TrimSpace(req.Prompt)]
	known := len(ideas) > 0
	if !known {
		ideas = voiceCores(v, req.Prompt)
	}
	mine := share(ideas, seeded(strconv.FormatInt(s.seed, 10), req.MatchID, req.Prompt), req.Slot, req.Slots)
	rng.Shuffle(len(mine), func(i, j int) { mine[i], mine[j] = mine[j], mine[i] })
	var learned []string
	for _, l := range share(req.Learned, seeded(req.MatchID, "learned"), req.Slot, req.Slots) {
		if r := reword(rng, l); r != "" {
			learned = append(learned, r)
		}
	}
	// For a prompt the pack has no ideas for, what humans said beats the
	// voice's generic phrases every time.
	if len(learned) > 0 && (!known || rng.Float64() < 0.5) {
		return append(learned, mine...)
	}
	return append(mine, learned...)
}

// share is slot's part of items, after a shuffle by perm that every robot
// of the match makes alike. A part is never empty.
func share(items []string, perm *rand.Rand, slot, slots int) []string {
	order := perm.Perm(len(items))
	var out []string
	for i, j := range order {
		if slots <= 1 || i%slots == slot%slots {
			out = append(out, items[j])
		}
	}
	if len(out) == 0 && len(items) > 0 {
		out = append(out, items[order[slot%len(items)]])
	}
	return out
}

// voiceCores are answers from a personality's own phrases, for a prompt
// the pack has no ideas for.
func voiceCores(v *voice, prompt string) []string {
	topic := topicOf(prompt)
	details := v.details[categoryOf(prompt)]
	var out []string
	for i, body := range v.bodies {
		if topic == "" && strings.Contains(body, "{t}") {
			continue
		}
		for j, d := range details {
			if (i+j)%2 == 0 { // half the pairs are plenty
				out = append(out, strings.NewReplacer("{t}", topic, "{d}", d).Replace(body))
			}
		}
	}
	if len(out) == 0 {
		out = append(out, details...)
	}
	return out
}

// style is how one human answer is written.
type style struct {
	sample string
	length int    // runes
	lower  bool   // no capital letters at all
	end    string // its closing punctuation, maybe none
}

var endPunct = regexp.MustCompile(`[.!?…]+$`)

func styleOf(sample string) *style {
	sample = strings.TrimSpace(sample)
	return &style{
		sample: sample,
		length: utf8.RuneCountInString(sample),
		lower:  strings.ToLower(sample) == sample,
		end:    endPunct.FindString(sample),
	}
}

// dress turns an idea into a message: maybe an opener and a closer of the
// personality's voice (fewer when the room writes short), its slang and
// typos, then the room's case and end punctuation (or the voice's own).
func dress(rng *rand.Rand, v *voice, st *style, core, prompt string) string {
	text := core
	short := st != nil && st.length < len(core)
	if !short && rng.Float64() < 0.35 {
		text = joinChat(pick(rng, v.openers), text)
	}
	if !short && rng.Float64() < 0.3 {
		text = joinChat(text, pick(rng, v.closers))
	}
	if short && st.length*2 < len(core) { // the room writes far shorter: the gist, in about as many words
		text = gist(longestClause(core), len(strings.Fields(st.sample))+2)
	}
	lowered := strings.ToLower(text)
	for _, a := range abbreviations {
		// The substring test spares the regexp where it cannot match (the
		// regexps were a tenth of the server's CPU under load).
		if rng.Float64() < v.slang && strings.Contains(lowered, a.long) {
			text = a.re.ReplaceAllString(text, a.short)
		}
	}
	if rng.Float64() < v.typo/2 { // voices were tuned for one answer, not a whole match of them
		text = swapTypo(rng, text, words(prompt))
	}
	lower := rng.Float64() < v.lower
	if st != nil {
		lower = st.lower
		text = strings.TrimRight(text, ".!?… ") + st.end
	}
	if lower {
		text = strings.ToLower(text)
	} else {
		text = sentenceCase(text)
	}
	return strings.TrimSpace(spaces.ReplaceAllString(text, " "))
}

// vary says an idea another way: its gist, its main clause alone, or its
// clauses turned round, with some words swapped for others people use and a
// filler or two.
func vary(rng *rand.Rand, idea string) string {
	clauses := clauseSplit.Split(idea, -1)
	t := idea
	switch n := len(clauses); {
	case rng.Float64() < 0.3:
		t = gist(longestClause(idea), 3+rng.IntN(4))
	case n > 1 && rng.Float64() < 0.5:
		// The longest clause carries the story; a short one is often just
		// the prompt said back ("the worst haircut").
		t = longestClause(idea)
	case n > 1:
		rng.Shuffle(n, func(i, j int) { clauses[i], clauses[j] = clauses[j], clauses[i] })
		t = strings.Join(clauses, ", ")
	}
	for _, sw := range swaps {
		if rng.Float64() < 0.5 && strings.Contains(t, sw.word) {
			t = sw.re.ReplaceAllString(t, sw.with)
		}
	}
	// A filler or two, as people type them: before an article, a
	// preposition, a common verb or a conjunction ("got like a mullet",
	// "and honestly"), never inside a noun phrase.
	words := strings.Fields(t)
	var at []int
	for i, w := range words {
		if i > 0 && fillerBefore[strings.ToLower(w)] && !fillerWords[strings.ToLower(words[i-1])] {
			at = append(at, i)
		}
	}
	rng.Shuffle(len(at), func(i, j int) { at[i], at[j] = at[j], at[i] })
	at = at[:min(len(at), 1+rng.IntN(2))]
	slices.Sort(at)
	for k := len(at) - 1; k >= 0; k-- {
		words = slices.Insert(words, at[k], fillers[rng.IntN(len(fillers))])
	}
	return strings.Join(words, " ")
}

var (
	fillers      = []string{"like", "literally", "basically", "honestly", "just"}
	fillerWords  = map[string]bool{"like": true, "literally": true, "basically": true, "honestly": true, "just": true}
	fillerBefore = map[string]bool{"a": true, "an": true, "the": true, "my": true, "every": true, "all": true,
		"in": true, "at": true, "with": true, "about": true, "for": true, "on": true,
		"was": true, "is": true, "got": true, "had": true, "made": true, "when": true, "because": true,
		"and": true, "but": true, "then": true, "so": true, "still": true, "never": true, "always": true}
)

var clauseSplit = regexp.MustCompile(`\s*[,.:;]\s+`)

// gist shortens a clause to at most about n words where it reads as a
// whole: before a word that starts a new part of the sentence ("a perm
// that made me look like a poodle" -> "a perm"). A clause with no such
// place stays as it is.
func gist(clause string, n int) string {
	words := strings.Fields(clause)
	if len(words) <= n {
		return clause
	}
	for i := min(n, len(words)-1); i >= 3; i-- {
		if gistBreak[strings.ToLower(words[i])] {
			j := i
			for j > 1 && fillerWords[strings.ToLower(words[j-1])] {
				j--
			}
			if j >= 3 {
				return strings.Join(words[:j], " ")
			}
		}
	}
	return clause
}

var gistBreak = map[string]bool{"and": true, "but": true, "because": true, "that": true, "which": true, "who": true,
	"when": true, "with": true, "so": true, "until": true, "after": true, "before": true, "then": true, "from": true,
	"for": true, "in": true, "at": true, "on": true, "to": true, "while": true, "since": true, "i": true}

// longestClause is the clause of s with the most words: the story, where
// a short clause is often just the prompt said back ("the worst haircut").
func longestClause(s string) string {
	return slices.MaxFunc(clauseSplit.Split(s, -1), func(a, b string) int {
		return len(strings.Fields(a)) - len(strings.Fields(b))
	})
}

// reword says a human's answer from another match in other words: no
// filler opening, some words swapped for others people use, clauses
// sometimes turned around, and no run of four words left as it was. It
// returns "" when it cannot make it differ that much.
func reword(rng *rand.Rand, text string) string {
	orig := normalized(text)
	t := strings.ToLower(strings.TrimSpace(strings.ToValidUTF8(text, "")))
	t = strings.TrimRight(t, ".!?… ")
	t = fillerStart.ReplaceAllString(t, "")
	for _, sw := range swaps {
		if strings.Contains(t, sw.word) && sw.re.MatchString(t) && rng.Float64() < 0.8 {
			t = sw.re.ReplaceAllString(t, sw.with)
		}
	}
	if parts := strings.SplitN(t, ", ", 2); len(parts) == 2 && rng.Float64() < 0.5 && len(parts[1]) > 3 {
		t = parts[1] + ", " + parts[0]
	}
	t = strings.TrimSpace(spaces.ReplaceAllString(t, " "))
	// Not a phrase of four words copied: a reader who saw the original
	// (in another match's history) must not find it here.
	if sharesFourGram(t, text) {
		if i := strings.Index(t, ", "); i > 0 && !sharesFourGram(t[:i], text) {
			t = t[:i]
		} else {
			return ""
		}
	}
	if normalized(t) == orig {
		t = pick(rng, []string{"mine's ", "for me, ", "easy: ", "i'd say "}) + t
	}
	if t == "" || normalized(t) == orig {
		return ""
	}
	return t
}

func sharesFourGram(a, b string) bool {
	grams := fourGrams(b)
	for _, g := range fourGrams(a) {
		if slices.Contains(grams, g) {
			return true
		}
	}
	return false
}

var fillerStart = regexp.MustCompile(`^(?:(?:honestly|ok|okay|hmm+|lol|tbh|well|um+|so|oh|idk|i think|probably)[,.!]*\s+)+`)

// swaps are words people use for one another.
var swaps = func() []struct {
	re   *regexp.Regexp
	word string
	with string
} {
	pairs := [][2]string{
		{"really", "so"}, {"very", "super"}, {"because", "cos"}, {"favorite", "fave"}, {"favourite", "fave"},
		{"i think", "i reckon"}, {"a lot", "loads"}, {"amazing", "so good"}, {"awesome", "great"},
		{"little", "small"}, {"mom", "mum"}, {"mother", "mum"}, {"father", "dad"}, {"probably", "prob"},
		{"definitely", "def"}, {"every time", "always"}, {"house", "place"}, {"kids", "children"},
		{"the best", "the greatest"}, {"terrible", "awful"}, {"funny", "hilarious"}, {"stupid", "daft"},
		{"tv", "telly"}, {"loved", "adored"}, {"years ago", "ages ago"}, {"friend", "mate"}, {"friends", "mates"},
		{"grandma", "gran"}, {"grandmother", "nan"}, {"went", "headed"},
	}
	out := make([]struct {
		re   *regexp.Regexp
		word string
		with string
	}, len(pairs))
	for i, p := range pairs {
		out[i].re = regexp.MustCompile(`\b` + regexp.QuoteMeta(p[0]) + `\b`)
		out[i].word, out[i].with = p[0], p[1]
	}
	return out
}()

// words splits text the way phrases are compared: lowercase runs of
// letters, digits and apostrophes.
func words(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' && r != '’'
	})
}

func normalized(text string) string { return strings.Join(words(text), " ") }

// fourGrams lists text's runs of four words: a phrase that recurs in two
// answers is one a reader notices.
func fourGrams(text string) []string {
	w := words(text)
	var out []string
	for i := 0; i+4 <= len(w); i++ {
		out = append(out, strings.Join(w[i:i+4], " "))
	}
	return out
}

// FourGrams is fourGrams for the turing measure's detective.
func FourGrams(text string) []string { return fourGrams(text) }

func abs(n int) int { return max(n, -n) }

// voice is how one personality talks.
type voice struct {
	openers, bodies, closers []string // bodies use {t} (topic) and {d} (detail)
	details                  map[string][]string
	lower                    float64 // chance of an all-lowercase answer
	slang                    float64 // chance of each abbreviation
	typo                     float64 // chance of one swapped-letter typo
}

func voiceFor(id string) *voice {
	if v, ok := voices[id]; ok {
		return v
	}
	return voices[""]
}

// joinChat joins two fragments, ending the first sentence when the second
// starts a new one.
func joinChat(a, b string) string {
	last, _ := utf8.DecodeLastRuneInString(a)
	first, _ := utf8.DecodeRuneInString(b)
	if (unicode.IsLetter(last) || unicode.IsDigit(last)) && unicode.IsUpper(first) {
		return a + ". " + b
	}
	return a + " " + b
}

var (
	sentenceStart = regexp.MustCompile(`(^|[.!?]\s+)(\p{Ll})`)
	lowerI        = regexp.MustCompile(`\bi\b`)
)

// sentenceCase capitalises as a phone keyboard would: sentence starts and "I".
func sentenceCase(s string) string {
	s = lowerI.ReplaceAllString(s, "I")
	return sentenceStart.ReplaceAllStringFunc(s, strings.ToUpper)
}

func pick(rng *rand.Rand, from []string) string {
	if len(from) == 0 {
		return ""
	}
	return from[rng.IntN(len(from))]
}

// swapTypo swaps two inner letters of one longer word, the commonest slip
// of a fast typist; never in a word of the prompt (keep), which a reader
// would take for the answer's subject.
func swapTypo(rng *rand.Rand, text string, keep []string) string {
	words := strings.Split(text, " ")
	var long []int
	for i, w := range words {
		if len(w) >= 5 && isASCIILetters(w) && !slices.ContainsFunc(keep, func(k string) bool {
			return len(k) >= 4 && strings.HasPrefix(strings.ToLower(w), k[:4])
		}) {
			long = append(long, i)
		}
	}
	if len(long) == 0 {
		return text
	}
	i := long[rng.IntN(len(long))]
	b := []byte(words[i])
	j := 1 + rng.IntN(len(b)-3)
	b[j], b[j+1] = b[j+1], b[j]
	words[i] = string(b)
	return strings.Join(words, " ")
}

func isASCIILetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// topicOf finds what a prompt is about: its first run of one or two
// content words, with a "favorite"-like word just before them ("What's your
// favorite memory?" -> "favorite memory", "Describe your perfect weekend" ->
// "perfect weekend").
func topicOf(prompt string) string {
	words := strings.FieldsFunc(strings.ToLower(prompt), func(r rune) bool {
		return !unicode.IsLetter(r) && r != '\'' && r != '’'
	})
	var out []string
	for i, w := range words {
		w = strings.ReplaceAll(w, "’", "'")
		if stopWords[w] || len(w) < 3 {
			if len(out) > 0 {
				break
			}
			continue
		}
		if len(out) == 0 && i > 0 && topicModifiers[words[i-1]] {
			out = append(out, words[i-1])
		}
		out = append(out, w)
		if len(out) == 3 || (len(out) == 2 && !topicModifiers[out[0]]) {
			break
		}
	}
	return strings.Join(out, " ")
}

var topicModifiers = map[string]bool{"favorite": true, "favourite": true, "best": true, "worst": true}

// categoryOf picks which details fit the prompt best: the first category
// with a word of the prompt starting with one of its keys.
func categoryOf(prompt string) string {
	words := strings.FieldsFunc(strings.ToLower(prompt), func(r rune) bool { return !unicode.IsLetter(r) })
	for _, c := range categories {
		for _, w := range words {
			for _, k := range c.keys {
				if strings.HasPrefix(w, k) {
					return c.name
				}
			}
		}
	}
	return "general"
}

// categories is ordered so that categoryOf is deterministic.
var categories = []struct {
	name string
	keys []string
}{
	{"food", []string{"food", "eat", "meal", "dinner", "lunch", "breakfast", "snack", "dish", "cook", "drink", "dessert", "restaurant"}},
	{"place", []string{"place", "travel", "trip", "vacation", "holiday", "city", "country", "visit", "anywhere"}},
}

var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a about after all also an and any anyone anything are as at be been before best
		but by can can't could describe did do does don't ever every favorite favourite for from get give had has have
		how i i'd i'm i've if in into is it it's its just least like make most much my name never no not of on one
		or other our out pick say share should so some someone something tell than that that's the their them
		then there they thing things think this time to us very was way we were what what's whats when where which
		who why will with worst would you you'd you're you've your yours`) {
		m[w] = true
	}
	return m
}()

// abbreviations are what people type when they type fast.
var abbreviations = func() []struct {
	re    *regexp.Regexp
	long  string
	short string
} {
	pairs := [][2]string{
		{"to be honest", "tbh"}, {"i don't know", "idk"}, {"probably", "prob"}, {"because", "bc"},
		{"though", "tho"}, {"going to", "gonna"}, {"really", "rly"}, {"favorite", "fav"},
		{"right now", "rn"}, {"definitely", "def"},
	}
	out := make([]struct {
		re    *regexp.Regexp
		long  string
		short string
	}, len(pairs))
	for i, p := range pairs {
		out[i].re = regexp.MustCompile(`(?i)\b` + regexp.QuoteMeta(p[0]) + `\b`)
		out[i].long, out[i].short = p[0], p[1]
	}
	return out
}()

var voices = map[string]*voice{
	"curious-student": {
		openers: []string{"ooh ok", "hmm", "honestly", "ok wait", "lol", "not gonna lie", "oh this is a good one", "idk if this counts but"},
		bodies: []string{
			"{t}? {d}, no contest",
			"ok so {t}... {d}. is that weird?",
			"{t} is so hard to pick but probably {d}",
			"i literally just talked about {t} with my roommate, we both said {d}",
			"my answer for {t} changes every week but right now it's {d}",
			"everyone says something deep for {t} but mine is just {d}",
			"probably {d}. i don't think about {t} enough to be honest",
			"{d}!! sorry i got excited",
			"hmm {d} i think",
		},
		closers: []string{"lol", "haha", "what about you guys?", "idk", "10/10", "don't judge", "😅", "!!"},
		details: map[string][]string{
			"general": {"that road trip after finals", "the night we stayed in the library till 4am", "my first week on campus",
				"baking cookies with my little sister", "the summer i worked at the pool", "when my whole dorm floor did karaoke",
				"the day i passed my driving test on the 3rd try", "my grandma's kitchen on sundays"},
			"food":  {"ramen at 2am with friends", "the dining hall waffles, don't laugh", "my mom's dumplings", "literally any pizza", "bubble tea with extra boba"},
			"place": {"tokyo, i got lost there for like 3 hours and loved it", "my cousin's place by the lake", "anywhere with a good library", "barcelona, been saving up for it"},
		},
		lower: 0.6, slang: 0.5, typo: 0.2,
	},
	"skeptical-scientist": {
		openers: []string{"Hard to say.", "Depends how you define it.", "Honestly?", "Data point of one:", "Not sure there's a right answer.", "Hmm."},
		bodies: []string{
			"{t}: {d}",
			"I'd go with {d}",
			"{t} is a loaded question. {d}",
			"if I'm honest, {d}",
			"I've thought about this more than I'd like to admit. {d}",
			"probably {d}, though my sample size is small",
			"{d}. anyone who claims certainty about {t} is guessing",
		},
		closers: []string{"Change my mind.", "Fight me on it.", "That's my hypothesis anyway.", "Grain of salt.", "Not very exciting, I know.", "Could be wrong."},
		details: map[string][]string{
			"general": {"the first time an experiment of mine actually worked", "camping somewhere with no cell signal",
				"a long walk with a good podcast", "fixing my bike myself instead of paying someone",
				"watching a meteor shower from a field in august", "my dad explaining how radios work"},
			"food":  {"a really good sourdough, nothing fancy", "black coffee, always", "my mom's lentil soup", "tacos from a truck near my old lab"},
			"place": {"the north of scotland, mostly for the geology", "a cabin in the mountains", "the natural history museum in london", "anywhere quiet with decent wifi"},
		},
		lower: 0.15, slang: 0.1, typo: 0.08,
	},
	"creative-artist": {
		openers: []string{"oh,", "mm", "honestly", "okay so", "ahh", "this made me smile:"},
		bodies: []string{
			"{t} makes me think of {d}",
			"{d}. i still think about the colors",
			"{d}, every time. {t} is all about the feeling for me",
			"i'd paint {d} if someone asked me about {t}",
			"{t}: {d} ✨",
			"easy. {d}",
		},
		closers: []string{"💛", "so good", "still gives me chills", "sigh", ":)", "no notes"},
		details: map[string][]string{
			"general": {"the light in my old studio around 5pm", "dancing in the kitchen while the rain hit the windows",
				"a tiny gallery in lisbon i stumbled into", "my first sketchbook, full of terrible drawings",
				"the smell of oil paint and coffee", "the sunrise after an all-nighter finishing a mural"},
			"food":  {"fresh figs with honey", "street food at a night market", "my neighbor's homemade pho", "warm bread straight from the oven"},
			"place": {"lisbon, all those tiles", "a beach at golden hour", "kyoto in the fall", "anywhere with a view and a sketchbook"},
		},
		lower: 0.4, slang: 0.2, typo: 0.1,
	},
	"": {
		openers: []string{"hmm", "ok", "good question.", "honestly", "oh man"},
		bodies:  []string{"{t}? probably {d}", "i'd say {d}", "gotta be {d}", "{d}, easily", "{t} is a tough one, but {d}", "{d} for sure"},
		closers: []string{"lol", "haha", "for sure", "no question", "i think"},
		details: map[string][]string{
			"general": {"time with my family over the holidays", "my first concert", "the day i got my dog", "a long weekend at the lake", "learning to ride a bike as a kid"},
			"food":    {"pizza, obviously", "my grandma's lasagna", "tacos", "a good burger and fries"},
			"place":   {"the beach", "somewhere in italy", "my hometown honestly", "a cabin in the woods"},
		},
		lower: 0.35, slang: 0.3, typo: 0.12,
	},
}
