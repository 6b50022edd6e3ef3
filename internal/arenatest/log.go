package arenatest

import (
	"io"
	"log/slog"
	"os"
)

// Logger writes nothing, or everything at debug level to stderr when
// ARENA_TEST_LOG is set (to see what a failing test's modules did).
func Logger() *slog.Logger {
	if os.Getenv("ARENA_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
