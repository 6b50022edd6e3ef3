package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
)

// robotsYAML is the robots stanza of the e2e configs: the three scripted
// personalities Maya, Viktor and Luna, with ids prefix+"student",
// prefix+"scientist" and prefix+"artist", each thinking between minDelay and
// maxDelay before it types at cps characters a second. The tests differ in
// ids and timing only.
func robotsYAML(prefix, minDelay, maxDelay string, cps int) string {
	var b strings.Builder
	b.WriteString("robots:\n")
	for _, r := range []struct{ role, name, is string }{
		{"student", "Maya", "a student"},
		{"scientist", "Viktor", "a scientist"},
		{"artist", "Luna", "an artist"},
	} {
		fmt.Fprintf(&b, "  - id: %s%s\n    name: %s\n    model: scripted\n    system_prompt: You are %s, %s.\n"+
			"    delay: {min: %s, max: %s}\n    typing_cps: %d\n",
			prefix, r.role, r.name, r.name, r.is, minDelay, maxDelay, cps)
	}
	return b.String()
}

// writeConfig writes the config text to dir/arena.yaml and returns its path.
func writeConfig(t *testing.T, dir, text string) string {
	t.Helper()
	path := filepath.Join(dir, "arena.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// replayOutput is what `arena replay --json` prints: a match's events and the
// state they fold to.
type replayOutput struct {
	Events []events.Envelope `json:"events"`
	State  *game.State       `json:"state"`
}

// replayJSON runs `arena replay --json` for matchID on configFile and
// dataDir; it fails the test unless the command succeeds and prints a
// replay.
func replayJSON(t *testing.T, configFile, dataDir, matchID string) replayOutput {
	t.Helper()
	stdout, stderr, code := run(t, nil, "replay", matchID, "--json", "--config", configFile, "--data-dir", dataDir)
	if code != 0 {
		t.Fatalf("replay %s exited %d: %s", matchID, code, stderr)
	}
	var r replayOutput
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("replay %s --json: %v\n%s", matchID, err, stdout)
	}
	return r
}
