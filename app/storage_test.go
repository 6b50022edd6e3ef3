package app

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arena-hq/arena/modules/events"
)

// seedData seeds n matches into a new data dir and returns it with the
// match ids.
func seedData(t *testing.T, dir string, n string) (string, []string) {
	t.Helper()
	dataDir := filepath.Join(dir, "data")
	stdout, stderr, code := runArena(t, dir, nil, "seed", "--data-dir", dataDir, "--matches", n, "--seed", "11")
	if code != 0 {
		t.Fatalf("seed: exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var ids []string
	for _, l := range lines[1 : len(lines)-1] {
		ids = append(ids, strings.Fields(l)[0])
	}
	return dataDir, ids
}

func TestBackupThenRestoreReplaysTheSame(t *testing.T) {
	dir := t.TempDir()
	src, ids := seedData(t, dir, "4")
	file := filepath.Join(dir, "match-events.jsonl")
	if _, stderr, code := runArena(t, dir, nil, "backup", "--data-dir", src, file); code != 0 || !strings.Contains(stderr, "backed up") {
		t.Fatalf("backup: exit %d: %s", code, stderr)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// Every line reads as kcat -J would print it, with the event as payload.
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	for i, l := range lines {
		var rec struct {
			Topic     string `json:"topic"`
			Partition *int32 `json:"partition"`
			Offset    *int64 `json:"offset"`
			Ts        int64  `json:"ts"`
			Key       string `json:"key"`
			Payload   string `json:"payload"`
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil || rec.Topic != "match-events" || rec.Partition == nil || rec.Offset == nil || rec.Ts == 0 {
			t.Fatalf("line %d %q: %v", i+1, l, err)
		}
		e, err := events.Decode([]byte(rec.Payload))
		if err != nil || e.MatchID != rec.Key {
			t.Fatalf("line %d: payload is no event of its key %q: %v", i+1, rec.Key, err)
		}
	}

	dst := filepath.Join(dir, "restored")
	if _, stderr, code := runArena(t, dir, nil, "restore", "--data-dir", dst, file); code != 0 || !strings.Contains(stderr, "restored ") {
		t.Fatalf("restore: exit %d: %s", code, stderr)
	}
	for _, id := range ids {
		want, _, code1 := runArena(t, dir, nil, "replay", "--data-dir", src, "--json", id)
		got, stderr, code2 := runArena(t, dir, nil, "replay", "--data-dir", dst, "--json", id)
		if code1 != 0 || code2 != 0 || got != want {
			t.Fatalf("match %s: replay after restore differs (exit %d/%d, %s)\nbefore:\n%.400s\nafter:\n%.400s", id, code1, code2, stderr, want, got)
		}
	}
	// A second restore would double the log: refused.
	if _, stderr, code := runArena(t, dir, nil, "restore", "--data-dir", dst, file); code != 1 || !strings.Contains(stderr, "already holds records") {
		t.Fatalf("restore onto a log: exit %d: %s", code, stderr)
	}
	// So is a backup of another partition count.
	other := filepath.Join(dir, "other")
	_, stderr, code := runArena(t, dir, []string{"ARENA_KAFKA_PARTITIONS=2"}, "restore", "--data-dir", other, file)
	if code != 1 || !strings.Contains(stderr, "another partition count") && !strings.Contains(stderr, "partitions") {
		t.Fatalf("restore into 2 partitions: exit %d: %s", code, stderr)
	}
}

func TestDamagedBrokerDataRefusedThenRepaired(t *testing.T) {
	dir := t.TempDir()
	dataDir, ids := seedData(t, dir, "6")
	segs, _ := filepath.Glob(filepath.Join(dataDir, "kafka", "partitions", "match-events-*", "*.dat"))
	var victim string
	for _, s := range segs {
		if info, err := os.Stat(s); err == nil && info.Size() > 4096 {
			victim = s
			break
		}
	}
	if victim == "" {
		t.Fatalf("no segment with data among %v", segs)
	}
	raw, _ := os.ReadFile(victim)
	raw[len(raw)/2] ^= 0x01
	if err := os.WriteFile(victim, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	part := "match-events/" + strings.TrimPrefix(filepath.Base(filepath.Dir(victim)), "match-events-")

	stdout, _, code := runArena(t, dir, nil, "broker", "check", "--data-dir", dataDir)
	if code != 1 || !strings.Contains(stdout, "DAMAGED: "+part) || !strings.Contains(stdout, victim) {
		t.Fatalf("broker check: exit %d:\n%s", code, stdout)
	}
	_, stderr, code := runArena(t, dir, nil, "replay", "--data-dir", dataDir, ids[0])
	if code != 1 || !strings.Contains(stderr, "broker data is damaged") || !strings.Contains(stderr, victim) || !strings.Contains(stderr, "arena broker repair") {
		t.Fatalf("start on damaged data: exit %d: %s", code, stderr)
	}
	stdout, stderr, code = runArena(t, dir, nil, "broker", "repair", "--data-dir", dataDir)
	if code != 0 || !strings.Contains(stdout, part+": cut at offset") {
		t.Fatalf("repair: exit %d:\n%s\n%s", code, stdout, stderr)
	}
	t.Logf("repair said: %s", strings.TrimSpace(stdout))
	if stdout, _, code := runArena(t, dir, nil, "broker", "check", "--data-dir", dataDir); code != 0 {
		t.Fatalf("check after repair: exit %d\n%s", code, stdout)
	}
	// The broker starts again and the matches of other partitions replay.
	replayed := 0
	for _, id := range ids {
		if _, _, code := runArena(t, dir, nil, "replay", "--data-dir", dataDir, id); code == 0 {
			replayed++
		}
	}
	if replayed == 0 {
		t.Fatal("no match replays after the repair")
	}
}

func TestServeAllRefusesDamagedDataUnlessToldToRepair(t *testing.T) {
	dir := t.TempDir()
	dataDir, _ := seedData(t, dir, "4")
	segs, _ := filepath.Glob(filepath.Join(dataDir, "kafka", "partitions", "match-events-*", "*.dat"))
	for _, s := range segs {
		if raw, _ := os.ReadFile(s); len(raw) > 4096 {
			raw[len(raw)/2] ^= 0x01
			if err := os.WriteFile(s, raw, 0o644); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	env := []string{"ARENA_KAFKA_EMBEDDED_ADDR=" + freeAddr(t), "ARENA_LLM_PROVIDER=scripted"}
	_, stderr, code := runArena(t, dir, env, "serve", "--all", "--data-dir", dataDir, "--http-addr", freeAddr(t))
	if code != 1 || !strings.Contains(stderr, "broker data is damaged") || !strings.Contains(stderr, "--repair-broker") {
		t.Fatalf("serve --all on damaged data: exit %d:\n%s", code, stderr)
	}
	httpAddr := freeAddr(t)
	p := startArena(t, dir, env, "serve", "--all", "--repair-broker", "--data-dir", dataDir, "--http-addr", httpAddr)
	waitStatus(t, p, "http://"+httpAddr+"/readyz", 200)
	if !strings.Contains(p.Err.String(), "broker data cut") || !strings.Contains(p.Err.String(), "cut at offset") {
		t.Fatalf("no cut in the log:\n%s", p.Err.String())
	}
}
