package app

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// shownConfig runs `arena config show` and returns the effective config as
// a tree.
func shownConfig(t *testing.T, dir string, env []string, args ...string) map[string]any {
	t.Helper()
	stdout, stderr, code := runArena(t, dir, env, append([]string{"config", "show"}, args...)...)
	if code != 0 {
		t.Fatalf("config show: exit %d: %s", code, stderr)
	}
	var tree map[string]any
	if err := yaml.Unmarshal([]byte(stdout), &tree); err != nil {
		t.Fatalf("config show printed no YAML: %v\n%s", err, stdout)
	}
	return tree
}

// lookup follows a dotted key through the tree and renders the value.
func lookup(t *testing.T, tree map[string]any, key string) string {
	t.Helper()
	var v any = tree
	for _, part := range strings.Split(key, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("key %s: %v is not a section", key, v)
		}
		v = m[part]
	}
	switch v := v.(type) {
	case []any:
		var parts []string
		for _, e := range v {
			parts = append(parts, e.(string))
		}
		return strings.Join(parts, ",")
	default:
		b, _ := yaml.Marshal(v)
		return strings.TrimSpace(string(b))
	}
}

// The layers are checked through the real binary: a file, ARENA_* env and
// flags each override the one before, key by key.
func TestConfigPrecedenceAtTheCommandLine(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "custom.yaml", `
http:
  addr: 127.0.0.1:7001
data_dir: /from/file
kafka:
  brokers: [file-broker:9092]
game:
  rounds: 3
  answer_window: 20s
`)
	env := []string{"ARENA_HTTP_ADDR=127.0.0.1:7002", "ARENA_KAFKA_BROKERS=env-a:9092,env-b:9092", "ARENA_GAME_ROUNDS=4"}
	flags := []string{"--http-addr", "127.0.0.1:7003", "--brokers", "flag-a:9092,flag-b:9092"}

	tests := []struct {
		name  string
		env   []string
		args  []string
		wants map[string]string
	}{
		{"defaults", nil, nil, map[string]string{
			"http.addr": "127.0.0.1:8080", "data_dir": "./data", "kafka.brokers": "", "game.rounds": "5", "game.answer_window": "45s",
			"kafka.embedded_addr": "127.0.0.1:9092",
		}},
		{"file over defaults", nil, []string{"--config", file}, map[string]string{
			"http.addr": "127.0.0.1:7001", "data_dir": "/from/file", "kafka.brokers": "file-broker:9092", "game.rounds": "3", "game.answer_window": "20s",
		}},
		{"env over file", env, []string{"--config", file}, map[string]string{
			"http.addr": "127.0.0.1:7002", "kafka.brokers": "env-a:9092,env-b:9092", "game.rounds": "4",
			"data_dir": "/from/file", "game.answer_window": "20s", // not in the env: the file still counts
		}},
		{"flags over env", env, append([]string{"--config", file, "--data-dir", "/from/flag"}, flags...), map[string]string{
			"http.addr": "127.0.0.1:7003", "kafka.brokers": "flag-a:9092,flag-b:9092", "data_dir": "/from/flag",
			"game.rounds": "4", // no flag for it: the env wins
		}},
		{"the file as argument", nil, []string{file}, map[string]string{"http.addr": "127.0.0.1:7001"}},
		{"./arena.yaml found by default", nil, nil, nil}, // filled in below
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wd := t.TempDir()
			wants := tt.wants
			if wants == nil {
				writeFile(t, wd, "arena.yaml", "game:\n  seats: 6\n")
				wants = map[string]string{"game.seats": "6", "game.rounds": "5"}
			}
			tree := shownConfig(t, wd, tt.env, tt.args...)
			for key, want := range wants {
				if got := lookup(t, tree, key); got != want {
					t.Errorf("%s = %q, want %q", key, got, want)
				}
			}
		})
	}
}

func TestConfigShowRedactsSecrets(t *testing.T) {
	stdout, stderr, code := runArena(t, t.TempDir(),
		[]string{"OPENAI_API_KEY=sk-very-secret", "ARENA_KAFKA_SASL_MECHANISM=plain", "ARENA_KAFKA_SASL_USERNAME=u", "ARENA_KAFKA_SASL_PASSWORD=hunter2"},
		"config", "show")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Contains(stdout, "sk-very-secret") || strings.Contains(stdout, "hunter2") {
		t.Fatalf("config show printed a secret:\n%s", stdout)
	}
	if !strings.Contains(stdout, "[redacted]") {
		t.Fatalf("secrets not marked as redacted:\n%s", stdout)
	}
}

const goodRobot = `
  - id: %s
    name: Maya
    model: gpt-4o-mini
    temperature: 0.9
    system_prompt: You are a curious student.
    delay: {min: 1s, max: 2s}
    typing_cps: 6
`

func robotsYAML(ids ...string) string {
	s := "robots:"
	for _, id := range ids {
		s += strings.ReplaceAll(goodRobot, "%s", id)
	}
	return s
}

