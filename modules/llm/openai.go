package llm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/arena-hq/arena/config"
)

const (
	// defaultBackoff is the first wait before a retry when the server gives
	// no Retry-After; it doubles per attempt (with jitter) up to maxRetryDelay.
	defaultBackoff = 250 * time.Millisecond
	// maxRetryDelay caps every wait, Retry-After included: an answer window
	// is 45 s, so waiting longer than this for one robot is never worth it.
	maxRetryDelay = 5 * time.Second
	// minAttemptTime is the least time left worth starting another attempt with.
	minAttemptTime = 100 * time.Millisecond
)

// errAttemptTimeout marks one attempt that ran out of llm.timeout while the
// caller's context still had time: worth retrying, unlike the caller's deadline.
var errAttemptTimeout = errors.New("no reply within llm.timeout")

// OpenAI is the provider for any OpenAI-compatible chat-completions server
// (OpenAI, Ollama, vLLM, llama.cpp, LiteLLM). It is safe for concurrent use.
//
// It does its own retries rather than the SDK's, so that it can bound each
// wait, honour Retry-After, retry a per-attempt timeout, and never sleep past
// the caller's deadline.
type OpenAI struct {
	client     openai.Client
	model      string        // for requests that name none
	key        string        // kept only to scrub it from server messages
	timeout    time.Duration // per attempt; 0: only the caller's context
	maxRetries int
	backoff    time.Duration
	logger     *slog.Logger
	// maxTokens also sends the legacy max_tokens, which servers other than
	// OpenAI's (older vLLM, llama.cpp, LM Studio) honour instead of
	// max_completion_tokens. OpenAI's own reasoning models reject it.
	maxTokens bool
	baseURL   string // after normalisation; "" for OpenAI's default
}

// NewOpenAI builds the provider from cfg. The key is llm.api_key, else
// OPENAI_API_KEY; it may be empty for local servers that need none. An empty
// llm.base_url means OpenAI's (or OPENAI_BASE_URL).
func NewOpenAI(cfg config.LLM, logger *slog.Logger) (*OpenAI, error) {
	return newOpenAI(cfg, logger, nil)
}

// newOpenAI lets tests pass their own HTTP client.
func newOpenAI(cfg config.LLM, logger *slog.Logger, hc *http.Client) (*OpenAI, error) {
	if cfg.MaxRetries < 0 {
		return nil, fmt.Errorf("llm.max_retries: must be >= 0, got %d", cfg.MaxRetries)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("llm.timeout: must be >= 0, got %s", cfg.Timeout)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	key := apiKey(cfg)
	opts := []option.RequestOption{
		option.WithAPIKey(key),
		option.WithMaxRetries(0), // Complete retries, within the caller's deadline
	}
	base, note, err := config.NormalizeBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if note != "" {
		logger.Info("llm.base_url adjusted", "given", redactedURL(cfg.BaseURL), "using", redactedURL(base), "change", note)
	}
	legacyMaxTokens := false
	if base != "" {
		opts = append(opts, option.WithBaseURL(base))
		u, _ := url.Parse(base)
		legacyMaxTokens = !strings.EqualFold(u.Hostname(), "api.openai.com")
	}
	if hc != nil {
		opts = append(opts, option.WithHTTPClient(hc))
	}
	return &OpenAI{
		client:     openai.NewClient(opts...),
		model:      strings.TrimSpace(cfg.Model),
		key:        key,
		timeout:    cfg.Timeout,
		maxRetries: cfg.MaxRetries,
		backoff:    defaultBackoff,
		logger:     logger.With("provider", config.ProviderOpenAI),
		maxTokens:  legacyMaxTokens,
		baseURL:    base,
	}, nil
}

// redactedURL hides a password in a URL for logs.
func redactedURL(s string) string {
	if u, err := url.Parse(strings.TrimSpace(s)); err == nil && u.User != nil {
		return u.Redacted()
	}
	return s
}

// Server names where the provider sends requests, for messages.
func (o *OpenAI) Server() string {
	if o.baseURL == "" {
		return "https://api.openai.com/v1"
	}
	return redactedURL(o.baseURL)
}

// Name implements Model.
func (o *OpenAI) Name() string { return config.ProviderOpenAI }

// Complete implements Model. It makes up to llm.max_retries+1 attempts,
// retrying 408, 429, 5xx, connection failures and per-attempt timeouts, and
// fails at once on other 4xx. An empty reply is ErrEmptyReply. Response.Attempts
// is set on errors too.
func (o *OpenAI) Complete(ctx context.Context, req Request) (Response, error) {
	params, err := o.params(req)
	if err != nil {
		return Response{}, err
	}
	for attempt := 1; ; attempt++ {
		resp, err := o.once(ctx, params)
		resp.Attempts = attempt
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return resp, o.fail(params.Model, attempt, err, "")
		}
		delay, retryable := o.retryDelay(err, attempt)
		if !retryable || attempt > o.maxRetries {
			return resp, o.fail(params.Model, attempt, err, "")
		}
		if !timeLeft(ctx, delay+minAttemptTime) {
			return resp, o.fail(params.Model, attempt, err, "; no time left to retry")
		}
		o.logger.Warn("model call failed, retrying",
			"model", params.Model, "attempt", attempt, "delay", delay, "err", o.describe(err))
		if err := sleep(ctx, delay); err != nil {
			return resp, o.fail(params.Model, attempt, err, "")
		}
	}
}

