package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// Every page route serves an embedded page, and the routes send each path
// to the page meant for it.
func TestRoutes(t *testing.T) {
	mux := http.NewServeMux()
	for _, route := range Routes {
		if b, err := Page(route.Page); err != nil || len(b) == 0 {
			t.Errorf("route %s: Page(%q): %v (%d bytes)", route.Pattern, route.Page, err, len(b))
		}
		mux.HandleFunc(route.Pattern, func(http.ResponseWriter, *http.Request) {})
	}
	cases := map[string]string{
		"/":              "index.html",
		"/join/K7P2QX":   "join.html",
		"/match/m-123":   "match.html",
		"/history":       "history.html",
		"/history/m-123": "match-history.html",
		"/stats":         "stats.html",
		"/api/matches":   "",
		"/match/a/b":     "",
		"/nope":          "",
	}
	for path, want := range cases {
		_, pattern := mux.Handler(httptest.NewRequest("GET", path, nil))
		got := ""
		for _, route := range Routes {
			if route.Pattern == pattern {
				got = route.Page
			}
		}
		if got != want {
			t.Errorf("%s is served by %q (pattern %q), want %q", path, got, pattern, want)
		}
	}
	if _, err := Page("match"); err != nil {
		t.Errorf(`Page("match") without suffix: %v`, err)
	}
}

func readAll(t *testing.T, ext string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := fs.WalkDir(Files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ext) {
			return err
		}
		b, err := fs.ReadFile(Files, p)
		out[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Every /static/ file a page or module names must be embedded.
func TestReferencesResolve(t *testing.T) {
	refs := regexp.MustCompile(`(?:href|src)="/static/([^"]+)"|from "/static/([^"]+)"`)
	for _, ext := range []string{".html", ".js"} {
		for name, text := range readAll(t, ext) {
			for _, m := range refs.FindAllStringSubmatch(text, -1) {
				ref := m[1] + m[2]
				if _, err := fs.Stat(Files, ref); err != nil {
					t.Errorf("%s refers to /static/%s, which is not embedded", name, ref)
				}
			}
		}
	}
}

// Human text must only ever reach the DOM as text.
func TestNoHTMLInjection(t *testing.T) {
	for name, text := range readAll(t, ".js") {
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
			if strings.Contains(text, bad) {
				t.Errorf("%s uses %s: build nodes with el()/textContent instead", name, bad)
			}
		}
	}
}

// The data-testid hooks browser tests rely on.
func TestTestIDs(t *testing.T) {
	var all strings.Builder
	for _, ext := range []string{".html", ".js"} {
		for _, text := range readAll(t, ext) {
			all.WriteString(text)
		}
	}
	s := all.String()
	for _, id := range []string{
		"name", "quick", "create", "code-input", "join", "start", "answer-input", "answer-submit",
		"char-count", "phase", "round", "prompt", "countdown", "you", "reveal", "play-again",
		"invite-code", "banner", "toast", "history-list", "stats-table", "detective-accuracy",
	} {
		if !strings.Contains(s, `data-testid="`+id+`"`) && !strings.Contains(s, `"data-testid": "`+id+`"`) {
			t.Errorf("data-testid %q not found", id)
		}
	}
	for _, prefix := range []string{"answer-card-", "vote-", "reveal-"} {
		if !strings.Contains(s, `"data-testid": `+"`"+prefix+"${") && !strings.Contains(s, `testid: `+"`"+prefix+"${") {
			t.Errorf("data-testid prefix %q not found", prefix)
		}
	}
}
