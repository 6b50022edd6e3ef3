package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// otherEnv are ARENA_* variables that are not config keys but are read by
// arena's tests and tools; they are not typos.
var otherEnv = []string{
	"ARENA_TEST_LOG", "ARENA_CRASH_CHILD", "ARENA_CRASH_BROKER", "ARENA_E2E_BIN",
	"ARENA_BIN", "ARENA_CHROMIUM", "ARENA_ARTIFACTS",
}

// unknownEnv returns a warning for each ARENA_* variable of environ that
// names no key, with the nearest key's variable when one is close (a typo
// such as ARENA_GAME_ROUNDZ). Empty variables are ignored, as Load ignores them.
func unknownEnv(types map[string]reflect.Type, environ []string) []string {
	known := make([]string, 0, len(types))
	for key := range types {
		known = append(known, envName(key))
	}
	slices.Sort(known)
	var warnings []string
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "ARENA_") || value == "" ||
			slices.Contains(otherEnv, name) || slices.Contains(known, name) {
			continue
		}
		w := fmt.Sprintf("%s is set but is not an arena setting; it is ignored", name)
		if near := nearest(name, known); near != "" {
			w += fmt.Sprintf(" (did you mean %s?)", near)
		}
		warnings = append(warnings, w)
	}
	slices.Sort(warnings)
	return warnings
}

// nearest returns the candidate within a small edit distance of s, or "".
func nearest(s string, candidates []string) string {
	best, bestD := "", 4 // more than 3 edits away is not a typo
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
