package config

import (
	"fmt"
	"strings"
)

// FieldError is a problem with one configuration field. Validate returns it
// with Field and Problem only; Load adds where the value came from, so that
// an operator can go straight to the line or variable to fix:
//
//	arena.yaml:57: robots[2].id: duplicate robot id "curious-student"
//	ARENA_GAME_ROUNDS: game.rounds: must be at least 1, got 0
type FieldError struct {
	Source  string // the config file, environment variable or flag (--name) that set the field; "" when unknown
	Line    int    // line of the field in Source when Source is a file; 0 when unknown
	Field   string // key path, e.g. "game.answer_window" or "robots[2].id"
	Problem string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Source != "" {
		b.WriteString(e.Source)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Field)
	b.WriteString(": ")
	b.WriteString(e.Problem)
	return b.String()
}

// fieldErr builds a FieldError with a formatted problem.
func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
}
