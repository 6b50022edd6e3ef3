// Package web holds arena's browser front end: plain HTML pages, one style
// sheet and small native ES modules, embedded in the binary so that neither
// building nor running arena needs a Node toolchain.
//
// The gateway serves the pages at Routes (each page reads the ids it needs
// from location.pathname, so the same file serves every id): index.html the
// lobby, join.html joining by invite code, match.html a live match (player
// or spectator), history.html and match-history.html finished matches,
// stats.html the leaderboards; and the files of Static below "static" at
// /static/{file}.
//
// Everything here is read-only and safe for concurrent use.
package web

import (
	"embed"
	"io/fs"
	"path"
	"strings"
)

// Static holds the embedded files under the directory "static"
// (static/index.html, static/app.js, ...). Use Files for a tree rooted at
// that directory, as served under /static/.
//
//go:embed static
var Static embed.FS

// Files is Static rooted at its "static" directory: serve it under /static/
// with http.StripPrefix("/static/", http.FileServerFS(web.Files)).
var Files fs.FS = mustSub(Static, "static")

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // the directory is embedded above; cannot happen
	}
	return sub
}

// Page returns the bytes of one embedded page by file name, e.g.
// Page("match.html"); the ".html" suffix may be left off.
func Page(name string) ([]byte, error) {
	if !strings.HasSuffix(name, ".html") {
		name += ".html"
	}
	return fs.ReadFile(Files, path.Clean(name))
}

// Route is a page and the route that serves it (an http.ServeMux pattern).
type Route struct {
	Pattern string
	Page    string
}

// Routes are the page routes, the one list the gateway (and the page tests)
// serve from.
var Routes = []Route{
	{"GET /{$}", "index.html"},
	{"GET /join/{code}", "join.html"},
	{"GET /match/{id}", "match.html"},
	{"GET /history", "history.html"},
	{"GET /history/{id}", "match-history.html"},
	{"GET /stats", "stats.html"},
}
