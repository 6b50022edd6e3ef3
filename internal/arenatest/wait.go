package arenatest

import (
	"encoding/json"
	"testing"
	"time"
)

// WaitFor polls cond every interval until it holds, failing the test after
// limit.
func WaitFor(t testing.TB, limit, every time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(every)
	}
}

// JSON is v encoded as JSON, failing the test if it cannot be.
func JSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
