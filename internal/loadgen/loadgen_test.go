package loadgen

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/arena-hq/arena/config"
)

func TestSummarize(t *testing.T) {
	var s []time.Duration
	for i := 100; i >= 1; i-- {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	got := Summarize(s)
	want := Summary{N: 100, P50: 50 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}
	if got != want {
		t.Fatalf("Summarize = %+v, want %+v", got, want)
	}
	if (Summarize(nil) != Summary{}) {
		t.Fatal("Summarize(nil) is not empty")
	}
	if one := Summarize([]time.Duration{time.Second}); one.P50 != time.Second || one.P99 != time.Second {
		t.Fatalf("one sample: %+v", one)
	}
}

// TestViewShows pins down when a view counts as showing a player's action:
// the latency sample ends when every player has such a view.
func TestViewShows(t *testing.T) {
	parse := func(s string) *view {
		var v view
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			t.Fatal(err)
		}
		return &v
	}
	answerB := &action{kind: "answer", seat: "B", round: 2}
	voteB := &action{kind: "vote", seat: "B", round: 2}
	cases := []struct {
		name string
		v    string
		act  *action
		want bool
	}{
		{"answer not yet marked", `{"phase":"answering","round":2,"seats":[{"seat":"A","answered":true},{"seat":"B"}]}`, answerB, false},
		{"answer marked", `{"phase":"answering","round":2,"seats":[{"seat":"B","answered":true}]}`, answerB, true},
		{"voting opened after it", `{"phase":"voting","round":2,"seats":[{"seat":"B"}]}`, answerB, true},
		{"an earlier round", `{"phase":"results","round":1}`, answerB, false},
		{"a later round", `{"phase":"answering","round":3}`, voteB, true},
		{"vote not yet marked", `{"phase":"voting","round":2,"seats":[{"seat":"B"}]}`, voteB, false},
		{"vote marked", `{"phase":"voting","round":2,"seats":[{"seat":"B","voted":true}]}`, voteB, true},
		{"results after it", `{"phase":"results","round":2}`, voteB, true},
		{"finished", `{"phase":"finished","round":2}`, voteB, true},
	}
	for _, c := range cases {
		if got := parse(c.v).shows(c.act); got != c.want {
			t.Errorf("%s: shows = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestBenchConfigLoads checks the self-started server's config passes
// arena's own validation, with no robot delay and room for the humans.
func TestBenchConfigLoads(t *testing.T) {
	b, err := benchConfig("127.0.0.1:1", "127.0.0.1:2", t.TempDir(), 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "arena.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	loaded, err := config.Load(config.LoadOptions{File: path})
	if err != nil {
		t.Fatal(err)
	}
	c := loaded.Config
	if c.Game.Seats < 5 || c.Game.Rounds != 2 || c.Kafka.EmbeddedAddr != "127.0.0.1:2" || c.LLM.Provider != config.ProviderScripted {
		t.Errorf("config: seats %d rounds %d broker %s provider %s", c.Game.Seats, c.Game.Rounds, c.Kafka.EmbeddedAddr, c.LLM.Provider)
	}
	for _, r := range c.Robots {
		if r.Delay.Max != 0 {
			t.Errorf("robot %s: delay %v, want none", r.ID, r.Delay)
		}
	}
}

func TestServerQuantiles(t *testing.T) {
	page := `# HELP x
arena_action_broadcast_seconds_bucket{le="0.001"} 0
arena_action_broadcast_seconds_bucket{le="0.002"} 50
arena_action_broadcast_seconds_bucket{le="0.01"} 100
arena_action_broadcast_seconds_bucket{le="+Inf"} 100
arena_action_broadcast_seconds_count 100
`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(page)) }))
	defer srv.Close()
	q, n, ok := serverQuantiles(srv.Client(), srv.URL, "arena_action_broadcast_seconds", 0.5, 0.99)
	if !ok || n != 100 {
		t.Fatalf("ok %v n %v", ok, n)
	}
	if math.Abs(q[0]-0.002) > 1e-9 || math.Abs(q[1]-(0.002+0.008*49/50)) > 1e-9 {
		t.Errorf("quantiles %v", q)
	}
}
