package config

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// FileName is the config file Load looks for when no --config is given.
const FileName = "arena.yaml"

// flagKeys maps the command-line flags Load honours to their keys.
var flagKeys = map[string]string{
	"http-addr":  "http.addr",
	"brokers":    "kafka.brokers",
	"data-dir":   "data_dir",
	"robots":     "robot.personalities",
	"log-format": "log.format",
	"log-level":  "log.level",
	"model":      "llm.model",
	"base-url":   "llm.base_url",
}

// LoadOptions says where Load finds the configuration besides the defaults
// and the ARENA_* environment.
type LoadOptions struct {
	// File is the --config flag. Empty: ./arena.yaml if it exists, else
	// $XDG_CONFIG_HOME/arena/arena.yaml (os.UserConfigDir) if it exists,
	// else no file.
	File string
	// Flags are the command's flags. Those set on the command line override
	// the file and the environment: http-addr, brokers, data-dir, robots
	// (robot.personalities), log-format and log-level. May be nil.
	Flags *pflag.FlagSet
	// FlagKeys maps further flag names to keys, for flags that only some
	// commands have, e.g. {"addr": "kafka.embedded_addr"} for arena broker.
	FlagKeys map[string]string
}

// Loaded is a loaded and validated configuration.
type Loaded struct {
	Config Config
	File   string // the config file read; "" when there was none
	// Warnings are problems that do not stop arena but that an operator
	// should see, such as an ARENA_* variable that names no key (a typo is
	// otherwise silently ignored). Commands log them at start.
	Warnings []string
}

// Load builds the configuration from, in rising precedence: Default(), the
// config file, ARENA_* environment variables (lists comma-separated), and
// the flags set in opts.Flags; OPENAI_API_KEY fills llm.api_key when nothing
// else does. Unknown keys in the file are errors. The result is validated;
// a *FieldError names the field and where its value came from
// ("arena.yaml:57: robots[2].id: ...", "ARENA_GAME_ROUNDS: game.rounds: ...").
// On error, Loaded.File still says which file was read.
func Load(opts LoadOptions) (Loaded, error) {
	file, err := findFile(opts.File)
	if err != nil {
		return Loaded{}, err
	}
	loaded := Loaded{File: file}
	v := newViper(Default())
	src := sources{file: file, setBy: make(map[string]string)}

	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return loaded, err
		}
		if src.doc, err = parseYAML(data); err != nil {
			return loaded, fileError(file, err)
		}
		if src.doc != nil {
			if err := checkNode(src.doc, reflect.TypeFor[Config](), ""); err != nil {
				err.Source = file
				return loaded, err
			}
		}
		if err := readYAML(v, data); err != nil {
			return loaded, fileError(file, err)
		}
	}

	// Environment: viper looks up ARENA_<KEY> for every key it knows, and
	// it knows them all because newViper registered every default.
	v.SetEnvPrefix("ARENA")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	types := keyTypes()
	if err := checkEnv(types, &src); err != nil {
		return loaded, err
	}

	if err := bindFlags(v, opts, types, &src); err != nil {
		return loaded, err
	}

	var c Config
	if err := decode(v, &c); err != nil {
		// checkNode and checkText should have caught it with a better message.
		return loaded, fmt.Errorf("%s: %w", src.describe(), err)
	}
	if c.LLM.APIKey == "" {
		c.LLM.APIKey = os.Getenv("OPENAI_API_KEY")
	}
	c.normalize()
	c.applyModel(src.modelExplicit())
	loaded.Warnings = unknownEnv(types, os.Environ())
	if err := c.Validate(); err != nil {
		return loaded, src.locate(err)
	}
	loaded.Config = c
	return loaded, nil
}

// checkEnv checks the ARENA_* variables of every key and records which are
// set, for error messages.
func checkEnv(types map[string]reflect.Type, src *sources) error {
	// In key order, so that the same environment always gives the same error.
	keys := slices.Sorted(maps.Keys(types))
	for _, key := range keys {
		t := types[key]
		name := envName(key)
		s := os.Getenv(name)
		if s == "" { // viper ignores empty variables too
			continue
		}
		src.setBy[key] = name
		if problem := checkText(t, s, ""); problem != "" {
			return &FieldError{Source: name, Field: key, Problem: problem}
		}
	}
	// A variable named after a section (ARENA_GAME) would hide all of the
	// section's keys from viper, leaving them zero: refuse it.
	for _, key := range keys {
		for section := parentKey(key); section != ""; section = parentKey(section) {
			if name := envName(section); os.Getenv(name) != "" {
				return &FieldError{Source: name, Field: section, Problem: fmt.Sprintf(
					"is a section, not a value: set its keys instead, e.g. %s", envName(key))}
			}
		}
	}
	return nil
}

// findFile picks the config file: the one named, else the first of
// ./arena.yaml and the user's config directory that exists, else none.
func findFile(named string) (string, error) {
	if named != "" {
		if _, err := os.Stat(named); err != nil {
			return "", fmt.Errorf("config file: %w", err)
		}
		return named, nil
	}
	candidates := []string{FileName}
	if dir, err := os.UserConfigDir(); err == nil {
		candidates = append(candidates, filepath.Join(dir, "arena", FileName))
	}
	for _, path := range candidates {
		info, err := os.Stat(path)
		switch {
		case err == nil && !info.IsDir():
			return path, nil
		case err != nil && !errors.Is(err, os.ErrNotExist):
			// Unreadable rather than absent: better to say so than to
			// quietly run on defaults.
			return "", fmt.Errorf("config file: %w", err)
		}
	}
	return "", nil
}

