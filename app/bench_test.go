package app

import (
	"regexp"
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
	if code := p.wait(t, 3*time.Minute); code != 0 {
		t.Fatalf("bench exited %d\nstdout:\n%s\nstderr:\n%s", code, p.out, p.err)
	}
	out := p.out.String()
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
