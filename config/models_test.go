package config

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestPickModelDrawsByWeight(t *testing.T) {
	p := Personality{Variants: []Variant{{Model: "big", Weight: 1}, {Model: "small", Weight: 3}}}
	r := rand.New(rand.NewPCG(1, 2))
	counts := map[string]int{}
	const n = 20000
	for range n {
		counts[PickModel(p, "fallback", r)]++
	}
	if len(counts) != 2 {
		t.Fatalf("drew %v, want only big and small", counts)
	}
	// 1:3 within a few percent over 20k draws.
	if frac := float64(counts["big"]) / n; frac < 0.23 || frac > 0.27 {
		t.Errorf("big drawn %.3f of the time, want about 0.25", frac)
	}
	// The same seed gives the same sequence: a match's draw can be replayed.
	a, b := rand.New(rand.NewPCG(7, 7)), rand.New(rand.NewPCG(7, 7))
	for range 100 {
		if PickModel(p, "", a) != PickModel(p, "", b) {
			t.Fatal("same seed, different draws")
		}
	}
	if got := PickModel(Personality{Model: "own"}, "fallback", r); got != "own" {
		t.Errorf("no variants: %q, want own model", got)
	}
	if got := PickModel(Personality{}, "fallback", nil); got != "fallback" {
		t.Errorf("no model: %q, want the fallback", got)
	}
	if got := (Personality{Variants: []Variant{{"a", 1}, {"b", 2}}}).Models(""); strings.Join(got, ",") != "a,b" {
		t.Errorf("Models = %q", got)
	}
}

func TestLLMModelAppliesToEveryRobot(t *testing.T) {
	isolate(t)
	// Nothing set: the shipped stable keeps its own (several) models.
	c := mustLoad(t, LoadOptions{}).Config
	if len(distinctModels(c)) < 2 {
		t.Fatalf("default stable uses %v, want several models", distinctModels(c))
	}

	t.Setenv("ARENA_LLM_MODEL", "llama3.2")
	c = mustLoad(t, LoadOptions{}).Config
	if got := distinctModels(c); len(got) != 1 || got[0] != "llama3.2" {
		t.Errorf("ARENA_LLM_MODEL=llama3.2: robots use %v, want only llama3.2", got)
	}
	t.Setenv("ARENA_LLM_MODEL", "")

	// A file's robots: pin_model and variants ask otherwise; the rest follow llm.model.
	path := writeFile(t, "arena.yaml", `llm:
  model: qwen2.5
game: {seats: 3, humans: 1}
robots:
`+robotYAML("a")+"    model: gpt-4o\n"+
		robotYAML("b")+"    model: gpt-4o\n    pin_model: true\n"+
		robotYAML("c")+"    variants: [{model: m1, weight: 1}, {model: m2, weight: 2}]\n")
	c = mustLoad(t, LoadOptions{File: path}).Config
	want := map[string]string{"a": "qwen2.5", "b": "gpt-4o", "c": ""}
	for _, p := range c.Robots {
		if p.Model != want[p.ID] {
			t.Errorf("robot %s model %q, want %q", p.ID, p.Model, want[p.ID])
		}
	}
	if p, _ := c.Personality("c"); len(p.Variants) != 2 || p.Variants[1].Weight != 2 {
		t.Errorf("variants = %+v", p.Variants)
	}
}

func distinctModels(c Config) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range c.Robots {
		if !seen[p.Model] {
			seen[p.Model] = true
			out = append(out, p.Model)
		}
	}
	return out
}