// newViper returns a viper that knows every key, with its default.
// Registering each leaf matters: viper's AutomaticEnv only consults the
// environment for keys it knows of when unmarshalling.
func newViper(defaults Config) *viper.Viper {
	v := viper.New()
	v.SetConfigType("yaml")
	forEachLeaf(reflect.ValueOf(defaults), "", func(key string, value reflect.Value) {
		v.SetDefault(key, generic(value))
	})
	return v
}

// readYAML gives v the values of a YAML config file.
func readYAML(v *viper.Viper, data []byte) error {
	return v.ReadConfig(bytes.NewReader(data))
}

// decode unmarshals v into c, rejecting keys that Config lacks.
func decode(v *viper.Viper, c *Config) error {
	return v.UnmarshalExact(c, viper.DecodeHook(decodeHook))
}

// keyTypes returns the Go type of every leaf key.
func keyTypes() map[string]reflect.Type {
	types := make(map[string]reflect.Type)
	forEachLeaf(reflect.ValueOf(Config{}), "", func(key string, v reflect.Value) {
		types[key] = v.Type()
	})
	return types
}

// bindFlags makes the flags set on the command line override their keys.
// Flags left at their defaults are not bound: their defaults would shadow
// the file and the environment.
func bindFlags(v *viper.Viper, opts LoadOptions, types map[string]reflect.Type, src *sources) error {
	if opts.Flags == nil {
		return nil
	}
	bind := func(name, key string) error {
		f := opts.Flags.Lookup(name)
		if f == nil || !f.Changed {
			return nil
		}
		t, ok := types[key]
		if !ok {
			return fmt.Errorf("config: flag --%s is bound to unknown key %q", name, key)
		}
		src.setBy[key] = "--" + name
		if f.Value.Type() == "string" {
			if problem := checkText(t, f.Value.String(), ""); problem != "" {
				return &FieldError{Source: "--" + name, Field: key, Problem: problem}
			}
		}
		return v.BindPFlag(key, f)
	}
	for _, keys := range []map[string]string{flagKeys, opts.FlagKeys} {
		for _, name := range slices.Sorted(maps.Keys(keys)) {
			if err := bind(name, keys[name]); err != nil {
				return err
			}
		}
	}
	return nil
}

// normalize lets names that are case-insensitive elsewhere be written in
// any case ("PLAIN", "SCRAM-SHA-256", "INFO").
func (c *Config) normalize() {
	c.Kafka.SASL.Mechanism = strings.ToLower(strings.TrimSpace(c.Kafka.SASL.Mechanism))
	c.LLM.Provider = strings.ToLower(strings.TrimSpace(c.LLM.Provider))
	c.Log.Level = strings.ToLower(strings.TrimSpace(c.Log.Level))
	c.Log.Format = strings.ToLower(strings.TrimSpace(c.Log.Format))
}

// sources remembers where values came from, to say so in errors.
type sources struct {
	file  string
	doc   *yaml.Node        // the file's top-level mapping; nil without a file
	setBy map[string]string // key -> the variable or flag that set it
}

// locate adds to a *FieldError the variable, flag or file line that set
// the field. Other errors pass unchanged.
func (s sources) locate(err error) error {
	var fe *FieldError
	if !errors.As(err, &fe) {
		return err
	}
	located := *fe
	// The nearest enclosing key set by a variable or flag wins, as it won
	// over the file: robots[1] and kafka.brokers[0] are parts of keys.
	for key := strings.Split(fe.Field, "[")[0]; key != ""; key = parentKey(key) {
		if by, ok := s.setBy[key]; ok {
			located.Source = by
			return &located
		}
	}
	if s.doc != nil {
		if line, ok := lineOf(s.doc, fe.Field); ok {
			located.Source, located.Line = s.file, line
		}
	}
	return &located
}

// modelExplicit reports whether llm.model was set by the operator (a
// variable, a flag or the file) rather than left at its default.
func (s sources) modelExplicit() bool {
	if _, ok := s.setBy["llm.model"]; ok {
		return true
	}
	if s.doc == nil {
		return false
	}
	llm := mappingValue(s.doc, "llm")
	if llm == nil {
		return false
	}
	m := mappingValue(llm, "model")
	return m != nil && m.Kind == yaml.ScalarNode && !isNull(m) && strings.TrimSpace(m.Value) != ""
}

// mappingValue returns the value of key in a YAML mapping (keys match
// case-insensitively, as viper's do), or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	n = resolve(n)
	var found *yaml.Node
	for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
		if strings.EqualFold(n.Content[i].Value, key) {
			found = resolve(n.Content[i+1])
		}
	}
	return found
}

// describe names the sources, for errors that cannot name their field.
func (s sources) describe() string {
	if s.file != "" {
		return s.file
	}
	return "config"
}

func parentKey(key string) string {
	i := strings.LastIndex(key, ".")
	if i < 0 {
		return ""
	}
	return key[:i]
}
