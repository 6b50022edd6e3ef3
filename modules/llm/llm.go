// Package llm is the model layer the robots talk to: a small Model interface,
// an OpenAI-compatible provider, an offline scripted provider, and the helpers
// that turn a round into a request (and a reply back into an answer or vote).
package llm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/arena-hq/arena/config"
	"github.com/arena-hq/arena/modules/events"
)

// Model produces one chat completion.
//
// Implementations are safe for concurrent use. Complete honours ctx: it never
// waits past ctx's deadline, retries included. The caller owns req and may
// reuse it once Complete returns.
type Model interface {
	Complete(ctx context.Context, req Request) (Response, error)
	Name() string // provider name: "openai" or "scripted"
}

// Tasks a request can carry, the same words as robot command kinds.
const (
	TaskAnswer = events.KindAnswer
	TaskVote   = events.KindVote
)

// Roles of Message.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Request is one chat completion to make.
type Request struct {
	Model       string    // model to ask for; "" uses llm.model
	Temperature float64   // 0 leaves it to the server's default
	System      string    // personality system prompt + game instructions; never human text
	Messages    []Message // user/assistant turns; human text only ever inside user content, quoted as data
	MaxTokens   int       // cap on the reply; 0 for none

	// Hints for the scripted model; the openai provider ignores them.
	Personality string   // robot id
	Task        string   // TaskAnswer or TaskVote
	Prompt      string   // the round's prompt
	MaxChars    int      // answer length limit (the model is told it in the prompt too)
	Candidates  []string // seat letters a vote may pick (and events.NoOne where allowed)
	Seed        string   // stable per command, so a redone command gives the same output
	MatchID     string   // the robots of one match share out their ideas by it
	Slot, Slots int      // this robot's share of the ideas (Slot of Slots)
	Earlier     []string // answers of the match's earlier rounds: no phrase of them is repeated
	Style       []string // recent human answers: length, case and punctuation to match
	Learned     []string // human answers to this prompt in other matches, to reword
	Avoid       []string // robots' answers to this prompt in other matches: public phrases not to repeat
}

// Message is one turn of the conversation.
type Message struct {
	Role    string // RoleUser or RoleAssistant
	Content string
}

// Response is a model's reply.
type Response struct {
	Text     string
	Model    string // the model that answered, as the server names it
	Attempts int    // calls made, retries included; set on errors too
}

// ErrEmptyReply is returned when the model answered with nothing usable: no
// choices, or only whitespace.
var ErrEmptyReply = errors.New("llm: empty reply from model")

// New returns the model cfg asks for. Provider "" picks openai when an API key
// (llm.api_key or OPENAI_API_KEY) or llm.base_url is set, and the offline
// scripted model otherwise, so a fresh install plays without any setup. New starts nothing.
func New(cfg config.LLM, logger *slog.Logger) (Model, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// The provider is config's decision; the key may also come from the
	// environment when cfg was not loaded by config.Load.
	auto := config.LLM{Provider: cfg.Provider, APIKey: apiKey(cfg), BaseURL: cfg.BaseURL}
	switch auto.EffectiveProvider() {
	case config.ProviderOpenAI:
		return newOpenAIModel(cfg, logger)
	case config.ProviderScripted:
		if strings.TrimSpace(cfg.Provider) == "" {
			logger.Info("no API key set: robots use the offline scripted model",
				"hint", "set OPENAI_API_KEY, or llm.base_url for a local server such as Ollama")
		}
		return NewScripted(cfg), nil
	default:
		return nil, fmt.Errorf("llm.provider: unknown provider %q (want %s or %s)",
			cfg.Provider, config.ProviderOpenAI, config.ProviderScripted)
	}
}

// newOpenAIModel avoids returning a nil *OpenAI inside a non-nil Model.
func newOpenAIModel(cfg config.LLM, logger *slog.Logger) (Model, error) {
	m, err := NewOpenAI(cfg, logger)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// apiKey is the configured key, falling back to the environment.
func apiKey(cfg config.LLM) string {
	if k := strings.TrimSpace(cfg.APIKey); k != "" {
		return k
	}
	return strings.TrimSpace(os.Getenv("OPENAI_API_KEY"))
}
