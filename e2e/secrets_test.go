package e2e

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
	"github.com/arena-hq/arena/modules/kafka"
)

const (
	apiKey       = "sk-e2e-api-key-that-must-never-leak-4242"
	saslPassword = "sasl-e2e-password-that-must-never-leak-4242"
	wrongSASL    = "wrong-e2e-password-that-must-never-leak-4242"
)

// TestSecretsStayOutOfLogsAndMetrics runs the roles against a broker that
// wants SASL PLAIN and robots on an OpenAI-compatible fake server that
// wants the API key, with debug logging, through a match whose robots hit
// a 429 and a 500 on the way. Neither secret may appear in the logs, in
// /metrics or in `arena config show`; a wrong SASL password fails the
// start with a reason that names the setting, not the value.
func TestSecretsStayOutOfLogsAndMetrics(t *testing.T) {
	b, err := kafka.NewBroker(kafka.BrokerConfig{
		Addr: "127.0.0.1:0",
		SASL: map[string]map[string]string{"PLAIN": {"arena": saslPassword}},
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	var mu sync.Mutex
	calls, authorized := 0, 0
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		mu.Lock()
		calls++
		n := calls
		if r.Header.Get("Authorization") == "Bearer "+apiKey {
			authorized++
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch n {
		case 1:
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"error":{"message":"slow down","type":"rate_limit"}}`)
		case 2:
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"error":{"message":"boom","type":"server_error"}}`)
		default:
			_ = json.NewEncoder(w).Encode(map[string]any{
				"id": "c", "object": "chat.completion", "created": time.Now().Unix(), "model": "fake",
				"choices": []map[string]any{{"index": 0, "finish_reason": "stop",
					"message": map[string]any{"role": "assistant", "content": "B"}}},
			})
		}
	}))
	defer model.Close()

	env := []string{
		"OPENAI_API_KEY=" + apiKey,
		"ARENA_LLM_PROVIDER=openai",
		"ARENA_LLM_BASE_URL=" + model.URL + "/v1",
		"ARENA_LLM_MAX_RETRIES=2",
		"ARENA_KAFKA_SASL_MECHANISM=plain",
		"ARENA_KAFKA_SASL_USERNAME=arena",
		"ARENA_KAFKA_SASL_PASSWORD=" + saslPassword,
		"ARENA_LOG_LEVEL=debug",
		"ARENA_GAME_HUMANS=1",
		"ARENA_GAME_ROUNDS=1",
		"ARENA_GAME_ANSWER_WINDOW=8s",
		"ARENA_GAME_VOTE_WINDOW=6s",
		"ARENA_GAME_LOBBY_WAIT=300ms",
	}
	httpAddr := freeAddr(t)
	base := "http://" + httpAddr
	p := start(t, "roles", env, "serve", "--role=gateway,orchestrator,robot,materializer", "--brokers", b.Addr(), "--http-addr", httpAddr)
	waitReady(t, p, base)

	pl := &player{t: t, name: "Sam", base: base}
	if code, body := postJSON(t, base+"/api/matches", "", map[string]any{"name": "Sam", "mode": "quick"}, &pl.seat); code/100 != 2 {
		t.Fatalf("create: %d %s", code, body)
	}
	pl.connect()
	pl.await(30*time.Second, "the reveal", func(v game.View) bool { return v.Phase == events.PhaseFinished })
	mu.Lock()
	if calls < 3 || authorized != calls {
		t.Errorf("model calls %d, %d with the API key", calls, authorized)
	}
	mu.Unlock()

	_, metrics := httpGet(base + "/metrics")
	if !strings.Contains(metrics, "arena_robot_model_call_seconds") {
		t.Fatalf("/metrics lacks the robot metrics:\n%s", tail(metrics, 2000))
	}
	shown, _, _ := run(t, env, "config", "show")
	if p.Stop(t, 30*time.Second) != 0 {
		t.Errorf("roles exited non-zero after SIGTERM")
	}

	// A wrong SASL password: the start fails and says which setting.
	bad := append(append([]string(nil), env...), "ARENA_KAFKA_SASL_PASSWORD="+wrongSASL)
	_, failed, code := run(t, bad, "serve", "--role=materializer", "--brokers", b.Addr(), "--http-addr", freeAddr(t))
	if code == 0 || !strings.Contains(failed, "kafka.sasl.password") {
		t.Errorf("wrong SASL password: exit %d, want a failure naming kafka.sasl.password:\n%s", code, tail(failed, 3000))
	}

	for name, text := range map[string]string{
		"logs": p.Err.String() + p.Out.String(), "/metrics": metrics, "config show": shown, "failed start": failed,
	} {
		for _, secret := range []string{apiKey, saslPassword, wrongSASL} {
			if strings.Contains(text, secret) {
				t.Errorf("%s contain a secret (%.8s...)", name, secret)
			}
		}
	}
	t.Logf("checked %d bytes of debug logs, %d of /metrics, %d of config show, %d of a failed start",
		len(p.Err.String()), len(metrics), len(shown), len(failed))
}