func TestBadConfigIsRefusedNamingTheField(t *testing.T) {
	tests := []struct {
		name   string
		file   string
		env    []string
		wantIn []string // all must be in the one-line error
	}{
		{"unknown robot field", strings.Replace(robotsYAML("a", "b", "c"), "typing_cps: 6", "typing_cps: 6\n    colour: red", 1),
			nil, []string{"robots[0].colour", "unknown field"}},
		{"negative window", "game:\n  answer_window: -5s\n", nil, []string{"game.answer_window", "-5s"}},
		{"bad duration", "game:\n  vote_window: soon\n", nil, []string{"game.vote_window", `invalid duration "soon"`}},
		{"duplicate robot id", robotsYAML("twin", "other", "twin"), nil, []string{"robots[2].id", "twin"}},
		{"unknown SASL mechanism", "kafka:\n  sasl:\n    mechanism: gssapi\n", nil, []string{"kafka.sasl.mechanism", "gssapi"}},
		{"zero rounds", "game:\n  rounds: 0\n", nil, []string{"game.rounds", "at least 1"}},
		{"unknown top-level key", "colour: red\n", nil, []string{"colour", "unknown field"}},
		{"not YAML", "game: [\n", nil, []string{"bad.yaml"}},
		{"bad value from the environment", "", []string{"ARENA_GAME_ROUNDS=many"}, []string{"ARENA_GAME_ROUNDS", "game.rounds"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeFile(t, dir, "bad.yaml", tt.file)
			stdout, stderr, code := runArena(t, dir, tt.env, "config", "validate", path)
			if code == 0 {
				t.Fatalf("exit 0 for a bad config; stdout %q", stdout)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "arena: ") {
				t.Errorf("stderr %q: want one line starting with \"arena: \"", stderr)
			}
			for _, want := range tt.wantIn {
				if !strings.Contains(stderr, want) {
					t.Errorf("error %q does not say %q", strings.TrimSpace(stderr), want)
				}
			}
		})
	}
}

func TestConfigValidateAcceptsGoodConfigs(t *testing.T) {
	for _, file := range []string{"../testdata/config/arena.yaml", "../config/arena.example.yaml"} {
		abs, err := filepath.Abs(file)
		if err != nil {
			t.Fatal(err)
		}
		stdout, stderr, code := runArena(t, t.TempDir(), nil, "config", "validate", abs)
		if code != 0 || !strings.HasPrefix(stdout, "config ok: ") {
			t.Errorf("validate %s: exit %d, stdout %q, stderr %q", file, code, stdout, stderr)
		}
	}
	// With no file at all, the built-in defaults are valid.
	stdout, _, code := runArena(t, t.TempDir(), nil, "config", "validate")
	if code != 0 || !strings.Contains(stdout, "4 seats, 5 rounds") {
		t.Errorf("validate with defaults: exit %d, %q", code, stdout)
	}
}

func TestConfigExampleIsValid(t *testing.T) {
	dir := t.TempDir()
	stdout, _, code := runArena(t, dir, nil, "config", "example")
	if code != 0 || !strings.Contains(stdout, "robots:") {
		t.Fatalf("config example: exit %d", code)
	}
	path := writeFile(t, dir, "example.yaml", stdout)
	if _, stderr, code := runArena(t, dir, nil, "config", "validate", path); code != 0 {
		t.Fatalf("the printed example does not validate: %s", stderr)
	}
}

// A bad config stops serve before anything starts: no data directory, no
// listener, no log line of a module.
func TestServeWithBadConfigFailsFast(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"bad file", []string{"serve", "--all", "--config", "bad.yaml"}, nil, "game.answer_window"},
		{"bad env", []string{"serve", "--all"}, []string{"ARENA_KAFKA_PARTITIONS=-3"}, "kafka.partitions"},
		{"bad flag value", []string{"serve", "--all", "--http-addr", "nonsense"}, nil, "http.addr"},
		{"unknown role", []string{"serve", "--role=gateway,referee"}, nil, `unknown role "referee"`},
		{"neither --all nor --role", []string{"serve"}, nil, "pass either --all or --role"},
		{"both --all and --role", []string{"serve", "--all", "--role=robot"}, nil, "pass either --all or --role"},
		{"unknown flag", []string{"serve", "--al"}, nil, "unknown flag: --al"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "bad.yaml", "game:\n  answer_window: -1s\n")
			httpAddr, brokerAddr := freeAddr(t), freeAddr(t)
			env := append([]string{"ARENA_HTTP_ADDR=" + httpAddr, "ARENA_KAFKA_EMBEDDED_ADDR=" + brokerAddr,
				"ARENA_DATA_DIR=" + filepath.Join(dir, "data")}, tt.env...)
			stdout, stderr, code := runArena(t, dir, env, tt.args...)
			if code != 1 {
				t.Fatalf("exit %d, want 1; stderr %q", code, stderr)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q: want one line naming %q", stderr, tt.want)
			}
			if stdout != "" {
				t.Errorf("stdout %q", stdout)
			}
			if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
				t.Errorf("data dir touched (%v): something started", err)
			}
			for _, addr := range []string{httpAddr, brokerAddr} {
				if ln, err := net.Listen("tcp", addr); err != nil {
					t.Errorf("%s not free after a failed start: %v", addr, err)
				} else {
					ln.Close()
				}
			}
		})
	}
}

func TestVersion(t *testing.T) {
	stdout, stderr, code := runArena(t, t.TempDir(), nil, "version")
	if code != 0 || stdout != "arena "+testVersion+"\n" || stderr != "" {
		t.Fatalf("version: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// In-process, the version comes from the build (dev without a stamp).
	if Version() == "" {
		t.Fatal("empty version")
	}
	if _, _, code := runArena(t, t.TempDir(), nil, "version", "extra"); code != 1 {
		t.Fatalf("version with an argument: exit %d, want 1", code)
	}
}

// Unknown commands and flags fail with one line, not a usage dump.
func TestUnknownCommandIsOneLine(t *testing.T) {
	_, stderr, code := runArena(t, t.TempDir(), nil, "serv")
	if code != 1 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, `unknown command "serv"`) {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
