package app

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/internal/arenatest/kafkatest"
)

func TestVersionFlag(t *testing.T) {
	stdout, stderr, code := runArena(t, t.TempDir(), nil, "--version")
	if want := "arena " + testVersion + " (" + runtime.Version() + ")\n"; code != 0 || stdout != want {
		t.Fatalf("--version: exit %d, stdout %q (want %q), stderr %q", code, stdout, want, stderr)
	}
}

// fakeModelServer speaks the chat-completions wire format and, like Ollama,
// answers 404 for a model it does not serve. It records the models asked for.
func fakeModelServer(t *testing.T, known ...string) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/v1/chat/completions" {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":{"message":"404 page not found"}}`)
			return
		}
		var req struct {
			Model string `json:"model"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		mu.Lock()
		asked = append(asked, req.Model)
		mu.Unlock()
		for _, k := range known {
			if k == req.Model {
				_ = json.NewEncoder(w).Encode(map[string]any{
					"id": "x", "object": "chat.completion", "created": 1, "model": k,
					"choices": []map[string]any{{"index": 0, "finish_reason": "stop",
						"message": map[string]any{"role": "assistant", "content": "OK"}}},
				})
				return
			}
		}
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error":{"message":"model \"`+req.Model+`\" not found, try pulling it first","type":"api_error"}}`)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), asked...)
	}
}

// TestLLMCheckCLI: `arena llm check` against a server that knows only
// llama3.2, as an operator pointing arena at Ollama would run it.
func TestLLMCheckCLI(t *testing.T) {
	srv, asked := fakeModelServer(t, "llama3.2")
	// The pasted full endpoint is fixed, and the shipped robots' OpenAI
	// models are refused by name, with the robots that play them.
	// As the README's quick start: a base URL and no key or provider.
	env := []string{"ARENA_LLM_BASE_URL=" + srv.URL + "/v1/chat/completions"}
	stdout, stderr, code := runArena(t, t.TempDir(), env, "llm", "check")
	if code != 1 {
		t.Fatalf("exit %d, want 1; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"FAIL  gpt-4o ", "curious-student", `model \"gpt-4o\" not found`, "fix: ", "ARENA_LLM_MODEL"} {
		if !strings.Contains(stdout, want) && !strings.Contains(stdout, strings.ReplaceAll(want, `\"`, `"`)) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "llm.base_url adjusted") {
		t.Errorf("the fixed base URL is not reported; stderr:\n%s", stderr)
	}
	distinct := map[string]bool{}
	for _, m := range asked() {
		distinct[m] = true
	}
	if len(distinct) < 2 || len(asked()) != len(distinct) {
		t.Errorf("asked %v: want one request per distinct model", asked())
	}

	// llm.model points every robot at llama3.2: all good.
	stdout, stderr, code = runArena(t, t.TempDir(), append(env, "ARENA_LLM_MODEL=llama3.2"), "llm", "check")
	if code != 0 || !strings.Contains(stdout, "ok    llama3.2") || !strings.Contains(stdout, "all 1 models answered") {
		t.Fatalf("with ARENA_LLM_MODEL: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	// --model does the same from the command line.
	stdout, _, code = runArena(t, t.TempDir(), env, "llm", "check", "--model", "llama3.2")
	if code != 0 {
		t.Fatalf("with --model: exit %d\n%s", code, stdout)
	}

	// Without a key or provider there is nothing to check, and it says how.
	stdout, _, code = runArena(t, t.TempDir(), nil, "llm", "check")
	if code != 0 || !strings.Contains(stdout, "scripted") {
		t.Errorf("scripted: exit %d, %s", code, stdout)
	}
}

func TestHealthcheckCLI(t *testing.T) {
	var ready bool
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.URL.Path == "/healthz":
			_, _ = io.WriteString(w, "ok\n")
		case r.URL.Path == "/readyz" && ready:
			_, _ = io.WriteString(w, "ready\n")
		case r.URL.Path == "/readyz":
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "not ready\n")
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	dir := t.TempDir()

	if out, errOut, code := runArena(t, dir, []string{"ARENA_HTTP_ADDR=" + addr}, "healthcheck"); code != 0 || !strings.Contains(out, "/healthz: ok") {
		t.Errorf("alive: exit %d %q %q", code, out, errOut)
	}
	if _, errOut, code := runArena(t, dir, nil, "healthcheck", "--ready", "--http-addr", addr); code != 1 || !strings.Contains(errOut, "503") || !strings.Contains(errOut, "not ready") {
		t.Errorf("not ready: exit %d, stderr %q", code, errOut)
	}
	mu.Lock()
	ready = true
	mu.Unlock()
	if _, errOut, code := runArena(t, dir, nil, "healthcheck", "--ready", "--url", srv.URL+"/readyz"); code != 0 {
		t.Errorf("ready: exit %d, stderr %q", code, errOut)
	}
	srv.Close()
	if _, _, code := runArena(t, dir, nil, "healthcheck", "--url", srv.URL+"/healthz", "--timeout", "1s"); code != 1 {
		t.Errorf("nothing listening: exit %d, want 1", code)
	}
	if got := localAddr("0.0.0.0:8080"); got != "127.0.0.1:8080" {
		t.Errorf("localAddr(0.0.0.0:8080) = %q", got)
	}
	if got := localAddr("[::]:8080"); got != "[::1]:8080" {
		t.Errorf("localAddr([::]:8080) = %q", got)
	}
}

