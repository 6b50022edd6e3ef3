package config

import (
	"net/url"
	"slices"
	"strings"
)

// Personality returns the robot of the stable with the given id.
func (c Config) Personality(id string) (Personality, bool) {
	i := slices.IndexFunc(c.Robots, func(p Personality) bool { return p.ID == id })
	if i < 0 {
		return Personality{}, false
	}
	return c.Robots[i], true
}

// ActivePersonalities returns the robots this instance plays: those named in
// robot.personalities, in the stable's order, or the whole stable when none
// are named. The result is a copy.
func (c Config) ActivePersonalities() []Personality {
	if len(c.Robot.Personalities) == 0 {
		return slices.Clone(c.Robots)
	}
	var active []Personality
	for _, p := range c.Robots {
		if slices.Contains(c.Robot.Personalities, p.ID) {
			active = append(active, p)
		}
	}
	return active
}

// EffectiveProvider resolves llm.provider "" (auto): openai when an API key
// or a base URL is set (a local server such as Ollama needs no key),
// otherwise the offline scripted model, so a fresh machine plays. It is the
// one place the provider is decided: llm.New builds what it returns.
func (l LLM) EffectiveProvider() string {
	switch p := strings.ToLower(strings.TrimSpace(l.Provider)); {
	case p != "":
		return p
	case strings.TrimSpace(l.APIKey) != "" || strings.TrimSpace(l.BaseURL) != "":
		return ProviderOpenAI
	default:
		return ProviderScripted
	}
}

// EmbeddedBroker reports whether no brokers are configured, in which case
// the process (serve --all, or arena broker) runs the embedded broker.
func (c Config) EmbeddedBroker() bool { return len(c.Kafka.Brokers) == 0 }

// BrokerAddrs returns the bootstrap brokers clients dial: the configured
// brokers, or the embedded broker's address when none are.
func (c Config) BrokerAddrs() []string {
	if c.EmbeddedBroker() {
		return []string{c.Kafka.EmbeddedAddr}
	}
	return slices.Clone(c.Kafka.Brokers)
}

// redacted replaces a secret that is set; an empty one stays empty so a log
// still shows that it is missing.
const redacted = "[redacted]"

// Redacted returns a copy fit for logs: the SASL password and session token,
// the API key and any password in llm.base_url are replaced by "[redacted]".
func (c Config) Redacted() Config {
	hide := func(s *string) {
		if *s != "" {
			*s = redacted
		}
	}
	hide(&c.Kafka.SASL.Password)
	hide(&c.Kafka.SASL.SessionToken)
	hide(&c.LLM.APIKey)
	c.LLM.BaseURL = redactURL(c.LLM.BaseURL)
	// Fresh slices, so that whoever holds the copy cannot change c's.
	c.HTTP.AllowedOrigins = slices.Clone(c.HTTP.AllowedOrigins)
	c.Kafka.Brokers = slices.Clone(c.Kafka.Brokers)
	c.Robot.Personalities = slices.Clone(c.Robot.Personalities)
	c.Robots = slices.Clone(c.Robots)
	c.Prompts = slices.Clone(c.Prompts)
	return c
}

// redactURL hides the password of a URL such as https://user:pass@host/v1
// (as "xxxxx", the standard library's way).
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); !ok {
		return s
	}
	return u.Redacted()
}
