package llm

import (
	"context"
	"errors"
	"hash/fnv"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/arena-hq/arena/config"
)

// scriptedMaxChars keeps scripted answers chat-sized even when the game
// allows more.
const scriptedMaxChars = 200

// Scripted is the offline model: plausible, casual answers assembled from
// per-personality fragments and words of the prompt, with no network and no
// delay (robots add their own timing). Output is a pure function of
// (llm.seed, Request.Seed, personality, task, prompt), so a redone command
// gives the same answer while different matches and rounds get different
// ones. It is safe for concurrent use.
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
		text = scriptedAnswer(rng, voiceFor(req.Personality), req.Prompt, req.MaxChars)
	}
	return Response{Text: text, Model: config.ProviderScripted, Attempts: 1}, nil
}

// rng is seeded from everything the output may depend on, and nothing else.
func (s *Scripted) rng(req Request) *rand.Rand {
	h := fnv.New64a()
	for _, part := range []string{strconv.FormatInt(s.seed, 10), req.Seed, req.Personality, req.Task, req.Prompt, strings.Join(req.Candidates, ",")} {
		h.Write([]byte(part))
		h.Write([]byte{0}) // separator: ("ab","c") and ("a","bc") must differ
	}
	sum := h.Sum64()
	return rand.New(rand.NewPCG(sum, sum^0x9e3779b97f4a7c15))
}

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

func scriptedAnswer(rng *rand.Rand, v *voice, prompt string, maxChars int) string {
	topic := topicOf(prompt)
	detail := pick(rng, v.details[categoryOf(prompt)])
	body := pick(rng, v.bodies)
	if topic == "" {
		// Without a topic, bodies that name it would read oddly; "{d}" alone
		// is always a complete answer.
		body = "{d}"
	}
	body = strings.NewReplacer("{t}", topic, "{d}", detail).Replace(body)

	text := body
	if rng.Float64() < 0.5 {
		text = joinChat(pick(rng, v.openers), text)
	}
	if rng.Float64() < 0.45 {
		text = joinChat(text, pick(rng, v.closers))
	}
	for _, a := range abbreviations {
		if rng.Float64() < v.slang {
			text = a.re.ReplaceAllString(text, a.short)
		}
	}
	if rng.Float64() < v.typo {
		text = swapTypo(rng, text)
	}
	if rng.Float64() < v.lower {
		text = strings.ToLower(text)
	} else {
		text = sentenceCase(text)
	}

	limit := scriptedMaxChars
	if maxChars > 0 && maxChars < limit {
		limit = maxChars
	}
	return truncateWords(strings.TrimSpace(spaces.ReplaceAllString(text, " ")), limit)
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
// of a fast typist.
func swapTypo(rng *rand.Rand, text string) string {
	words := strings.Split(text, " ")
	var long []int
	for i, w := range words {
		if len(w) >= 5 && isASCIILetters(w) {
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
	short string
} {
	pairs := [][2]string{
		{"to be honest", "tbh"}, {"i don't know", "idk"}, {"probably", "prob"}, {"because", "bc"},
		{"though", "tho"}, {"going to", "gonna"}, {"really", "rly"}, {"favorite", "fav"},
		{"right now", "rn"}, {"definitely", "def"},
	}
	out := make([]struct {
		re    *regexp.Regexp
		short string
	}, len(pairs))
	for i, p := range pairs {
		out[i].re = regexp.MustCompile(`(?i)\b` + regexp.QuoteMeta(p[0]) + `\b`)
		out[i].short = p[1]
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
