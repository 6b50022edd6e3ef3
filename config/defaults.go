package config

import (
	_ "embed"
	"fmt"
	"slices"
	"sync"
	"time"
)

// exampleYAML is shipped in the binary so that the robots and prompts it
// defines are the defaults: arena plays with no config file at all.
//
//go:embed arena.example.yaml
var exampleYAML []byte

// ExampleYAML returns the example configuration: every key at its default,
// with comments. `arena config` can print it as a starting point.
func ExampleYAML() []byte { return slices.Clone(exampleYAML) }

// exampleStable decodes the embedded example once; its robots and prompts
// are the default stable and prompt pack.
var exampleStable = sync.OnceValue(func() Config {
	// Zero defaults: every key is in the file, and the environment is
	// not consulted, so defaults never depend on where arena runs.
	v := newViper(Config{})
	err := readYAML(v, exampleYAML)
	var c Config
	if err == nil {
		err = decode(v, &c)
	}
	c.applyModel(false)
	if err != nil {
		// The file is embedded at build time and covered by tests.
		panic(fmt.Sprintf("config: embedded arena.example.yaml: %v", err))
	}
	return c
})

// Default returns the configuration used for every key that no file,
// environment variable or flag sets.
func Default() Config {
	stable := exampleStable()
	return Config{
		HTTP: HTTP{Addr: "127.0.0.1:8080", Timeouts: defaultTimeouts(), Limits: defaultLimits()},
		Kafka: Kafka{
			EmbeddedAddr:      "127.0.0.1:9092",
			Partitions:        6,
			ReplicationFactor: -1,
		},
		DataDir: "./data",
		Robot:   Robot{Learn: true, HumanTiming: true},
		LLM: LLM{
			Model:      DefaultModel,
			Timeout:    20 * time.Second,
			MaxRetries: 2,
		},
		Game: Game{
			Seats:          4,
			Humans:         3,
			Rounds:         5,
			AnswerWindow:   45 * time.Second,
			VoteWindow:     30 * time.Second,
			ResultsPause:   5 * time.Second,
			LobbyWait:      15 * time.Second,
			IdleTimeout:    10 * time.Minute,
			MaxAnswerChars: 280,
		},
		// Copies, so a caller that edits its Config cannot change the defaults.
		Robots:  slices.Clone(stable.Robots),
		Prompts: slices.Clone(stable.Prompts),
		Log:     Log{Level: "info", Format: "text"},
	}
}
