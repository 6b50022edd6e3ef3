package app

import (
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBenchPlaysMatchesAndReports runs a short `arena bench` that starts its
// own server: it must finish matches and print sane, non-zero figures for
// arena and the raw pipeline, and the ratios between them. No timing is
// asserted: the machine may be busy.
func TestBenchPlaysMatchesAndReports(t *testing.T) {
	dir := t.TempDir()
	p := startArena(t, dir, nil, "bench", "--matches", "2", "--humans", "2", "--rounds", "1",
		"--duration", "1s", "--think", "50ms", "--progress", "500ms", "--idle-players", "4")
	if code := p.Wait(t, 3*time.Minute); code != 0 {
		t.Fatalf("bench exited %d\nstdout:\n%s\nstderr:\n%s", code, p.Out, p.Err)
	}
	out := p.Out.String()
	t.Logf("bench output:\n%s", out)

	num := func(re string) float64 {
		t.Helper()
		m := regexp.MustCompile(re).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no %q in the output", re)
		}
		f, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			t.Fatalf("%q: %v", re, err)
		}
		return f
	}
	positive := map[string]string{
		"matches":              `arena: (\d+) matches`,
		"matches/s":            `arena: \d+ matches \(([\d.]+)/s\)`,
		"actions":              `(\d+) actions \([\d.]+/s\)`,
		"actions/s":            `\d+ actions \(([\d.]+)/s\)`,
		"arena p50":            `arena: action to every player's view: p50 ([\d.]+)ms`,
		"arena p99":            `arena: action to every player's view: p50 [\d.]+ms  p99 ([\d.]+)ms`,
		"arena server CPU":     `arena: server CPU ([\d.]+) s`,
		"arena server RSS":     `arena: server CPU [\d.]+ s \([\d.]+ cores\), RSS max (\d+) MiB`,
		"raw frames":           `raw: +(\d+) frames`,
		"raw p50":              `raw: +frame to every room member: p50 ([\d.]+)ms`,
		"p50 ratio":            `arena / raw: p50 ([\d.]+)x`,
		"p99 ratio":            `arena / raw: p50 [\d.]+x  p99 ([\d.]+)x`,
		"server ready seconds": `server ready in ([\d.]+)m?s`,
	}
	for what, re := range positive {
		if v := num(re); !(v > 0) {
			t.Errorf("%s = %v, want > 0", what, v)
		}
	}
	if n := num(`arena: \d+ matches \([\d.]+/s\), (\d+) failed`); n != 0 {
		t.Errorf("%v matches failed", n)
	}
	if !strings.Contains(out, "[arena") || !strings.Contains(out, "[raw") {
		t.Error("no progress lines for arena and raw")
	}
	if !strings.Contains(out, "memory per idle player: ") {
		t.Error("no idle player memory figure")
	}
}