// params maps a Request onto the wire format.
func (o *OpenAI) params(req Request) (openai.ChatCompletionNewParams, error) {
	model := strings.TrimSpace(req.Model)
	if model == "" {
		model = o.model
	}
	if model == "" {
		return openai.ChatCompletionNewParams{}, errors.New("llm.model: no model set, and the robot names none")
	}
	msgs := make([]openai.ChatCompletionMessageParamUnion, 0, len(req.Messages)+1)
	if req.System != "" {
		msgs = append(msgs, openai.SystemMessage(req.System))
	}
	for i, m := range req.Messages {
		switch m.Role {
		case RoleUser:
			msgs = append(msgs, openai.UserMessage(m.Content))
		case RoleAssistant:
			msgs = append(msgs, openai.AssistantMessage(m.Content))
		default:
			return openai.ChatCompletionNewParams{}, fmt.Errorf("llm: messages[%d].role: must be user or assistant, got %q", i, m.Role)
		}
	}
	if len(msgs) == 0 {
		return openai.ChatCompletionNewParams{}, errors.New("llm: request has no messages")
	}
	p := openai.ChatCompletionNewParams{Model: model, Messages: msgs}
	// Zero means "unset": reasoning models reject any temperature but their own.
	if req.Temperature > 0 {
		p.Temperature = openai.Float(req.Temperature)
	}
	// max_completion_tokens always; the deprecated max_tokens too, except to
	// OpenAI itself, whose reasoning models reject it. Servers that predate
	// max_completion_tokens ignore it and would not cap the reply otherwise.
	if req.MaxTokens > 0 {
		p.MaxCompletionTokens = openai.Int(int64(req.MaxTokens))
		if o.maxTokens {
			p.MaxTokens = openai.Int(int64(req.MaxTokens))
		}
	}
	return p, nil
}

// once makes one attempt, bounded by the per-attempt timeout.
func (o *OpenAI) once(ctx context.Context, params openai.ChatCompletionNewParams) (Response, error) {
	actx, cancel := ctx, context.CancelFunc(func() {})
	if o.timeout > 0 {
		actx, cancel = context.WithTimeout(ctx, o.timeout)
	}
	defer cancel()

	cc, err := o.client.Chat.Completions.New(actx, params)
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return Response{}, ctx.Err()
	case actx.Err() != nil:
		return Response{}, fmt.Errorf("%w (%s)", errAttemptTimeout, o.timeout)
	default:
		return Response{}, err
	}
	resp := Response{Model: cc.Model}
	if len(cc.Choices) == 0 || strings.TrimSpace(cc.Choices[0].Message.Content) == "" {
		return resp, ErrEmptyReply
	}
	resp.Text = cc.Choices[0].Message.Content
	return resp, nil
}

// retryDelay says whether err is worth another attempt, and after how long.
func (o *OpenAI) retryDelay(err error, attempt int) (time.Duration, bool) {
	var apiErr *openai.Error
	var urlErr *url.Error
	switch {
	case errors.Is(err, errAttemptTimeout):
		return o.backoffFor(attempt), true
	case errors.As(err, &apiErr):
		code := apiErr.StatusCode
		if code != http.StatusRequestTimeout && code != http.StatusTooManyRequests &&
			(code < 500 || code == http.StatusNotImplemented) {
			return 0, false
		}
		if d, ok := retryAfter(apiErr.Response); ok {
			return min(d, maxRetryDelay), true
		}
		return o.backoffFor(attempt), true
	case errors.As(err, &urlErr):
		// No response at all (refused, reset): the server may be restarting.
		return o.backoffFor(attempt), true
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		// The reply was cut off while being read: the connection died.
		return o.backoffFor(attempt), true
	}
	return 0, false
}

// backoffFor is exponential with "equal jitter", so robots that failed
// together don't all come back at the same instant.
func (o *OpenAI) backoffFor(attempt int) time.Duration {
	d := min(o.backoff<<(attempt-1), maxRetryDelay)
	if d <= 0 {
		return 0
	}
	half := d / 2
	return half + rand.N(half+1)
}

// retryAfter reads the server's wait: OpenAI's retry-after-ms, else
// Retry-After in seconds or as an HTTP date.
func retryAfter(res *http.Response) (time.Duration, bool) {
	if res == nil {
		return 0, false
	}
	if v := res.Header.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 {
			return time.Duration(ms * float64(time.Millisecond)), true
		}
	}
	v := res.Header.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