func TestVariantsValidated(t *testing.T) {
	base := func() Config {
		c := Default()
		c.Robots[0].Model = ""
		c.Robots[0].Variants = []Variant{{Model: "a", Weight: 1}, {Model: "b", Weight: 1}}
		return c
	}
	if err := base().Validate(); err != nil {
		t.Fatalf("valid variants: %v", err)
	}
	cases := []struct {
		edit func(*Personality)
		want string
	}{
		{func(p *Personality) { p.Variants[1].Weight = 0 }, "robots[0].variants[1].weight: must be positive"},
		{func(p *Personality) { p.Variants[1].Weight = -2 }, "robots[0].variants[1].weight: must be positive"},
		{func(p *Personality) { p.Variants[0].Model = " " }, "robots[0].variants[0].model: must not be empty"},
		{func(p *Personality) { p.Variants[1].Model = "a" }, `robots[0].variants[1].model: duplicate variant "a"`},
		{func(p *Personality) { p.Model = "gpt-4o" }, "robots[0].variants: set model or variants, not both"},
		{func(p *Personality) { p.PinModel = true }, "robots[0].pin_model: not needed with variants"},
	}
	for _, tc := range cases {
		c := base()
		tc.edit(&c.Robots[0])
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}

func TestNormalizeBaseURL(t *testing.T) {
	cases := []struct{ in, want, note string }{
		{"", "", ""},
		{"http://localhost:11434/v1", "http://localhost:11434/v1", ""},
		{"http://localhost:11434/v1/", "http://localhost:11434/v1", "dropped the trailing slash"},
		{"http://localhost:11434", "http://localhost:11434/v1", "added /v1"},
		{"http://localhost:11434/", "http://localhost:11434/v1", "added /v1"},
		{"http://localhost:8000/v1/chat/completions", "http://localhost:8000/v1", "dropped the endpoint /chat/completions"},
		{"https://api.openai.com/v1/chat/completions/", "https://api.openai.com/v1", "dropped the endpoint /chat/completions"},
		{"http://gw:4000/chat/completions", "http://gw:4000/v1", "dropped the endpoint /chat/completions, added /v1"},
		{"https://openrouter.ai/api/v1", "https://openrouter.ai/api/v1", ""},
		{"http://h/v1/models", "http://h/v1", "dropped the endpoint /models"},
	}
	for _, tc := range cases {
		got, note, err := NormalizeBaseURL(tc.in)
		if err != nil || got != tc.want || note != tc.note {
			t.Errorf("NormalizeBaseURL(%q) = %q, %q, %v; want %q, %q", tc.in, got, note, err, tc.want, tc.note)
		}
	}
	refused := []struct{ in, hint string }{
		{"localhost:11434", "want an http:// or https:// URL"},
		{"http://localhost:11434/api/chat", "http://localhost:11434/v1"},
		{"http://localhost:11434/api", "Ollama's native API"},
		{"https://x.example/v1?api-version=1", "query or fragment"},
		{"http://user:secret@h/v1?x=1", "xxxxx"}, // the password never reaches the message
	}
	for _, tc := range refused {
		_, _, err := NormalizeBaseURL(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.hint) || strings.Contains(err.Error(), "secret") {
			t.Errorf("NormalizeBaseURL(%q) error %v, want one with %q", tc.in, err, tc.hint)
		}
	}
	// Validate refuses the same shapes, naming the key.
	c := Default()
	c.LLM.BaseURL = "http://localhost:11434/api/chat"
	if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), "llm.base_url: ") {
		t.Errorf("Validate: %v", err)
	}
}

func TestUnknownEnvWarned(t *testing.T) {
	isolate(t)
	t.Setenv("ARENA_GAME_ROUNDZ", "3")
	t.Setenv("ARENA_NOT_A_THING_AT_ALL", "1")
	t.Setenv("ARENA_GAME_ROUNDS", "4")
	t.Setenv("ARENA_TEST_LOG", "1") // a test harness's own variable
	l := mustLoad(t, LoadOptions{})
	if l.Config.Game.Rounds != 4 {
		t.Errorf("rounds = %d", l.Config.Game.Rounds)
	}
	if len(l.Warnings) != 2 {
		t.Fatalf("warnings = %q, want two", l.Warnings)
	}
	if w := l.Warnings[0]; !strings.Contains(w, "ARENA_GAME_ROUNDZ is set but is not an arena setting") || !strings.Contains(w, "did you mean ARENA_GAME_ROUNDS?") {
		t.Errorf("warning %q", w)
	}
	if w := l.Warnings[1]; !strings.HasPrefix(w, "ARENA_NOT_A_THING_AT_ALL") || strings.Contains(w, "did you mean") {
		t.Errorf("warning %q", w)
	}
}

func TestHTTPPublicURLAndDrainDelay(t *testing.T) {
	isolate(t)
	t.Setenv("ARENA_HTTP_PUBLIC_URL", "http://192.168.1.20:8080")
	t.Setenv("ARENA_HTTP_DRAIN_DELAY", "5s")
	c := mustLoad(t, LoadOptions{}).Config
	if c.HTTP.PublicURL != "http://192.168.1.20:8080" || c.HTTP.DrainDelay.Seconds() != 5 {
		t.Errorf("http = %+v", c.HTTP)
	}
	t.Setenv("ARENA_HTTP_PUBLIC_URL", "192.168.1.20:8080")
	if _, err := Load(LoadOptions{}); err == nil || !strings.Contains(err.Error(), "ARENA_HTTP_PUBLIC_URL: http.public_url: want the URL players open") {
		t.Errorf("bad public_url: %v", err)
	}
	t.Setenv("ARENA_HTTP_PUBLIC_URL", "")
	t.Setenv("ARENA_HTTP_DRAIN_DELAY", "-1s")
	if _, err := Load(LoadOptions{}); err == nil || !strings.Contains(err.Error(), "http.drain_delay: must not be negative") {
		t.Errorf("negative drain delay: %v", err)
	}
}

func TestJoinURL(t *testing.T) {
	if got := (HTTP{}).JoinURL("http://192.168.1.20:8080", "K7P2QX"); got != "http://192.168.1.20:8080/join/K7P2QX" {
		t.Errorf("without public_url: %q", got)
	}
	h := HTTP{PublicURL: "https://arena.example.org/games/"}
	if got := h.JoinURL("http://127.0.0.1:8080", "K7P2QX"); got != "https://arena.example.org/games/join/K7P2QX" {
		t.Errorf("with public_url: %q", got)
	}
	if got := (HTTP{}).JoinURL("http://h", "a/b"); got != "http://h/join/a%2Fb" {
		t.Errorf("code escaped: %q", got)
	}
}
