package config

import (
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
)

// DefaultModel is llm.model when nothing sets it.
const DefaultModel = "gpt-4o-mini"

// PickModel draws the model a personality plays one match with: one of its
// variants, with probability weight/(sum of weights), else its model, else
// fallback (llm.model). r may be nil for the global source; a seeded r gives
// a reproducible draw. Validate guarantees positive weights.
func PickModel(p Personality, fallback string, r *rand.Rand) string {
	if len(p.Variants) == 0 {
		if m := strings.TrimSpace(p.Model); m != "" {
			return m
		}
		return fallback
	}
	total := 0.0
	for _, v := range p.Variants {
		total += v.Weight
	}
	var x float64
	if r != nil {
		x = r.Float64() * total
	} else {
		x = rand.Float64() * total
	}
	for _, v := range p.Variants {
		if x < v.Weight {
			return v.Model
		}
		x -= v.Weight
	}
	return p.Variants[len(p.Variants)-1].Model // rounding at the top end
}

// Models returns every model a personality may play with: its variants', or
// its model (fallback when it names none).
func (p Personality) Models(fallback string) []string {
	if len(p.Variants) == 0 {
		return []string{PickModel(p, fallback, nil)}
	}
	out := make([]string, 0, len(p.Variants))
	for _, v := range p.Variants {
		if !slices.Contains(out, v.Model) {
			out = append(out, v.Model)
		}
	}
	return out
}

// applyModel points every robot at an explicitly set llm.model, except those
// that ask otherwise (pin_model, or variants). The shipped stable names
// OpenAI's models; an operator who sets llm.model for Ollama or vLLM means
// every robot, or every call would answer 404 "model not found".
func (c *Config) applyModel(explicit bool) {
	if c.LLM.Model == "" {
		c.LLM.Model = DefaultModel
	}
	c.Robots = slices.Clone(c.Robots)
	for i := range c.Robots {
		p := &c.Robots[i]
		if len(p.Variants) == 0 {
			p.Variants = nil // decoding gives an empty list; keep one form
		}
		switch {
		case len(p.Variants) > 0:
		case explicit && !p.PinModel:
			p.Model = c.LLM.Model
		case strings.TrimSpace(p.Model) == "":
			p.Model = c.LLM.Model
		}
	}
}

// NormalizeBaseURL turns the shapes of an OpenAI-compatible base URL that
// people paste into the one the client wants (ending before
// /chat/completions): a trailing slash is dropped, a pasted endpoint
// (.../v1/chat/completions) is cut back to its base, and a bare server
// (http://localhost:11434) gets /v1, where Ollama, vLLM, llama.cpp, LiteLLM
// and OpenAI all serve it. note says what was changed ("" if nothing). A
// URL that cannot be meant as a base is an error with a hint.
func NormalizeBaseURL(raw string) (base, note string, err error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", "", nil
	}
	u, perr := url.Parse(s)
	if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", baseURLError("want an http:// or https:// URL such as http://localhost:11434/v1, got %q", redactURL(s))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", "", baseURLError("%q has a query or fragment; give the base only, e.g. %s://%s/v1 (the key goes in llm.api_key)", redactURL(s), u.Scheme, u.Host)
	}
	path := strings.TrimRight(u.Path, "/")
	var changes []string
	for _, endpoint := range []string{"/chat/completions", "/completions", "/models"} {
		if strings.HasSuffix(path, endpoint) {
			path = strings.TrimSuffix(path, endpoint)
			changes = append(changes, "dropped the endpoint "+endpoint)
			break
		}
	}
	switch {
	case path == "/api" || strings.HasPrefix(path, "/api/chat") || strings.HasPrefix(path, "/api/generate"):
		// Ollama's native API speaks another protocol.
		return "", "", baseURLError("%q is Ollama's native API; its OpenAI-compatible one is %s://%s/v1", redactURL(s), u.Scheme, u.Host)
	case path == "":
		path = "/v1"
		changes = append(changes, "added /v1")
	}
	u.Path, u.RawPath = path, ""
	base = u.String()
	if base != s {
		note = strings.Join(changes, ", ")
		if note == "" {
			note = "dropped the trailing slash"
		}
	}
	return base, note, nil
}

func baseURLError(format string, args ...any) *FieldError {
	return fieldErr("llm.base_url", format, args...)
}

// JoinURL is the invite link of a private match: http.public_url (when set)
// or else origin (the scheme and host the request came to, e.g.
// "http://192.168.1.20:8080"), then /join/CODE.
func (h HTTP) JoinURL(origin, code string) string {
	base := strings.TrimRight(strings.TrimSpace(h.PublicURL), "/")
	if base == "" {
		base = strings.TrimRight(origin, "/")
	}
	return base + "/join/" + url.PathEscape(code)
}
