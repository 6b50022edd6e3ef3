package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/arena-hq/arena/config"
)

// TestOpenAIBaseURLShapes: every shape people paste reaches /v1/chat/completions.
func TestOpenAIBaseURLShapes(t *testing.T) {
	srv := newChatServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) { writeCompletion(w, "m", "ok") })
	for _, base := range []string{
		srv.URL, srv.URL + "/", srv.URL + "/v1", srv.URL + "/v1/",
		srv.URL + "/v1/chat/completions", srv.URL + "/v1/chat/completions/",
	} {
		var logs bytes.Buffer
		o, err := NewOpenAI(config.LLM{BaseURL: base, Model: "m"}, slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		before := srv.callCount()
		if _, err := o.Complete(context.Background(), simpleRequest()); err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		if got := srv.path(before); got != "/v1/chat/completions" {
			t.Errorf("base %q: request went to %q, want /v1/chat/completions", base, got)
		}
		// A changed URL is said once, so the operator can fix the config.
		if changed := base != srv.URL+"/v1"; changed != strings.Contains(logs.String(), "llm.base_url adjusted") {
			t.Errorf("base %q: log %q", base, logs.String())
		}
	}
	// Ollama's native API is refused with the URL to use instead.
	_, err := NewOpenAI(config.LLM{BaseURL: srv.URL + "/api/chat", Model: "m"}, nil)
	if err == nil || !strings.Contains(err.Error(), srv.URL+"/v1") {
		t.Errorf("native Ollama URL: %v", err)
	}
}

// TestOpenAISendsMaxTokensToOtherServers: older servers only know max_tokens;
// OpenAI's reasoning models refuse it, so OpenAI gets max_completion_tokens only.
func TestOpenAISendsMaxTokensToOtherServers(t *testing.T) {
	srv := newChatServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) { writeCompletion(w, "m", "ok") })
	o := newTestOpenAI(t, srv, time.Second, 0, nil)
	req := simpleRequest()
	req.MaxTokens = 77
	if _, err := o.Complete(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(srv.body(0), &body); err != nil {
		t.Fatal(err)
	}
	if body["max_tokens"] != 77.0 || body["max_completion_tokens"] != 77.0 {
		t.Errorf("local server got max_tokens=%v max_completion_tokens=%v, want both 77", body["max_tokens"], body["max_completion_tokens"])
	}

	official, err := NewOpenAI(config.LLM{BaseURL: "https://api.openai.com/v1/", Model: "m", APIKey: testKey}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := official.params(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(p)
	if strings.Contains(string(raw), `"max_tokens"`) || !strings.Contains(string(raw), `"max_completion_tokens":77`) {
		t.Errorf("to api.openai.com: %s", raw)
	}
}

// ollamaLike answers like Ollama: 404 with its message for a model it lacks.
// (chatServer has read the body already: it is in srv.body.)
func ollamaLike(t *testing.T, known ...string) *chatServer {
	var srv *chatServer
	srv = newChatServer(t, func(call int, w http.ResponseWriter, _ *http.Request) {
		var req struct {
			Model string `json:"model"`
		}
		_ = json.Unmarshal(srv.body(call-1), &req)
		for _, k := range known {
			if req.Model == k {
				writeCompletion(w, k, "OK")
				return
			}
		}
		writeAPIError(w, http.StatusNotFound, `model "`+req.Model+`" not found, try pulling it first`)
	})
	return srv
}

func TestCheckModelsNamesRobotModelAndAnswer(t *testing.T) {
	srv := ollamaLike(t, "llama3.2")
	o := newTestOpenAI(t, srv, time.Second, 2, nil)
	robots := []config.Personality{
		{ID: "maya", Model: "llama3.2"},
		{ID: "viktor", Model: "gpt-4o"},
		{ID: "dave", Model: "gpt-4o"},
		{ID: "ab", Variants: []config.Variant{{Model: "llama3.2", Weight: 1}, {Model: "qwen9", Weight: 1}}},
	}
	checks := CheckModels(context.Background(), o, robots, "default-model")
	if len(checks) != 3 {
		t.Fatalf("checks = %+v, want one per distinct model (llama3.2, gpt-4o, qwen9)", checks)
	}
	// One call per model: a 404 is not retried.
	if srv.callCount() != 3 {
		t.Errorf("%d calls, want 3", srv.callCount())
	}
	byModel := map[string]ModelCheck{}
	for _, c := range checks {
		byModel[c.Model] = c
	}
	if c := byModel["llama3.2"]; c.Err != nil || strings.Join(c.Robots, ",") != "maya,ab" || c.Reply != "OK" {
		t.Errorf("llama3.2: %+v", c)
	}
	bad := byModel["gpt-4o"]
	if bad.Err == nil || strings.Join(bad.Robots, ",") != "viktor,dave" {
		t.Fatalf("gpt-4o: %+v", bad)
	}
	if h := Hint(bad.Err, "gpt-4o"); !strings.Contains(h, "ARENA_LLM_MODEL") || !strings.Contains(h, "ollama pull gpt-4o") {
		t.Errorf("hint %q", h)
	}

	var logs bytes.Buffer
	LogModelChecks(slog.New(slog.NewTextHandler(&logs, nil)), o.Server(), checks)
	var errorLines []string
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if strings.Contains(line, "level=ERROR") {
			errorLines = append(errorLines, line)
		}
	}
	if len(errorLines) != 2 {
		t.Fatalf("ERROR lines:\n%s\nwant one per failing model", strings.Join(errorLines, "\n"))
	}
	line := errorLines[0]
	for _, want := range []string{`robots="[viktor dave]"`, "model=gpt-4o", "404", `model \"gpt-4o\" not found`, "server=" + srv.URL + "/v1"} {
		if !strings.Contains(line, want) {
			t.Errorf("ERROR line %q lacks %q", line, want)
		}
	}
	if strings.Contains(logs.String(), testKey) {
		t.Error("the API key reached the log")
	}
}

func TestCheckModelsUnreachableServer(t *testing.T) {
	srv := ollamaLike(t)
	url := srv.URL
	srv.Close()
	o, err := NewOpenAI(config.LLM{BaseURL: url, Model: "m", Timeout: time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	checks := CheckModels(ctx, o, []config.Personality{{ID: "a"}}, "m")
	if len(checks) != 1 || checks[0].Err == nil || !strings.Contains(Hint(checks[0].Err, "m"), "could not reach the server") {
		t.Errorf("checks = %+v hint %q", checks, Hint(checks[0].Err, "m"))
	}
}

// A base URL alone (a keyless local server) picks the openai provider.
func TestNewPicksOpenAIForABaseURL(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	m, err := New(config.LLM{BaseURL: "http://localhost:11434", Model: "llama3.2"}, nil)
	if err != nil || m.Name() != config.ProviderOpenAI {
		t.Fatalf("base URL without key: %v, %v", m, err)
	}
	if p := (config.LLM{BaseURL: "http://localhost:11434"}).EffectiveProvider(); p != config.ProviderOpenAI {
		t.Errorf("EffectiveProvider = %q", p)
	}
}
