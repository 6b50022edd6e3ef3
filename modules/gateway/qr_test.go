package gateway

import (
	"image"
	"image/color"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	zxingqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/arena-hq/arena/config"
)

var (
	svgViewBox = regexp.MustCompile(`viewBox="0 0 (\d+) (\d+)"`)
	svgRun     = regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`)
)

// decodeQRSVG rasterises the server's QR SVG (its viewBox and the row runs
// of its path, 6 px a module) and reads it back with a QR decoder.
func decodeQRSVG(t *testing.T, svg string) string {
	t.Helper()
	vb := svgViewBox.FindStringSubmatch(svg)
	if vb == nil {
		t.Fatalf("no viewBox in the QR SVG: %.200s", svg)
	}
	n, _ := strconv.Atoi(vb[1])
	const px = 6
	img := image.NewGray(image.Rect(0, 0, n*px, n*px))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	runs := svgRun.FindAllStringSubmatch(svg, -1)
	if len(runs) == 0 {
		t.Fatalf("no dark modules in the QR SVG: %.200s", svg)
	}
	for _, m := range runs {
		x, _ := strconv.Atoi(m[1])
		y, _ := strconv.Atoi(m[2])
		w, _ := strconv.Atoi(m[3])
		for yy := y * px; yy < (y+1)*px; yy++ {
			for xx := x * px; xx < (x+w)*px; xx++ {
				img.SetGray(xx, yy, color.Gray{})
			}
		}
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := zxingqr.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("the QR SVG does not decode: %v", err)
	}
	return res.GetText()
}

// getQR fetches a QR image and checks it is a safe SVG.
func (h *harness) getQR(path string) (int, string) {
	h.t.Helper()
	res, err := http.Get(h.srv.URL + path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode == 200 {
		if ct := res.Header.Get("Content-Type"); ct != "image/svg+xml" {
			h.t.Errorf("QR content type %q, want image/svg+xml", ct)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			h.t.Errorf("QR served without a locked-down CSP: %q", csp)
		}
		if strings.Contains(string(b), "<script") {
			h.t.Errorf("QR SVG holds a script")
		}
	}
	return res.StatusCode, string(b)
}

// TestInviteQR: the lobby's QR code decodes to the invite link, which is
// http.public_url's when set and else the host the request came to.
func TestInviteQR(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.HTTP.PublicURL = "https://arena.example.org/party/" })
	host := h.create("Ann", "private", 2)
	want := "https://arena.example.org/party/join/" + host.Code

	var inv inviteReply
	if st, raw := h.call("GET", "/api/invite/"+strings.ToLower(host.Code), nil, "", &inv); st != 200 {
		t.Fatalf("invite: %d %s", st, raw)
	}
	if inv.Link != want || inv.Code != host.Code || inv.QR != "/join/"+host.Code+"/qr.svg" {
		t.Fatalf("invite %+v: want link %s and its QR", inv, want)
	}
	st, svg := h.getQR(inv.QR)
	if st != 200 {
		t.Fatalf("QR: %d %s", st, svg)
	}
	if got := decodeQRSVG(t, svg); got != want {
		t.Fatalf("the QR code reads %q, want %q", got, want)
	}

	h.expectError("GET", "/api/invite/ZZZZZZ", nil, "", 404, "not_found")
	h.expectError("GET", "/join/ZZZZZZ/qr.svg", nil, "", 404, "not_found")
	h.expectError("GET", "/join/ABC/qr.svg", nil, "", 404, "not_found")
	h.join(host.Code, "Bob")
	h.start(host)
	h.expectError("GET", inv.QR, nil, "", 409, "already_started")

	// Without http.public_url the link is the request's own host.
	h2 := newHarness(t, nil)
	other := h2.create("Cy", "private", 2)
	st, svg = h2.getQR("/join/" + other.Code + "/qr.svg")
	if st != 200 {
		t.Fatalf("QR: %d %s", st, svg)
	}
	if got, want := decodeQRSVG(t, svg), h2.srv.URL+"/join/"+other.Code; got != want {
		t.Fatalf("the QR code reads %q, want %q", got, want)
	}
}