// TestMetricsDuringMatch scrapes /metrics while `arena bench` plays a match
// against a running `serve --all`, and finds the series operators need:
// consumer lag, records produced per topic, live matches by phase, connected
// players, action-to-broadcast latency, robot reply time and model calls,
// and the Kafka client and process series.
func TestMetricsDuringMatch(t *testing.T) {
	httpAddr, brokerAddr := freeAddr(t), freeAddr(t)
	srv := startArena(t, t.TempDir(), []string{
		"ARENA_KAFKA_EMBEDDED_ADDR=" + brokerAddr, "ARENA_LLM_PROVIDER=scripted",
		"ARENA_GAME_ROUNDS=1", "ARENA_GAME_ANSWER_WINDOW=4s", "ARENA_GAME_VOTE_WINDOW=3s", "ARENA_GAME_RESULTS_PAUSE=100ms",
	}, "serve", "--all", "--data-dir", filepath.Join(t.TempDir(), "data"), "--http-addr", httpAddr)
	base := "http://" + httpAddr
	waitStatus(t, srv, base+"/readyz", http.StatusOK)

	bench := startArena(t, t.TempDir(), nil, "bench", "--target", base, "--matches", "1", "--humans", "1",
		"--duration", "1s", "--think", "10ms", "--baseline=false", "--progress", "1s")
	seen := map[string]float64{} // series -> largest value scraped
	scrape := func() {
		code, _, body := get(base + "/metrics")
		if code != http.StatusOK {
			t.Fatalf("/metrics: %d %s", code, body)
		}
		for line := range strings.Lines(body) {
			if strings.HasPrefix(line, "#") {
				continue
			}
			i := strings.LastIndexByte(strings.TrimSpace(line), ' ')
			if i < 0 {
				continue
			}
			v, _ := strconv.ParseFloat(strings.TrimSpace(line[i+1:]), 64)
			series := line[:i]
			seen[series] = max(seen[series], v)
		}
	}
	for !bench.Exited() {
		scrape()
		time.Sleep(100 * time.Millisecond)
	}
	scrape()
	if code := bench.Wait(t, time.Minute); code != 0 {
		t.Fatalf("bench exited %d: %s\n%s", code, bench.Out, bench.Err)
	}

	// Each want is a prefix of a series (name and leading labels) and
	// whether some scrape must have shown it above zero.
	wants := []struct {
		prefix   string
		positive bool
	}{
		{`arena_consumer_lag{group="arena-materializer",partition="`, false},
		{`arena_records_produced_total{topic="match-events"}`, true},
		{`arena_records_produced_total{topic="match-state"}`, true},
		{`arena_records_produced_total{topic="robot-commands"}`, true},
		{`arena_records_consumed_total{group="arena-materializer",topic="match-events"}`, true},
		{`arena_live_matches{phase="answering"}`, true},
		{`arena_ws_connections`, true},
		{`arena_action_broadcast_seconds_count`, true},
		{`arena_action_broadcast_seconds_bucket{le="0.001"}`, false},
		{`arena_robot_reply_seconds_count{kind="answer",personality="`, true},
		{`arena_robot_model_call_seconds_count{`, true},
		{`arena_gateway_actions_total{result="ok",type="answer"}`, true},
		{`arena_kafka_produce_bytes_total{client="gateway-producer"`, true},
		{`process_resident_memory_bytes`, true},
	}
	for _, w := range wants {
		found, positive := false, false
		for series, v := range seen {
			if strings.HasPrefix(series, w.prefix) {
				found = true
				positive = positive || v > 0
			}
		}
		switch {
		case !found:
			t.Errorf("no series %s... on /metrics", w.prefix)
		case w.positive && !positive:
			t.Errorf("series %s... never above zero", w.prefix)
		}
	}
	for series := range seen {
		if strings.Contains(series, "match_id") || strings.Contains(series, "matchId") {
			t.Errorf("a series is labelled by match: %s", series)
		}
	}
	if t.Failed() {
		var names []string
		for s := range seen {
			if strings.HasPrefix(s, "arena_") && !strings.HasPrefix(s, "arena_kafka_") {
				names = append(names, s)
			}
		}
		slices.Sort(names)
		t.Logf("arena series seen:\n%s", strings.Join(names, "\n"))
	}
}

// TestMetricsOnlyWhereOperatorsLook: players must not read /metrics (its
// counters and model timings tell which seats are robots). On a loopback
// http.addr it is served there; with http.admin_addr only there; on an
// address players reach, with no admin address, nowhere.
func TestMetricsOnlyWhereOperatorsLook(t *testing.T) {
	for _, c := range []struct {
		name     string
		httpHost string
		admin    bool
	}{
		{"admin address", "127.0.0.1", true},
		{"reachable by players", "0.0.0.0", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			httpAddr, brokerAddr := freeAddr(t), freeAddr(t)
			_, port, _ := strings.Cut(httpAddr, ":")
			httpAddr = c.httpHost + ":" + port
			env := []string{"ARENA_KAFKA_EMBEDDED_ADDR=" + brokerAddr, "ARENA_LLM_PROVIDER=scripted"}
			adminAddr := ""
			if c.admin {
				adminAddr = freeAddr(t)
				env = append(env, "ARENA_HTTP_ADMIN_ADDR="+adminAddr)
			}
			srv := startArena(t, t.TempDir(), env, "serve", "--all", "--data-dir", filepath.Join(t.TempDir(), "data"), "--http-addr", httpAddr)
			base := "http://127.0.0.1:" + port
			waitStatus(t, srv, base+"/readyz", http.StatusOK)
			if code, _, body := get(base + "/metrics"); code != http.StatusNotFound {
				t.Fatalf("/metrics on the players' address: %d %.200s", code, body)
			}
			if c.admin {
				code, _, body := get("http://" + adminAddr + "/metrics")
				if code != http.StatusOK || !strings.Contains(body, "arena_ws_connections") {
					t.Fatalf("/metrics on http.admin_addr: %d %.200s", code, body)
				}
			} else if !strings.Contains(srv.Err.String(), "no /metrics") {
				t.Errorf("no warning that /metrics is off: %s", srv.Err.String())
			}
		})
	}
}