// fail wraps err with what was tried. The SDK's error text is a status line
// only; describe adds the server's message with the key scrubbed.
func (o *OpenAI) fail(model string, attempts int, err error, note string) error {
	msg := fmt.Sprintf("llm: openai model %q failed after %d attempt(s): %s%s", model, attempts, o.describe(err), note)
	return &callError{msg: msg, err: err}
}

// describe renders err for errors and logs, never with the API key.
func (o *OpenAI) describe(err error) string {
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		return o.scrub(err.Error())
	}
	s := apiErr.Error()
	// Auth failures echo (part of) the key back; say nothing more than the status.
	if apiErr.StatusCode == http.StatusUnauthorized || apiErr.StatusCode == http.StatusForbidden {
		return s
	}
	if msg := strings.TrimSpace(apiErr.Message); msg != "" {
		if r := []rune(msg); len(r) > 200 {
			msg = string(r[:200]) + "..."
		}
		s += ": " + msg
	}
	return o.scrub(s)
}

func (o *OpenAI) scrub(s string) string {
	if o.key == "" {
		return s
	}
	return strings.ReplaceAll(s, o.key, "[redacted]")
}

// callError keeps the cause for errors.Is/As (ErrEmptyReply,
// context.DeadlineExceeded, *openai.Error) under a key-free message.
type callError struct {
	msg string
	err error
}

func (e *callError) Error() string { return e.msg }
func (e *callError) Unwrap() error { return e.err }

// timeLeft reports whether ctx allows at least d more.
func timeLeft(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return !ok || time.Until(dl) > d
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ModelCheck is the outcome of one test call to a model.
type ModelCheck struct {
	Model  string
	Robots []string // ids of the personalities that play it
	Reply  string   // the model's reply, when it answered
	Took   time.Duration
	Err    error // nil: the model answered
}

// CheckModels sends one short request to each distinct model the robots
// play (variants included; fallback is llm.model), all at once, bounded by
// ctx. The results are in the robots' order of first use.
func CheckModels(ctx context.Context, m Model, robots []config.Personality, fallback string) []ModelCheck {
	var checks []ModelCheck
	index := map[string]int{}
	for _, p := range robots {
		for _, model := range p.Models(fallback) {
			i, ok := index[model]
			if !ok {
				i = len(checks)
				index[model] = i
				checks = append(checks, ModelCheck{Model: model})
			}
			checks[i].Robots = append(checks[i].Robots, p.ID)
		}
	}
	done := make(chan struct{})
	for i := range checks {
		go func() {
			defer func() { done <- struct{}{} }()
			c := &checks[i]
			start := time.Now()
			resp, err := m.Complete(ctx, Request{
				Model:    c.Model,
				System:   "You are a health check. Reply with the single word OK.",
				Messages: []Message{{Role: RoleUser, Content: "ping"}},
				// Room for reasoning models' hidden tokens; still cheap.
				MaxTokens: 64,
				Task:      TaskAnswer, Prompt: "ping", MaxChars: 10, Seed: "check",
			})
			c.Took = time.Since(start)
			c.Reply = strings.TrimSpace(resp.Text)
			if errors.Is(err, ErrEmptyReply) {
				// The server knows the model and answered: it works, the
				// short cap just left no visible text.
				err = nil
			}
			c.Err = err
		}()
	}
	for range checks {
		<-done
	}
	return checks
}

// Hint says what to do about a failed model call, or "".
func Hint(err error, model string) string {
	var apiErr *openai.Error
	var urlErr *url.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound:
		return fmt.Sprintf("the server has no model %q (or llm.base_url is not an OpenAI-compatible /v1 base): "+
			"set llm.model / ARENA_LLM_MODEL to one it serves (for Ollama: `ollama list`, or `ollama pull %s`)", model, model)
	case errors.As(err, &apiErr) && (apiErr.StatusCode == http.StatusUnauthorized || apiErr.StatusCode == http.StatusForbidden):
		return "the server refused the key: check llm.api_key / OPENAI_API_KEY (local servers usually need none)"
	case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusBadRequest:
		return "the server refused the request: the model may not be a chat model"
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errAttemptTimeout):
		return "no reply in time: the model may still be loading (try again), or raise llm.timeout"
	case errors.As(err, &urlErr):
		return "could not reach the server: is it running, and is llm.base_url right?"
	}
	return ""
}

// LogModelChecks logs one ERROR line per model that failed, naming the
// robots that play it, the model, the server and its answer, so that a
// misconfigured model is plain at start instead of a match of "(no answer)".
func LogModelChecks(logger *slog.Logger, server string, checks []ModelCheck) {
	for _, c := range checks {
		if c.Err == nil {
			logger.Info("robot model ok", "model", c.Model, "robots", c.Robots, "took", c.Took)
			continue
		}
		logger.Error("robot model unusable: these robots will not answer or vote",
			"robots", c.Robots, "model", c.Model, "server", server, "answer", c.Err.Error(), "hint", Hint(c.Err, c.Model))
	}
}
