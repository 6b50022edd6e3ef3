package config

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// isolate runs a test in an empty working and config directory, with no
// ARENA_* or OPENAI_API_KEY from the developer's shell.
func isolate(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "xdg"))
	t.Setenv("OPENAI_API_KEY", "")
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "ARENA_") {
			t.Setenv(name, "") // viper, like Load, treats empty as unset
		}
	}
	return dir
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustLoad(t *testing.T, opts LoadOptions) Loaded {
	t.Helper()
	l, err := Load(opts)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return l
}

func TestDefault(t *testing.T) {
	d := Default()
	checks := []struct {
		name      string
		got, want any
	}{
		{"http.addr", d.HTTP.Addr, "127.0.0.1:8080"},
		{"kafka.embedded_addr", d.Kafka.EmbeddedAddr, "127.0.0.1:9092"},
		{"kafka.partitions", d.Kafka.Partitions, 6},
		{"kafka.replication_factor", d.Kafka.ReplicationFactor, -1},
		{"kafka.topic_prefix", d.Kafka.TopicPrefix, ""},
		{"data_dir", d.DataDir, "./data"},
		{"llm.provider", d.LLM.Provider, ""},
		{"llm.model", d.LLM.Model, "gpt-4o-mini"},
		{"llm.timeout", d.LLM.Timeout, 20 * time.Second},
		{"llm.max_retries", d.LLM.MaxRetries, 2},
		{"game.seats", d.Game.Seats, 4},
		{"game.humans", d.Game.Humans, 3},
		{"game.rounds", d.Game.Rounds, 5},
		{"game.answer_window", d.Game.AnswerWindow, 45 * time.Second},
		{"game.vote_window", d.Game.VoteWindow, 30 * time.Second},
		{"game.results_pause", d.Game.ResultsPause, 5 * time.Second},
		{"game.lobby_wait", d.Game.LobbyWait, 15 * time.Second},
		{"game.idle_timeout", d.Game.IdleTimeout, 10 * time.Minute},
		{"game.max_answer_chars", d.Game.MaxAnswerChars, 280},
		{"log.level", d.Log.Level, "info"},
		{"log.format", d.Log.Format, "text"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if !d.EmbeddedBroker() {
		t.Error("default should use the embedded broker")
	}
	if err := d.Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}
	// Defaults are copies: editing one Config must not change the next.
	d.Robots[0].ID = "changed"
	d.Prompts[0] = "changed"
	if again := Default(); again.Robots[0].ID == "changed" || again.Prompts[0] == "changed" {
		t.Error("Default() shares its slices between calls")
	}
}

func TestExampleConfig(t *testing.T) {
	ex := ExampleYAML()
	root, err := parseYAML(ex)
	if err != nil {
		t.Fatal(err)
	}
	// The example documents every key, so it is a complete reference.
	for key := range keyTypes() {
		if !hasKey(root, key) {
			t.Errorf("example does not set %s", key)
		}
	}

	isolate(t)
	path := writeFile(t, "example.yaml", string(ex))
	l := mustLoad(t, LoadOptions{File: path})
	// The example's values are the defaults (nil and empty lists alike).
	got, want := l.Config, Default()
	for _, c := range []*Config{&got, &want} {
		c.HTTP.AllowedOrigins = slices.Clip(append([]string{}, c.HTTP.AllowedOrigins...))
		c.Kafka.Brokers = slices.Clip(append([]string{}, c.Kafka.Brokers...))
		c.Robot.Personalities = slices.Clip(append([]string{}, c.Robot.Personalities...))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("loading the example gives\n%+v\nwant Default()\n%+v", got, want)
	}

	c := Default()
	if len(c.Prompts) < 40 {
		t.Errorf("example has %d prompts, want at least 40", len(c.Prompts))
	}
	if len(c.Robots) < 6 {
		t.Errorf("example has %d robots, want at least 6", len(c.Robots))
	}
	for _, id := range []string{"curious-student", "skeptical-scientist", "creative-artist"} {
		if _, ok := c.Personality(id); !ok {
			t.Errorf("example lacks personality %q", id)
		}
	}
	models := map[string]bool{}
	for _, p := range c.Robots {
		models[p.Model] = true
		if len(strings.Fields(p.SystemPrompt)) < 40 {
			t.Errorf("%s: system prompt of %d words is too thin for a persona", p.ID, len(strings.Fields(p.SystemPrompt)))
		}
	}
	if len(models) < 2 {
		t.Errorf("example robots use %d models, want several for A/B comparisons", len(models))
	}
	seen := map[string]bool{}
	for _, p := range c.Prompts {
		if seen[p] {
			t.Errorf("duplicate prompt %q", p)
		}
		seen[p] = true
	}

	// The whole stable is there for the largest match: 8 seats.
	t.Setenv("ARENA_GAME_SEATS", "8")
	if _, err := Load(LoadOptions{}); err != nil {
		t.Errorf("8 seats with the shipped stable: %v", err)
	}
}

// hasKey reports whether a dotted key is set in a YAML mapping.
func hasKey(n *yaml.Node, key string) bool {
	for _, part := range strings.Split(key, ".") {
		var next *yaml.Node
		for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == part {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return false
		}
		n = next
	}
	return true
}

func TestTestdataCopyMatchesExample(t *testing.T) {
	got, err := os.ReadFile("../testdata/config/arena.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, ExampleYAML()) {
		t.Error("testdata/config/arena.yaml differs from config/arena.example.yaml; " +
			"run: cp config/arena.example.yaml testdata/config/arena.yaml")
	}
}

func TestLoadWithoutFile(t *testing.T) {
	isolate(t)
	l := mustLoad(t, LoadOptions{})
	if l.File != "" {
		t.Errorf("File = %q, want none", l.File)
	}
	if !reflect.DeepEqual(l.Config, Default()) {
		t.Errorf("Load() without file or env = %+v, want Default()", l.Config)
	}
}

func TestLoadFindsFile(t *testing.T) {
	dir := isolate(t)
	xdg := writeFile(t, filepath.Join(dir, "xdg", "arena", "arena.yaml"), "game:\n  rounds: 2\n")
	l := mustLoad(t, LoadOptions{})
	if l.File != xdg || l.Config.Game.Rounds != 2 {
		t.Errorf("got file %q rounds %d, want the user config dir's file, rounds 2", l.File, l.Config.Game.Rounds)
	}

	// ./arena.yaml comes before the user config directory.
	writeFile(t, filepath.Join(dir, "arena.yaml"), "game:\n  rounds: 3\n")
	l = mustLoad(t, LoadOptions{})
	if l.File != "arena.yaml" || l.Config.Game.Rounds != 3 {
		t.Errorf("got file %q rounds %d, want arena.yaml, rounds 3", l.File, l.Config.Game.Rounds)
	}

	// --config comes first.
	named := writeFile(t, filepath.Join(dir, "other.yaml"), "game:\n  rounds: 4\n")
	l = mustLoad(t, LoadOptions{File: named})
	if l.File != named || l.Config.Game.Rounds != 4 {
		t.Errorf("got file %q rounds %d, want %s, rounds 4", l.File, l.Config.Game.Rounds, named)
	}

	if _, err := Load(LoadOptions{File: filepath.Join(dir, "missing.yaml")}); err == nil {
		t.Error("a missing --config file should be an error")
	}
}

func TestLoadEmptyFileAndAnchors(t *testing.T) {
	isolate(t)
	empty := writeFile(t, "empty.yaml", "# nothing yet\n")
	if c := mustLoad(t, LoadOptions{File: empty}).Config; !reflect.DeepEqual(c, Default()) {
		t.Errorf("an empty file should give the defaults, got %+v", c)
	}

	// YAML anchors and merge keys share settings between robots.
	anchors := writeFile(t, "anchors.yaml", `
game:
  seats: 3
  humans: 2
robots:
  - &base
    id: a
    name: Ann
    model: gpt-4o
    temperature: 0.5
    system_prompt: You are a person.
    delay: {min: 1s, max: 3s}
    typing_cps: 5
  - <<: *base
    id: b
    name: Bob
`)
	c := mustLoad(t, LoadOptions{File: anchors}).Config
	if len(c.Robots) != 2 || c.Robots[1].ID != "b" || c.Robots[1].Model != "gpt-4o" || c.Robots[1].Delay.Max != 3*time.Second {
		t.Errorf("robots with a merge key = %+v", c.Robots)
	}
}

func TestPrecedence(t *testing.T) {
	isolate(t)
	path := writeFile(t, "arena.yaml", `
http:
  addr: 127.0.0.1:1001
data_dir: /from/file
game:
  rounds: 3
log:
  level: debug
`)
	newFlags := func(args ...string) *pflag.FlagSet {
		fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
		fs.String("http-addr", "127.0.0.1:9999", "")
		fs.String("data-dir", "/flag/default", "")
		fs.StringSlice("brokers", nil, "")
		fs.String("log-level", "warn", "")
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return fs
	}

	l := mustLoad(t, LoadOptions{File: path, Flags: newFlags()})
	c := l.Config
	// Unset flags keep neither their own defaults nor override anything.
	if c.HTTP.Addr != "127.0.0.1:1001" || c.DataDir != "/from/file" || c.Log.Level != "debug" {
		t.Errorf("file: got addr %q data_dir %q level %q", c.HTTP.Addr, c.DataDir, c.Log.Level)
	}
	if c.Game.Rounds != 3 || c.Game.Seats != 4 {
		t.Errorf("file and defaults: got rounds %d seats %d, want 3 and 4", c.Game.Rounds, c.Game.Seats)
	}

	t.Setenv("ARENA_HTTP_ADDR", "127.0.0.1:2002")
	t.Setenv("ARENA_GAME_ROUNDS", "4")
	t.Setenv("ARENA_GAME_SEATS", "6")
	c = mustLoad(t, LoadOptions{File: path, Flags: newFlags()}).Config
	if c.HTTP.Addr != "127.0.0.1:2002" || c.Game.Rounds != 4 || c.Game.Seats != 6 {
		t.Errorf("env: got addr %q rounds %d seats %d", c.HTTP.Addr, c.Game.Rounds, c.Game.Seats)
	}

	c = mustLoad(t, LoadOptions{File: path, Flags: newFlags(
		"--http-addr=127.0.0.1:3003", "--brokers=k1:9092,k2:9092", "--log-level=error",
	)}).Config
	if c.HTTP.Addr != "127.0.0.1:3003" || c.Log.Level != "error" {
		t.Errorf("flags: got addr %q level %q", c.HTTP.Addr, c.Log.Level)
	}
	if want := []string{"k1:9092", "k2:9092"}; !slices.Equal(c.Kafka.Brokers, want) {
		t.Errorf("flags: brokers = %q, want %q", c.Kafka.Brokers, want)
	}
	if c.Game.Rounds != 4 || c.DataDir != "/from/file" {
		t.Errorf("flags changed keys they do not name: rounds %d data_dir %q", c.Game.Rounds, c.DataDir)
	}
}

func TestExtraFlagKeys(t *testing.T) {
	isolate(t)
	fs := pflag.NewFlagSet("broker", pflag.ContinueOnError)
	fs.String("addr", "", "")
	fs.String("robots", "", "")
	if err := fs.Parse([]string{"--addr=127.0.0.1:19092", "--robots=gamer-teen, dad-joker"}); err != nil {
		t.Fatal(err)
	}
	c := mustLoad(t, LoadOptions{Flags: fs, FlagKeys: map[string]string{"addr": "kafka.embedded_addr"}}).Config
	if c.Kafka.EmbeddedAddr != "127.0.0.1:19092" {
		t.Errorf("embedded_addr = %q", c.Kafka.EmbeddedAddr)
	}
	if want := []string{"gamer-teen", "dad-joker"}; !slices.Equal(c.Robot.Personalities, want) {
		t.Errorf("robot.personalities = %q, want %q", c.Robot.Personalities, want)
	}
}

func TestEnv(t *testing.T) {
	isolate(t)
	t.Setenv("ARENA_KAFKA_BROKERS", "b1:9092, b2:9092,,b3:9092")
	t.Setenv("ARENA_HTTP_ALLOWED_ORIGINS", "https://a.example,https://b.example")
	t.Setenv("ARENA_ROBOT_PERSONALITIES", "curious-student,gamer-teen")
	t.Setenv("ARENA_GAME_ANSWER_WINDOW", "1m30s")
	t.Setenv("ARENA_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
	t.Setenv("ARENA_KAFKA_SASL_USERNAME", "arena")
	t.Setenv("ARENA_KAFKA_SASL_PASSWORD", "s3cret")
	t.Setenv("ARENA_KAFKA_TLS_ENABLED", "true")
	t.Setenv("ARENA_LLM_TEMPERATURE", "ignored: not a key")

	c := mustLoad(t, LoadOptions{}).Config
	if want := []string{"b1:9092", "b2:9092", "b3:9092"}; !slices.Equal(c.Kafka.Brokers, want) {
		t.Errorf("brokers = %q, want %q", c.Kafka.Brokers, want)
	}
	if want := []string{"b1:9092", "b2:9092", "b3:9092"}; !slices.Equal(c.BrokerAddrs(), want) || c.EmbeddedBroker() {
		t.Errorf("BrokerAddrs() = %q, EmbeddedBroker() = %v", c.BrokerAddrs(), c.EmbeddedBroker())
	}
	if want := []string{"https://a.example", "https://b.example"}; !slices.Equal(c.HTTP.AllowedOrigins, want) {
		t.Errorf("allowed_origins = %q, want %q", c.HTTP.AllowedOrigins, want)
	}
	if want := []string{"curious-student", "gamer-teen"}; !slices.Equal(c.Robot.Personalities, want) {
		t.Errorf("robot.personalities = %q, want %q", c.Robot.Personalities, want)
	}
	if c.Game.AnswerWindow != 90*time.Second {
		t.Errorf("answer_window = %v, want 1m30s", c.Game.AnswerWindow)
	}
	if c.Kafka.SASL.Mechanism != SASLScram512 || c.Kafka.SASL.Password != "s3cret" || !c.Kafka.TLS.Enabled {
		t.Errorf("sasl/tls from env = %+v %+v", c.Kafka.SASL, c.Kafka.TLS)
	}
}

func TestOpenAIAPIKey(t *testing.T) {
	isolate(t)
	c := mustLoad(t, LoadOptions{}).Config
	if c.LLM.APIKey != "" || c.LLM.EffectiveProvider() != ProviderScripted {
		t.Errorf("no key: api_key %q, provider %q; want none and scripted", c.LLM.APIKey, c.LLM.EffectiveProvider())
	}

	t.Setenv("OPENAI_API_KEY", "sk-from-openai-env")
	c = mustLoad(t, LoadOptions{}).Config
	if c.LLM.APIKey != "sk-from-openai-env" || c.LLM.EffectiveProvider() != ProviderOpenAI {
		t.Errorf("OPENAI_API_KEY: api_key %q, provider %q", c.LLM.APIKey, c.LLM.EffectiveProvider())
	}

	// arena's own settings win over the general variable.
	t.Setenv("ARENA_LLM_API_KEY", "sk-from-arena-env")
	c = mustLoad(t, LoadOptions{}).Config
	if c.LLM.APIKey != "sk-from-arena-env" {
		t.Errorf("ARENA_LLM_API_KEY: api_key %q", c.LLM.APIKey)
	}
}

// robotYAML is a valid robot as an item of the robots list (6 lines).
func robotYAML(id string) string {
	return "  - id: " + id + `
    name: Robot
    temperature: 0.5
    system_prompt: You are a person.
    delay: {min: 1s, max: 2s}
    typing_cps: 5
`
}

func TestLoadErrors(t *testing.T) {
	three := "robots:\n" + robotYAML("a") + robotYAML("b") + robotYAML("c")
	cases := []struct {
		name, file, want string
	}{
		{"unknown robot field", three + "    colour: red\n",
			"arena.yaml:20: robots[2].colour: unknown field"},
		{"unknown top-level key", "http:\n  addr: 127.0.0.1:1\nrobotz: []\n",
			"arena.yaml:3: robotz: unknown field"},
		{"negative window", "game:\n  answer_window: -5s\n",
			"arena.yaml:2: game.answer_window: must be positive, got -5s"},
		{"duplicate robot id", "robots:\n" + robotYAML("a") + robotYAML("b") + robotYAML("a"),
			`arena.yaml:14: robots[2].id: duplicate robot id "a"`},
		{"bad duration", "game:\n  rounds: 5\n  vote_window: abc\n",
			`arena.yaml:3: game.vote_window: invalid duration "abc"`},
		{"duration without unit", "llm:\n  timeout: 20\n",
			`arena.yaml:2: llm.timeout: invalid duration "20" (missing unit`},
		{"unknown SASL mechanism", "kafka:\n  sasl:\n    mechanism: gssapi\n",
			`arena.yaml:3: kafka.sasl.mechanism: unknown mechanism "gssapi" (want plain, scram-sha-256, scram-sha-512, aws-msk-iam)`},
		{"SASL without password", "kafka:\n  sasl:\n    mechanism: plain\n    username: u\n",
			`kafka.sasl.password: required for mechanism "plain"`},
		{"humans equal to seats", "game:\n  seats: 4\n  humans: 4\n",
			"arena.yaml:3: game.humans: must be within 1..3 (game.seats - 1), got 4"},
		{"too many seats", "game:\n  seats: 9\n",
			"arena.yaml:2: game.seats: must be within 2..8, got 9"},
		{"too few prompts", "prompts:\n  - one?\n  - two?\n",
			"arena.yaml:1: prompts: need at least 5 prompts for 5 rounds"},
		{"unknown provider", "llm:\n  provider: foo\n",
			`arena.yaml:2: llm.provider: unknown provider "foo"`},
		{"unknown personality", "robot:\n  personalities: [curious-student, nobody]\n",
			`arena.yaml:2: robot.personalities[1]: unknown personality "nobody"`},
		{"cert without key", "kafka:\n  tls:\n    enabled: true\n    cert_file: client.pem\n",
			"kafka.tls.key_file: required when kafka.tls.cert_file is set"},
		{"delay min above max", "robots:\n" + strings.Replace(robotYAML("a"), "{min: 1s, max: 2s}", "{min: 10s, max: 2s}", 1) + robotYAML("b") + robotYAML("c"),
			"arena.yaml:6: robots[0].delay: min 10s is greater than max 2s"},
		{"temperature out of range", "robots:\n" + robotYAML("a") + strings.Replace(robotYAML("b"), "0.5", "2.5", 1) + robotYAML("c"),
			"arena.yaml:10: robots[1].temperature: must be within 0..2"},
		{"bad robot id", "robots:\n" + robotYAML("Curious_Student"),
			`arena.yaml:2: robots[0].id: "Curious_Student" must be lowercase`},
		{"too few robots", "robots:\n" + robotYAML("a") + robotYAML("b"),
			"arena.yaml:1: robots: need at least 3 robots for 4 seats, have 2"},
		{"no robots", "robots: []\n",
			"arena.yaml:1: robots: must not be empty"},
		{"zero typing speed", "robots:\n" + strings.Replace(robotYAML("a"), "typing_cps: 5", "typing_cps: 0", 1),
			"arena.yaml:7: robots[0].typing_cps: must be positive, got 0"},
		{"bad http addr", "http:\n  addr: localhost\n",
			`arena.yaml:2: http.addr: want host:port, got "localhost"`},
		{"bad log format", "log:\n  format: xml\n",
			`arena.yaml:2: log.format: unknown format "xml" (want text or json)`},
		{"max answer chars", "game:\n  max_answer_chars: 0\n",
			"arena.yaml:2: game.max_answer_chars: must be within 1..2000, got 0"},
		{"section is a scalar", "game: 5\n",
			"arena.yaml:1: game: must be a mapping of keys"},
		{"integer is text", "game:\n  rounds: five\n",
			`arena.yaml:2: game.rounds: invalid integer "five"`},
		{"duplicate key", "game:\n  rounds: 3\n  rounds: 4\n",
			"arena.yaml:3: game.rounds: duplicate key (first at line 2)"},
		{"not yaml", "game:\n  rounds: [3\n",
			"arena.yaml:1: did not find expected"},
		{"top level a list", "- a\n- b\n",
			"arena.yaml:1: the top level must be a mapping of keys"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := isolate(t)
			path := writeFile(t, filepath.Join(dir, "arena.yaml"), tc.file)
			_, err := Load(LoadOptions{File: path})
			if err == nil {
				t.Fatalf("Load succeeded, want error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\ndoes not contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is not one line", err)
			}
		})
	}
}

func TestLoadErrorsNameTheirSource(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		file string
		want string
	}{
		{"bad duration in env", map[string]string{"ARENA_GAME_VOTE_WINDOW": "abc"}, "",
			`ARENA_GAME_VOTE_WINDOW: game.vote_window: invalid duration "abc"`},
		{"invalid value in env", map[string]string{"ARENA_GAME_ROUNDS": "0"}, "",
			"ARENA_GAME_ROUNDS: game.rounds: must be at least 1, got 0"},
		{"env overrides a good file value", map[string]string{"ARENA_GAME_ANSWER_WINDOW": "-5s"}, "game:\n  answer_window: 45s\n",
			"ARENA_GAME_ANSWER_WINDOW: game.answer_window: must be positive, got -5s"},
		{"env list item", map[string]string{"ARENA_KAFKA_BROKERS": "b1:9092,nowhere"}, "",
			`ARENA_KAFKA_BROKERS: kafka.brokers[1]: want host:port, got "nowhere"`},
		{"robots from env", map[string]string{"ARENA_ROBOTS": "x"}, "",
			"ARENA_ROBOTS: robots: cannot be given as text"},
		{"section in env", map[string]string{"ARENA_GAME": "x"}, "",
			"ARENA_GAME: game: is a section, not a value: set its keys instead, e.g. ARENA_GAME_"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := isolate(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			opts := LoadOptions{}
			if tc.file != "" {
				opts.File = writeFile(t, filepath.Join(dir, "arena.yaml"), tc.file)
			}
			_, err := Load(opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}

	isolate(t)
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.String("http-addr", "", "")
	if err := fs.Parse([]string{"--http-addr=nowhere"}); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(LoadOptions{Flags: fs}); err == nil || !strings.Contains(err.Error(), `--http-addr: http.addr: want host:port, got "nowhere"`) {
		t.Errorf("bad flag: error %v", err)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Config)
		want   string // "" for valid
	}{
		{"default", func(*Config) {}, ""},
		{"aws-msk-iam with the default chain", func(c *Config) { c.Kafka.SASL.Mechanism = SASLAWSMSKIAM }, ""},
		{"aws-msk-iam with half a key", func(c *Config) {
			c.Kafka.SASL = SASL{Mechanism: SASLAWSMSKIAM, Username: "AKIA"}
		}, "kafka.sasl.password: required with kafka.sasl.username"},
		{"session token without msk", func(c *Config) {
			c.Kafka.SASL = SASL{Mechanism: SASLPlain, Username: "u", Password: "p", SessionToken: "t"}
		}, `kafka.sasl.session_token: only used with mechanism "aws-msk-iam"`},
		{"credentials without mechanism", func(c *Config) { c.Kafka.SASL.Username = "u" },
			"kafka.sasl.mechanism: required when kafka.sasl.username or password is set"},
		{"key without cert", func(c *Config) { c.Kafka.TLS = TLS{Enabled: true, KeyFile: "k.pem"} },
			"kafka.tls.cert_file: required when kafka.tls.key_file is set"},
		{"tls files without tls", func(c *Config) { c.Kafka.TLS.CAFile = "ca.pem" },
			"kafka.tls.enabled: must be true when kafka.tls.ca_file is set"},
		{"mutual tls", func(c *Config) {
			c.Kafka.TLS = TLS{Enabled: true, CertFile: "c.pem", KeyFile: "k.pem"}
		}, ""},
		{"replication factor zero", func(c *Config) { c.Kafka.ReplicationFactor = 0 },
			"kafka.replication_factor: must be -1 (the broker's default) or at least 1, got 0"},
		{"bad topic prefix", func(c *Config) { c.Kafka.TopicPrefix = "a/b" }, "kafka.topic_prefix: must contain only"},
		{"zero partitions", func(c *Config) { c.Kafka.Partitions = 0 }, "kafka.partitions: must be at least 1, got 0"},
		{"bad base url", func(c *Config) { c.LLM.BaseURL = "localhost:11434" }, "llm.base_url: want an http:// or https:// URL"},
		{"ollama base url", func(c *Config) { c.LLM.BaseURL = "http://localhost:11434/v1"; c.LLM.Provider = ProviderOpenAI }, ""},
		{"no data dir", func(c *Config) { c.DataDir = "" }, "data_dir: must not be empty"},
		{"zero timeout", func(c *Config) { c.LLM.Timeout = 0 }, "llm.timeout: must be positive, got 0s"},
		{"negative retries", func(c *Config) { c.LLM.MaxRetries = -1 }, "llm.max_retries: must not be negative"},
		{"negative results pause", func(c *Config) { c.Game.ResultsPause = -time.Second }, "game.results_pause: must not be negative, got -1s"},
		{"no results pause", func(c *Config) { c.Game.ResultsPause = 0 }, ""},
		{"zero rounds", func(c *Config) { c.Game.Rounds = 0 }, "game.rounds: must be at least 1, got 0"},
		{"one seat", func(c *Config) { c.Game.Seats = 1 }, "game.seats: must be within 2..8, got 1"},
		{"no humans", func(c *Config) { c.Game.Humans = 0 }, "game.humans: must be within 1..3"},
		{"empty prompt", func(c *Config) { c.Prompts[3] = " " }, "prompts[3]: must not be empty"},
		{"nameless robot", func(c *Config) { c.Robots[1].Name = "" }, "robots[1].name: must not be empty"},
		{"robot without prompt", func(c *Config) { c.Robots[2].SystemPrompt = "" }, "robots[2].system_prompt: must not be empty"},
		{"robot without model uses llm.model", func(c *Config) { c.Robots[0].Model = "" }, ""},
		{"negative delay", func(c *Config) { c.Robots[0].Delay.Min = -time.Second }, "robots[0].delay.min: must not be negative"},
		{"unknown log level", func(c *Config) { c.Log.Level = "verbose" }, `log.level: unknown level "verbose" (want debug, info, warn, error)`},
		{"empty origin", func(c *Config) { c.HTTP.AllowedOrigins = []string{""} }, "http.allowed_origins[0]: must not be empty"},
		{"bad port", func(c *Config) { c.HTTP.Addr = "127.0.0.1:http" }, `http.addr: invalid port "http"`},
		{"any interface", func(c *Config) { c.HTTP.Addr = ":8080" }, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.change(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestFieldErrorIsTyped(t *testing.T) {
	c := Default()
	c.Game.VoteWindow = 0
	fe, ok := c.Validate().(*FieldError)
	if !ok || fe.Field != "game.vote_window" || fe.Source != "" {
		t.Errorf("Validate() = %#v, want a *FieldError for game.vote_window", fe)
	}
}

func TestStableHelpers(t *testing.T) {
	c := Default()
	p, ok := c.Personality("skeptical-scientist")
	if !ok || p.ID != "skeptical-scientist" || p.Name == "" {
		t.Errorf("Personality(skeptical-scientist) = %+v, %v", p, ok)
	}
	if _, ok := c.Personality("nobody"); ok {
		t.Error("Personality(nobody) found someone")
	}

	if got := c.ActivePersonalities(); len(got) != len(c.Robots) {
		t.Errorf("ActivePersonalities() with no filter = %d robots, want all %d", len(got), len(c.Robots))
	}
	c.Robot.Personalities = []string{"creative-artist", "curious-student"}
	var ids []string
	for _, p := range c.ActivePersonalities() {
		ids = append(ids, p.ID)
	}
	// The stable's order, whatever the filter's.
	if want := []string{"curious-student", "creative-artist"}; !slices.Equal(ids, want) {
		t.Errorf("ActivePersonalities() = %q, want %q", ids, want)
	}

	if !c.EmbeddedBroker() || !slices.Equal(c.BrokerAddrs(), []string{"127.0.0.1:9092"}) {
		t.Errorf("no brokers: EmbeddedBroker %v, BrokerAddrs %q", c.EmbeddedBroker(), c.BrokerAddrs())
	}
}

func TestRedacted(t *testing.T) {
	c := Default()
	c.Kafka.SASL = SASL{Mechanism: SASLAWSMSKIAM, Username: "AKIAEXAMPLE", Password: "aws-secret", SessionToken: "aws-token"}
	c.LLM.APIKey = "sk-secret"
	c.LLM.BaseURL = "https://user:url-secret@llm.example/v1"

	r := c.Redacted()
	dump := strings.Join([]string{r.Kafka.SASL.Password, r.Kafka.SASL.SessionToken, r.LLM.APIKey, r.LLM.BaseURL}, " ")
	for _, secret := range []string{"aws-secret", "aws-token", "sk-secret", "url-secret"} {
		if strings.Contains(dump, secret) {
			t.Errorf("Redacted() shows %q", secret)
		}
	}
	if r.Kafka.SASL.Password != "[redacted]" || r.LLM.APIKey != "[redacted]" {
		t.Errorf("Redacted() password %q api_key %q, want [redacted]", r.Kafka.SASL.Password, r.LLM.APIKey)
	}
	if r.Kafka.SASL.Username != "AKIAEXAMPLE" || !strings.Contains(r.LLM.BaseURL, "llm.example") {
		t.Errorf("Redacted() hid more than secrets: %+v %q", r.Kafka.SASL, r.LLM.BaseURL)
	}
	if c.LLM.APIKey != "sk-secret" {
		t.Error("Redacted() changed the original")
	}
	// An unset secret stays visibly unset.
	if got := Default().Redacted().LLM.APIKey; got != "" {
		t.Errorf("Redacted() of an empty key = %q, want empty", got)
	}
}
