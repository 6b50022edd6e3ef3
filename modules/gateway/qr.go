package gateway

import (
	"fmt"
	"net/http"
	"strings"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/arena-hq/arena/modules/events"
	"github.com/arena-hq/arena/modules/game"
)

// inviteReply is GET /api/invite/{code}: the link to share and where its
// QR code is. The link is http.public_url's when set, so a phone that scans
// the code reaches the server even when the host's browser opened it
// through localhost.
type inviteReply struct {
	Code    string `json:"code"`
	MatchID string `json:"matchId"` // the join page's "Watch instead"
	Link    string `json:"link"`
	QR      string `json:"qr"`
	// What the host's settings may be (the lobby's controls use it).
	Limits settingsLimits `json:"limits"`
}

// lobbyCode resolves the {code} of a path to the private match in its
// lobby that has it, and that match's id. Whoever knows the code knows the
// link, so neither call needs a token; a code of no lobby is a 404, so this
// is no QR service for any text. A started (or finished) match is a 409
// that carries its id, for watching. A look-up is a guess like a join: it
// waits out the address's wrong codes, and a wrong one counts.
func (g *Gateway) lobbyCode(w http.ResponseWriter, r *http.Request) (code, matchID string, aerr *apiError) {
	code = strings.ToUpper(strings.TrimSpace(r.PathValue("code")))
	if len(code) != codeLen { // no code at all: not a guess
		return "", "", &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "No match has that invite code."}
	}
	if e := g.limits.admitCode(w, r); e != nil {
		return "", "", e
	}
	defer func() { g.limits.codeResult(r, aerr) }()
	e := g.store.byCode(code)
	if e == nil {
		return "", "", &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "No match has that invite code."}
	}
	open := false
	e.read(func(s *game.State) { matchID, open = s.MatchID, s.Phase == events.PhaseLobby })
	if !open {
		return "", "", &apiError{Status: http.StatusConflict, Code: "already_started", Message: "This match has already started.", MatchID: matchID}
	}
	return code, matchID, nil
}

// joinLink is the invite link of code as reached through r.
func (g *Gateway) joinLink(r *http.Request, code string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return g.cfg.HTTP.JoinURL(scheme+"://"+r.Host, code)
}

// GET /api/invite/{code}
func (g *Gateway) handleInvite(w http.ResponseWriter, r *http.Request) *apiError {
	code, matchID, e := g.lobbyCode(w, r)
	if e != nil {
		return e
	}
	writeJSON(w, http.StatusOK, inviteReply{Code: code, MatchID: matchID, Link: g.joinLink(r, code), QR: "/join/" + code + "/qr.svg", Limits: g.settingsLimits()})
	return nil
}

// GET /join/{code}/qr.svg: the invite link as a QR code, drawn here so the
// page needs no script library and no network.
func (g *Gateway) handleQR(w http.ResponseWriter, r *http.Request) *apiError {
	code, _, e := g.lobbyCode(w, r)
	if e != nil {
		return e
	}
	svg, err := qrSVG(g.joinLink(r, code))
	if err != nil {
		g.logger.Error("drawing a QR code failed", "err", err)
		return errInternal
	}
	h := w.Header()
	h.Set("Content-Type", "image/svg+xml")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	// An SVG opened on its own is a document: it may run nothing.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	_, _ = w.Write(svg)
	return nil
}

// qrSVG draws text as a QR code (medium error correction, the standard
// quiet zone of 4 modules): one unit per module, dark runs of each row as
// one path, so the image is a few kilobytes and scales to any size.
func qrSVG(text string) ([]byte, error) {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return nil, err
	}
	bm := q.Bitmap()
	n := len(bm)
	var b strings.Builder
	// width and height give the image a size of its own (6 px a module), so
	// an <img> of it has one before any style applies.
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" shape-rendering="crispEdges" role="img">`, 6*n, 6*n, n, n)
	b.WriteString(`<title>QR code of the invite link</title>`)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y, row := range bm {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			run := 1
			for x+run < len(row) && row[x+run] {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x, y, run, run)
			x += run
		}
	}
	b.WriteString(`"/></svg>`)
	return []byte(b.String()), nil
}
