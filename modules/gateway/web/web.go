// Package web holds arena's browser front end: plain HTML pages, one style
// sheet and small native ES modules, embedded in the binary so that neither
// building nor running arena needs a Node toolchain.
//
// The gateway serves the pages at these routes (each page reads the ids it
// needs from location.pathname, so the same file serves every id):
//
//	/                 index.html          lobby
//	/join/{code}      join.html           join a private match by invite code
//	/match/{id}       match.html          live match (player or spectator)
//	/history          history.html        finished matches, newest first
//	/history/{id}     match-history.html  one finished match in full
//	/stats            stats.html          robot leaderboard, detective accuracy
//	/static/{file}    the files of Static below the "static" directory
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

// PageFor maps a request path to the page that serves it ("" and false for
// paths that are no page, such as /api/... or /static/...). Ids and codes
// are not checked here: the page shows "not found" itself.
func PageFor(urlPath string) (string, bool) {
	p := strings.TrimSuffix(urlPath, "/")
	seg := strings.Split(strings.TrimPrefix(p, "/"), "/")
	switch {
	case p == "":
		return "index.html", true
	case len(seg) == 1 && seg[0] == "history":
		return "history.html", true
	case len(seg) == 1 && seg[0] == "stats":
		return "stats.html", true
	case len(seg) == 2 && seg[1] != "":
		switch seg[0] {
		case "join":
			return "join.html", true
		case "match":
			return "match.html", true
		case "history":
			return "match-history.html", true
		}
	}
	return "", false
}
