package config

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Validate checks the whole configuration and returns the first problem as
// a *FieldError naming the field, e.g.
// `game.answer_window: must be positive, got -5s`. Load calls it, and adds
// the file and line (or the variable) the bad value came from.
func (c Config) Validate() error {
	checks := []func() *FieldError{
		c.HTTP.validate,
		c.Kafka.validate,
		c.validateDataDir,
		c.LLM.validate,
		c.Game.validate,
		c.validateRobots,
		c.validatePrompts,
		c.Log.validate,
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (h HTTP) validate() *FieldError {
	if err := checkHostPort("http.addr", h.Addr); err != nil {
		return err
	}
	if h.AdminAddr != "" {
		if err := checkHostPort("http.admin_addr", h.AdminAddr); err != nil {
			return err
		}
	}
	for i, o := range h.AllowedOrigins {
		if strings.TrimSpace(o) == "" {
			return fieldErr(fmt.Sprintf("http.allowed_origins[%d]", i), "must not be empty")
		}
	}
	if err := h.Timeouts.validate(); err != nil {
		return err
	}
	if err := h.Limits.validate(); err != nil {
		return err
	}
	if h.PublicURL != "" {
		u, err := url.Parse(h.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return fieldErr("http.public_url", "want the URL players open, e.g. http://192.168.1.20:8080 or https://arena.example.org, got %q", h.PublicURL)
		}
	}
	if h.DrainDelay < 0 {
		return fieldErr("http.drain_delay", "must not be negative, got %v", h.DrainDelay)
	}
	return nil
}

// topicPrefixRE is what Kafka allows in a topic name.
var topicPrefixRE = regexp.MustCompile(`^[a-zA-Z0-9._-]*$`)

// saslMechanisms are those the kafka module can speak, in the order error
// messages list them.
var saslMechanisms = []string{SASLPlain, SASLScram256, SASLScram512, SASLAWSMSKIAM}

func (k Kafka) validate() *FieldError {
	for i, b := range k.Brokers {
		if err := checkHostPort(fmt.Sprintf("kafka.brokers[%d]", i), b); err != nil {
			return err
		}
	}
	if err := checkHostPort("kafka.embedded_addr", k.EmbeddedAddr); err != nil {
		return err
	}
	if !topicPrefixRE.MatchString(k.TopicPrefix) {
		return fieldErr("kafka.topic_prefix", `must contain only letters, digits, ".", "_" and "-", got %q`, k.TopicPrefix)
	}
	if k.Partitions < 1 {
		return fieldErr("kafka.partitions", "must be at least 1, got %d", k.Partitions)
	}
	if k.ReplicationFactor != -1 && k.ReplicationFactor < 1 {
		return fieldErr("kafka.replication_factor", "must be -1 (the broker's default) or at least 1, got %d", k.ReplicationFactor)
	}
	if k.MinInsyncReplicas < 0 {
		return fieldErr("kafka.min_insync_replicas", "must be 0 (the broker's default) or at least 1, got %d", k.MinInsyncReplicas)
	}
	if k.ReplicationFactor > 0 && k.MinInsyncReplicas > k.ReplicationFactor {
		return fieldErr("kafka.min_insync_replicas", "%d is more than kafka.replication_factor %d: every write would fail", k.MinInsyncReplicas, k.ReplicationFactor)
	}
	if err := k.TLS.validate(); err != nil {
		return err
	}
	return k.SASL.validate()
}

func (t TLS) validate() *FieldError {
	switch {
	case t.CertFile != "" && t.KeyFile == "":
		return fieldErr("kafka.tls.key_file", "required when kafka.tls.cert_file is set")
	case t.KeyFile != "" && t.CertFile == "":
		return fieldErr("kafka.tls.cert_file", "required when kafka.tls.key_file is set")
	}
	// Settings that only make sense over TLS most likely mean TLS was
	// forgotten; connecting in plaintext would fail far less clearly.
	if !t.Enabled {
		for _, s := range []struct{ key, value string }{
			{"ca_file", t.CAFile}, {"cert_file", t.CertFile}, {"server_name", t.ServerName},
		} {
			if s.value != "" {
				return fieldErr("kafka.tls.enabled", "must be true when kafka.tls.%s is set", s.key)
			}
		}
		if t.InsecureSkipVerify {
			return fieldErr("kafka.tls.enabled", "must be true when kafka.tls.insecure_skip_verify is set")
		}
	}
	return nil
}

func (s SASL) validate() *FieldError {
	switch s.Mechanism {
	case "":
		if s.Username != "" || s.Password != "" {
			return fieldErr("kafka.sasl.mechanism", "required when kafka.sasl.username or password is set (want %s)", strings.Join(saslMechanisms, ", "))
		}
	case SASLPlain, SASLScram256, SASLScram512:
		if s.Username == "" {
			return fieldErr("kafka.sasl.username", "required for mechanism %q", s.Mechanism)
		}
		if s.Password == "" {
			return fieldErr("kafka.sasl.password", "required for mechanism %q", s.Mechanism)
		}
	case SASLAWSMSKIAM:
		// Static keys are optional (the AWS credential chain is the default),
		// but half a key pair is a mistake.
		if s.Username != "" && s.Password == "" {
			return fieldErr("kafka.sasl.password", "required with kafka.sasl.username (the secret access key)")
		}
		if s.Password != "" && s.Username == "" {
			return fieldErr("kafka.sasl.username", "required with kafka.sasl.password (the access key id)")
		}
		if s.SessionToken != "" && s.Username == "" {
			return fieldErr("kafka.sasl.session_token", "needs kafka.sasl.username and password")
		}
	default:
		return fieldErr("kafka.sasl.mechanism", "unknown mechanism %q (want %s)", s.Mechanism, strings.Join(saslMechanisms, ", "))
	}
	if s.SessionToken != "" && s.Mechanism != SASLAWSMSKIAM {
		return fieldErr("kafka.sasl.session_token", "only used with mechanism %q", SASLAWSMSKIAM)
	}
	return nil
}

func (c Config) validateDataDir() *FieldError {
	if strings.TrimSpace(c.DataDir) == "" {
		return fieldErr("data_dir", "must not be empty")
	}
	return nil
}

func (l LLM) validate() *FieldError {
	switch l.Provider {
	case "", ProviderOpenAI, ProviderScripted:
	default:
		return fieldErr("llm.provider", "unknown provider %q (want %s or %s, or empty: openai when an API key or base_url is set)", l.Provider, ProviderOpenAI, ProviderScripted)
	}
	if _, _, err := NormalizeBaseURL(l.BaseURL); err != nil {
		return err.(*FieldError)
	}
	if l.Model == "" {
		return fieldErr("llm.model", "must not be empty")
	}
	if err := checkPositive("llm.timeout", l.Timeout); err != nil {
		return err
	}
	if l.MaxRetries < 0 {
		return fieldErr("llm.max_retries", "must not be negative, got %d", l.MaxRetries)
	}
	return nil
}

// Limits of the game's rules: seats are lettered A-H, and an answer must fit
// a chat bubble.
const (
	minSeats       = 2
	maxSeats       = 8
	maxAnswerChars = 2000
)

func (g Game) validate() *FieldError {
	if g.Seats < minSeats || g.Seats > maxSeats {
		return fieldErr("game.seats", "must be within %d..%d, got %d", minSeats, maxSeats, g.Seats)
	}
	// At least one seat is a robot's: the game is "Human or Robot?".
	if g.Humans < 1 || g.Humans > g.Seats-1 {
		return fieldErr("game.humans", "must be within 1..%d (game.seats - 1), got %d", g.Seats-1, g.Humans)
	}
	if g.Rounds < 1 {
		return fieldErr("game.rounds", "must be at least 1, got %d", g.Rounds)
	}
	for _, d := range []struct {
		key      string
		value    time.Duration
		positive bool
	}{
		{"game.answer_window", g.AnswerWindow, true},
		{"game.vote_window", g.VoteWindow, true},
		{"game.results_pause", g.ResultsPause, false},
		{"game.lobby_wait", g.LobbyWait, false},
		{"game.idle_timeout", g.IdleTimeout, true},
	} {
		if d.positive {
			if err := checkPositive(d.key, d.value); err != nil {
				return err
			}
		} else if d.value < 0 {
			return fieldErr(d.key, "must not be negative, got %v", d.value)
		}
	}
	if g.MaxAnswerChars < 1 || g.MaxAnswerChars > maxAnswerChars {
		return fieldErr("game.max_answer_chars", "must be within 1..%d, got %d", maxAnswerChars, g.MaxAnswerChars)
	}
	return nil
}

// robotIDRE keeps ids usable in consumer group names, metric labels and URLs.
var robotIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

func (c Config) validateRobots() *FieldError {
	if len(c.Robots) == 0 {
		return fieldErr("robots", "must not be empty: a match needs robots")
	}
	first := make(map[string]int, len(c.Robots)) // id -> index of its first robot
	for i, p := range c.Robots {
		if err := p.validate(fmt.Sprintf("robots[%d]", i)); err != nil {
			return err
		}
		if j, dup := first[p.ID]; dup {
			return fieldErr(fmt.Sprintf("robots[%d].id", i), "duplicate robot id %q (also robots[%d])", p.ID, j)
		}
		first[p.ID] = i
	}
	// A match with a single human fills every other seat with a robot.
	if need := c.Game.Seats - 1; len(c.Robots) < need {
		return fieldErr("robots", "need at least %d robots for %d seats, have %d", need, c.Game.Seats, len(c.Robots))
	}
	for i, id := range c.Robot.Personalities {
		if _, ok := first[id]; !ok {
			ids := make([]string, len(c.Robots))
			for j, p := range c.Robots {
				ids[j] = p.ID
			}
			return fieldErr(fmt.Sprintf("robot.personalities[%d]", i), "unknown personality %q (want one of %s)", id, strings.Join(ids, ", "))
		}
	}
	return nil
}

func (p Personality) validate(field string) *FieldError {
	switch {
	case p.ID == "":
		return fieldErr(field+".id", "must not be empty")
	case !robotIDRE.MatchString(p.ID):
		return fieldErr(field+".id", "%q must be lowercase letters, digits and \"-\", starting with a letter or digit", p.ID)
	case strings.TrimSpace(p.Name) == "":
		return fieldErr(field+".name", "must not be empty")
	case p.Temperature < 0 || p.Temperature > 2:
		return fieldErr(field+".temperature", "must be within 0..2, got %v", p.Temperature)
	case strings.TrimSpace(p.SystemPrompt) == "":
		return fieldErr(field+".system_prompt", "must not be empty")
	case p.Delay.Min < 0:
		return fieldErr(field+".delay.min", "must not be negative, got %v", p.Delay.Min)
	case p.Delay.Min > p.Delay.Max:
		return fieldErr(field+".delay", "min %v is greater than max %v", p.Delay.Min, p.Delay.Max)
	case p.TypingCPS <= 0:
		return fieldErr(field+".typing_cps", "must be positive, got %v", p.TypingCPS)
	case len(p.Variants) > 0 && strings.TrimSpace(p.Model) != "":
		return fieldErr(field+".variants", "set model or variants, not both (a variant list replaces model)")
	case len(p.Variants) > 0 && p.PinModel:
		return fieldErr(field+".pin_model", "not needed with variants: a robot with variants always draws from them")
	}
	seen := map[string]int{}
	for i, v := range p.Variants {
		vf := fmt.Sprintf("%s.variants[%d]", field, i)
		switch {
		case strings.TrimSpace(v.Model) == "":
			return fieldErr(vf+".model", "must not be empty")
		case v.Weight <= 0 || math.IsInf(v.Weight, 0) || math.IsNaN(v.Weight):
			return fieldErr(vf+".weight", "must be positive, got %v", v.Weight)
		}
		if j, dup := seen[v.Model]; dup {
			return fieldErr(vf+".model", "duplicate variant %q (also variants[%d]): give one entry a larger weight instead", v.Model, j)
		}
		seen[v.Model] = i
	}
	return nil
}

func (c Config) validatePrompts() *FieldError {
	for i, p := range c.Prompts {
		if strings.TrimSpace(p) == "" {
			return fieldErr(fmt.Sprintf("prompts[%d]", i), "must not be empty")
		}
	}
	// A match never asks the same prompt twice.
	if len(c.Prompts) < c.Game.Rounds {
		return fieldErr("prompts", "need at least %d prompts for %d rounds (game.rounds), have %d", c.Game.Rounds, c.Game.Rounds, len(c.Prompts))
	}
	return nil
}

var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"text", "json"}
)

func (l Log) validate() *FieldError {
	if !slices.Contains(logLevels, l.Level) {
		return fieldErr("log.level", "unknown level %q (want %s)", l.Level, strings.Join(logLevels, ", "))
	}
	if !slices.Contains(logFormats, l.Format) {
		return fieldErr("log.format", "unknown format %q (want %s)", l.Format, strings.Join(logFormats, " or "))
	}
	return nil
}

func checkHostPort(field, addr string) *FieldError {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fieldErr(field, "want host:port, got %q", addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fieldErr(field, "invalid port %q in %q", port, addr)
	}
	return nil
}

func checkPositive(field string, d time.Duration) *FieldError {
	if d <= 0 {
		return fieldErr(field, "must be positive, got %v", d)
	}
	return nil
}