func TestJSONLogDurationsInSeconds(t *testing.T) {
	var buf bytes.Buffer
	newLogger(config.Log{Level: "info", Format: "json"}, &buf).Info("x", "took", 1500*time.Millisecond, "n", 3)
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	if line["took"] != 1.5 || line["n"] != 3.0 {
		t.Errorf("json log %s: want took 1.5 (seconds)", buf.String())
	}
	buf.Reset()
	newLogger(config.Log{Level: "info", Format: "text"}, &buf).Info("x", "took", 1500*time.Millisecond)
	if !strings.Contains(buf.String(), "took=1.5s") {
		t.Errorf("text log %q", buf.String())
	}
}

func TestUnknownEnvWarnedCLI(t *testing.T) {
	_, stderr, code := runArena(t, t.TempDir(), []string{"ARENA_GAME_ROUNDZ=3"}, "config", "validate")
	if code != 0 || !strings.Contains(stderr, "ARENA_GAME_ROUNDZ is set but is not an arena setting") || !strings.Contains(stderr, "ARENA_GAME_ROUNDS") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// TestServeNamesAnUnusableModelAtStart: a robot role pointed at a server
// that lacks the robots' models (as Ollama answers: 404 model not found)
// says so at start, one ERROR line per model naming the robots, the model and
// the server's answer, instead of playing matches with "(no answer)".
func TestServeNamesAnUnusableModelAtStart(t *testing.T) {
	b := kafkatest.StartBroker(t, 0, discardLogger())
	srv, _ := fakeModelServer(t, "gpt-4o-mini")
	env := []string{"ARENA_KAFKA_BROKERS=" + b.Addr(), "ARENA_HTTP_ADDR=" + freeAddr(t),
		"ARENA_LLM_PROVIDER=openai", "ARENA_LLM_BASE_URL=" + srv.URL + "/v1", "ARENA_LLM_MAX_RETRIES=0"}
	p := startArena(t, t.TempDir(), env, "serve", "--role=robot")
	errorLines := func() []string {
		var out []string
		for _, l := range strings.Split(p.Err.String(), "\n") {
			if strings.Contains(l, "level=ERROR") && strings.Contains(l, "robot model unusable") {
				out = append(out, l)
			}
		}
		return out
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(errorLines()) < 2 && time.Now().Before(deadline) && !p.Exited() {
		time.Sleep(50 * time.Millisecond)
	}
	p.Stop(t, 30*time.Second)
	lines := errorLines()
	// The shipped stable plays gpt-4o-mini, gpt-4o and gpt-4.1-mini; the
	// server has only the first.
	if len(lines) != 2 {
		t.Fatalf("ERROR lines:\n%s\nwant 2 (gpt-4o, gpt-4.1-mini); stderr:\n%s", strings.Join(lines, "\n"), p.Err.String())
	}
	all := strings.Join(lines, "\n")
	for _, want := range []string{"model=gpt-4o ", "model=gpt-4.1-mini", "skeptical-scientist", "404 Not Found", `not found, try pulling it first`, "server=" + srv.URL + "/v1"} {
		if !strings.Contains(all, want) {
			t.Errorf("ERROR lines lack %q:\n%s", want, all)
		}
	}
	if !strings.Contains(p.Err.String(), "robot model ok") {
		t.Errorf("the working model is not reported")
	}
}
