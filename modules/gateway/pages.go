package gateway

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/arena-hq/arena/modules/gateway/web"
)

func (g *Gateway) loadPages() error {
	g.pages = map[string][]byte{}
	for _, route := range web.Routes {
		name := route.Page
		b, err := web.Page(name)
		if err != nil {
			return fmt.Errorf("page %s: %w", name, err)
		}
		g.pages[name] = b
	}
	return nil
}

// routes registers every route of the gateway on mux. A pattern that
// conflicts with one registered before is returned as an error rather than
// a panic.
func (g *Gateway) routes(mux *http.ServeMux) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("routes: %v", r)
		}
	}()
	for _, route := range web.Routes {
		mux.HandleFunc(route.Pattern, g.page(route.Page))
	}
	mux.HandleFunc("GET /join/{code}/qr.svg", g.api(g.handleQR))
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticFiles()))

	mux.HandleFunc("POST /api/matches", g.api(g.handleCreate))
	mux.HandleFunc("POST /api/join", g.api(g.handleJoin))
	mux.HandleFunc("POST /api/matches/{id}/start", g.api(g.handleStart))
	mux.HandleFunc("POST /api/matches/{id}/rematch", g.api(g.handleRematch))
	mux.HandleFunc("POST /api/matches/{id}/audience", g.api(g.handleAudience))
	mux.HandleFunc("GET /api/matches/{id}", g.api(g.handleMatch))
	mux.HandleFunc("GET /api/history", g.api(g.handleHistory))
	mux.HandleFunc("GET /api/stats", g.api(g.handleStats))
	mux.HandleFunc("GET /api/invite/{code}", g.api(g.handleInvite))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "No such API call."})
	})

	mux.HandleFunc("GET /ws", g.serveWS)
	return nil
}

// pageHeaders are sent with every page and static file. Pages are small
// and change with every build, so browsers revalidate them each time.
func pageHeaders(h http.Header) {
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	// Invite codes are in page paths: keep them off other sites' logs.
	h.Set("Referrer-Policy", "same-origin")
}

func (g *Gateway) page(name string) http.HandlerFunc {
	body := g.pages[name]
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		pageHeaders(h)
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("X-Frame-Options", "DENY")
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(body)
	}
}

// staticFiles serves the embedded front end's files, without directory
// listings.
func staticFiles() http.Handler {
	fs := http.FileServerFS(web.Files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		pageHeaders(w.Header())
		fs.ServeHTTP(w, r)
	})
}
