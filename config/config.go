// Package config holds arena's typed configuration, its defaults and its
// validation, and loads it with viper from a file, ARENA_* environment
// variables and flags (in rising precedence).
package config

import (
	"net"
	"time"
)

// Config is the whole of arena's configuration. Keys are those of
// config/arena.example.yaml; env names are ARENA_ plus the key with "." as "_".
type Config struct {
	HTTP    HTTP          `mapstructure:"http"`
	Kafka   Kafka         `mapstructure:"kafka"`
	DataDir string        `mapstructure:"data_dir"`
	LLM     LLM           `mapstructure:"llm"`
	Game    Game          `mapstructure:"game"`
	Robot   Robot         `mapstructure:"robot"`
	Robots  []Personality `mapstructure:"robots"`
	Prompts []string      `mapstructure:"prompts"`
	Log     Log           `mapstructure:"log"`
}

// HTTP is the HTTP server of every role (pages, API, WebSocket, health, metrics).
type HTTP struct {
	Addr           string   `mapstructure:"addr"`
	AllowedOrigins []string `mapstructure:"allowed_origins"` // extra Origins allowed on /ws besides the request's own host
	Timeouts       Timeouts `mapstructure:"timeouts"`
	Limits         Limits   `mapstructure:"limits"`
	// PublicURL is how players reach this server (https://arena.example.org,
	// http://192.168.1.20:8080), used in invite links; "" uses the request's host.
	PublicURL string `mapstructure:"public_url"`
	// AdminAddr is where operators' endpoints (/metrics) are served. Empty:
	// on Addr when Addr is a loopback address (only this machine reaches
	// it), and nowhere when players can reach Addr: counters and model
	// timings would tell them which seats are robots.
	AdminAddr string `mapstructure:"admin_addr"`
	// DrainDelay is how long a stopping process answers /readyz 503 while
	// still serving, so load balancers take it out before sockets close.
	DrainDelay time.Duration `mapstructure:"drain_delay"`
}

// Kafka says where the brokers are and how topics are laid out.
type Kafka struct {
	Brokers           []string `mapstructure:"brokers"`       // empty: the embedded broker
	EmbeddedAddr      string   `mapstructure:"embedded_addr"` // where the embedded broker listens
	TopicPrefix       string   `mapstructure:"topic_prefix"`
	Partitions        int      `mapstructure:"partitions"`
	ReplicationFactor int      `mapstructure:"replication_factor"`  // -1: the broker's default
	MinInsyncReplicas int      `mapstructure:"min_insync_replicas"` // 0: the broker's default
	SyncWrites        bool     `mapstructure:"sync_writes"`         // embedded broker: fsync every batch
	TLS               TLS      `mapstructure:"tls"`
	SASL              SASL     `mapstructure:"sasl"`
}

// TLS for connections to the brokers.
type TLS struct {
	Enabled            bool   `mapstructure:"enabled"`
	CAFile             string `mapstructure:"ca_file"`
	CertFile           string `mapstructure:"cert_file"`
	KeyFile            string `mapstructure:"key_file"`
	ServerName         string `mapstructure:"server_name"`
	InsecureSkipVerify bool   `mapstructure:"insecure_skip_verify"`
}

// SASL mechanisms.
const (
	SASLPlain        = "plain"
	SASLScram256     = "scram-sha-256"
	SASLScram512     = "scram-sha-512"
	SASLAWSMSKIAM    = "aws-msk-iam"
	ProviderOpenAI   = "openai"
	ProviderScripted = "scripted"
)

// SASL authentication. For aws-msk-iam, Username/Password are an optional
// static access key id / secret; empty means the default AWS credential chain.
type SASL struct {
	Mechanism    string `mapstructure:"mechanism"` // "", plain, scram-sha-256, scram-sha-512, aws-msk-iam
	Username     string `mapstructure:"username"`
	Password     string `mapstructure:"password"`
	SessionToken string `mapstructure:"session_token"` // aws-msk-iam only
}

// LLM is the model every robot talks to.
type LLM struct {
	Provider string `mapstructure:"provider"` // openai or scripted; "" picks openai when an API key is set
	BaseURL  string `mapstructure:"base_url"`
	APIKey   string `mapstructure:"api_key"` // also OPENAI_API_KEY
	// Model is the model of robots that name none. Set explicitly (file,
	// ARENA_LLM_MODEL, --model), it is the model of every robot except those
	// with pin_model or variants; see Load.
	Model      string        `mapstructure:"model"`
	Timeout    time.Duration `mapstructure:"timeout"` // per call
	MaxRetries int           `mapstructure:"max_retries"`
	Seed       int64         `mapstructure:"seed"` // scripted model
}

// Game holds the rules' numbers.
type Game struct {
	Seats          int           `mapstructure:"seats"`
	Humans         int           `mapstructure:"humans"` // most humans in a quick match
	Rounds         int           `mapstructure:"rounds"`
	AnswerWindow   time.Duration `mapstructure:"answer_window"`
	VoteWindow     time.Duration `mapstructure:"vote_window"`
	ResultsPause   time.Duration `mapstructure:"results_pause"`
	LobbyWait      time.Duration `mapstructure:"lobby_wait"`
	IdleTimeout    time.Duration `mapstructure:"idle_timeout"` // a private lobby never started is abandoned
	MaxAnswerChars int           `mapstructure:"max_answer_chars"`
}

// Robot configures the robot role.
type Robot struct {
	Personalities []string `mapstructure:"personalities"` // ids this instance runs; empty: all
	// Learn lets robots reword answers that humans gave to the same prompt
	// in other matches; never those of the current match's players.
	Learn bool `mapstructure:"learn"`
	// HumanTiming has robots type and answer at times drawn from how humans
	// play (and sometimes not answer, as humans do). false: each robot
	// answers on its personality's delay and typing speed, and always
	// answers; for load tests and tests that need every robot to answer.
	HumanTiming bool `mapstructure:"human_timing"`
}

// Personality is one robot of the stable.
type Personality struct {
	ID           string    `mapstructure:"id"`
	Name         string    `mapstructure:"name"`
	Model        string    `mapstructure:"model"`
	PinModel     bool      `mapstructure:"pin_model"` // keep Model even when llm.model is set
	Variants     []Variant `mapstructure:"variants"`  // A/B: each match draws one model by weight
	Temperature  float64   `mapstructure:"temperature"`
	SystemPrompt string    `mapstructure:"system_prompt"`
	Delay        Delay     `mapstructure:"delay"`
	TypingCPS    float64   `mapstructure:"typing_cps"`
}

// Variant is one model of a personality's A/B test, drawn with probability
// Weight / (sum of its personality's weights).
type Variant struct {
	Model  string  `mapstructure:"model"`
	Weight float64 `mapstructure:"weight"`
}

// Delay is the range of a robot's thinking time before it starts typing.
type Delay struct {
	Min time.Duration `mapstructure:"min"`
	Max time.Duration `mapstructure:"max"`
}

// Log configures log/slog.
type Log struct {
	Level  string `mapstructure:"level"`  // debug, info, warn, error
	Format string `mapstructure:"format"` // text or json
}

// MetricsOnAddr reports whether /metrics is served on http.addr: with no
// admin address, only when http.addr is a loopback address.
func (h HTTP) MetricsOnAddr() bool {
	if h.AdminAddr != "" {
		return false
	}
	host, _, err := net.SplitHostPort(h.Addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
