package web_test

// Rendering tests of the live match page in Chromium, with no game server:
// the pages are served straight from web.Files and the page's WebSocket is
// replaced (before any page script runs) by a fake that hands the page the
// views this test pushes. So every phase, including rare ones (a 280
// character word on a phone, "(no answer)", an abandoned match), is drawn
// and screenshotted deterministically.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/arena-hq/arena/modules/gateway/web"
)

// pagesOnly serves the embedded pages (web.Routes) and static files like
// the gateway does, with its Content-Security-Policy, and nothing else.
func pagesOnly() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(web.Files)))
	for _, route := range web.Routes {
		b, err := web.Page(route.Page)
		mux.HandleFunc(route.Pattern, func(w http.ResponseWriter, _ *http.Request) {
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write(b)
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"code":"not_found","message":"No such thing."}`))
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; connect-src 'self'")
		mux.ServeHTTP(w, r)
	})
}

// fakeSocket replaces WebSocket with a fake that opens at once, acks every
// frame with an id, records what the page sent in window.__sent, and lets the
// test push frames with window.__push(frame).
const fakeSocket = `
(() => {
  localStorage.setItem("arena.token.m-preview", JSON.stringify({token: "tok", seat: "B", name: "Bea"}));
  window.__sent = [];
  class FakeSocket {
    constructor(url) {
      this.url = url; this.readyState = 0; this.l = {};
      window.__socket = this;
      setTimeout(() => { this.readyState = 1; this.emit("open", {}); if (window.__last) this.emit("message", {data: window.__last}); }, 0);
    }
    addEventListener(t, f) { (this.l[t] ||= []).push(f); }
    emit(t, e) { (this.l[t] || []).forEach((f) => f(e)); }
    send(d) {
      const m = JSON.parse(d); window.__sent.push(m);
      if (m.id) setTimeout(() => this.emit("message", {data: JSON.stringify({type: "ack", id: m.id})}), 0);
    }
    close() { this.readyState = 3; }
  }
  FakeSocket.CONNECTING = 0; FakeSocket.OPEN = 1; FakeSocket.CLOSING = 2; FakeSocket.CLOSED = 3;
  window.WebSocket = FakeSocket;
  window.__push = (frame) => { window.__last = JSON.stringify(frame); if (window.__socket && window.__socket.readyState === 1) window.__socket.emit("message", {data: window.__last}); };
})();
`

type view = map[string]any

func deadlineIn(d time.Duration) string { return time.Now().Add(d).UTC().Format(time.RFC3339Nano) }

func previewViews() []struct {
	name  string
	view  view
	check string // a JavaScript condition that must hold once drawn
} {
	long := strings.Repeat("W", 280)
	xss := `<b>bold</b><img src=x onerror="window.__pwned=1">`
	seats := func(f func(s string) view) []view {
		var out []view
		for _, s := range []string{"A", "B", "C", "D"} {
			v := view{"seat": s, "answered": false, "typing": false, "voted": false}
			for k, x := range f(s) {
				v[k] = x
			}
			out = append(out, v)
		}
		return out
	}
	base := func(phase string, round int) view {
		return view{"matchId": "m-preview", "mode": "private", "code": "K7P2QX", "phase": phase, "round": round, "rounds": 3,
			"prompt": "What's the strangest job you've ever had?", "you": "B", "seatsTotal": 4, "maxAnswerChars": 280,
			"seats": []view{}, "answers": []view{}, "votes": []view{}, "scores": view{}, "version": round * 10}
	}
	r1answers := []view{
		{"round": 1, "seat": "A", "text": "i once sold umbrellas outside a train station, made bank when it rained lol"},
		{"round": 1, "seat": "B", "text": "Night shift at a bakery. The smell never leaves you."},
		{"round": 1, "seat": "C", "text": xss},
		{"round": 1, "seat": "D", "text": long},
	}
	r1votes := []view{{"round": 1, "voter": "A", "seat": "B"}, {"round": 1, "voter": "B", "seat": "A"}, {"round": 1, "voter": "C", "seat": "B"}, {"round": 1, "voter": "D", "seat": "C"}}

	lobby := base("lobby", 0)
	lobby["prompt"] = ""
	lobby["host"] = true
	lobby["joined"] = 2
	lobby["seats"] = []view{{"seat": "B"}}
	lobby["deadline"] = deadlineIn(10 * time.Minute)

	answering := base("answering", 1)
	answering["deadline"] = deadlineIn(40 * time.Second)
	answering["seats"] = seats(func(s string) view {
		return view{"answered": s == "A" || s == "D", "typing": s == "C"}
	})

	voting := base("voting", 1)
	voting["deadline"] = deadlineIn(25 * time.Second)
	voting["answers"] = r1answers
	voting["seats"] = seats(func(s string) view { return view{"voted": s == "C"} })

	results := base("results", 1)
	results["deadline"] = deadlineIn(5 * time.Second)
	results["answers"] = r1answers
	results["votes"] = r1votes
	results["seats"] = seats(func(string) view { return view{} })

	answering2 := base("answering", 2)
	answering2["prompt"] = "What did you have for breakfast today, honestly?"
	answering2["deadline"] = deadlineIn(4 * time.Second)
	answering2["answers"] = r1answers
	answering2["votes"] = r1votes
	answering2["seats"] = seats(func(s string) view { return view{"typing": s != "B"} })

	finished := base("finished", 3)
	finished["deadline"] = nil
	finished["answers"] = append(append([]view{}, r1answers...), view{"round": 2, "seat": "A", "text": "toast", "noAnswer": false}, view{"round": 2, "seat": "B", "text": "", "noAnswer": true},
		view{"round": 2, "seat": "C", "text": "cereal"}, view{"round": 2, "seat": "D", "text": "nothing, coffee"})
	finished["votes"] = r1votes
	finished["scores"] = view{"A": 150, "B": 250, "C": 100, "D": 0}
	finished["winners"] = []string{"B"}
	finished["endReason"] = "completed"
	finished["reveal"] = []view{
		{"seat": "A", "human": true, "name": "Alice", "score": 150, "correct": 1, "votes": 1},
		{"seat": "B", "human": true, "name": "Bea <i>x</i>", "score": 250, "correct": 1, "votes": 1},
		{"seat": "C", "human": false, "name": "Maya", "personality": "curious-student", "model": "gpt-4o-mini", "score": 100, "correct": 1, "votes": 1},
		{"seat": "D", "human": false, "name": "Viktor", "personality": "skeptical-scientist", "model": "gpt-4o", "score": 0, "correct": 0, "votes": 1},
	}

	return []struct {
		name  string
		view  view
		check string
	}{
		{"lobby", lobby, jsVisible("start") + ` && ` + jsTid("invite-code") + `.textContent === "K7P2QX"`},
		{"answering", answering, jsVisible("answer-input") + ` && ` + jsVisible("countdown") + ` && /\d\/4 answered/.test(document.querySelector("#progress").textContent) && !!document.querySelector(".state-typing")`},
		{"voting", voting, `document.querySelectorAll('[data-testid^="vote-"]').length === 3 && !` + jsTid("vote-B") + ` && ` + jsTid("answer-card-C") + `.querySelectorAll("b, img").length === 0 && ` + jsTid("answer-card-C") + `.textContent.includes("<b>bold</b>")`},
		{"results", results, `document.querySelectorAll("#result-cards .vote-line").length === 4`},
		{"answering-round2", answering2, jsVisible("answer-input") + ` && !document.querySelector("#earlier").hidden`},
		{"finished", finished, `document.querySelectorAll('[data-testid^="reveal-"]:not([data-testid="reveal"])').length === 4 && ` + jsTid("reveal-C") + `.textContent.includes("gpt-4o-mini") && ` + jsTid("reveal-C") + `.textContent.includes("curious-student") && ` + jsVisible("play-again") + ` && ` + jsTid("reveal-B") + `.textContent.includes("Bea <i>x</i>") && document.querySelector("#reveal").dataset.turned === "all"`},
	}
}

// TestMatchPhasesRender draws every phase of the match page from fixed views
// on a desktop window and on a phone, checks what each shows, that nothing
// overflows sideways and that no human text turns into HTML.
func TestMatchPhasesRender(t *testing.T) {
	art := newArtifacts(t)
	ts := httptest.NewServer(pagesOnly())
	defer ts.Close()
	browser := newBrowser(t)

	for _, device := range []struct {
		name          string
		width, height int64
		mobile        bool
	}{{"desktop", 1280, 900, false}, {"phone", 390, 844, true}} {
		p := newPlayer(t, browser, art, device.name)
		opts := []chromedp.EmulateViewportOption{}
		if device.mobile {
			opts = append(opts, chromedp.EmulateScale(2), chromedp.EmulateMobile)
		}
		p.do("viewport", 10*time.Second, chromedp.EmulateViewport(device.width, device.height, opts...),
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: fakeSocket})
				return err
			}))
		p.navigate(ts.URL + "/match/m-preview")
		for _, pv := range previewViews() {
			frame, err := json.Marshal(map[string]any{"type": "state", "state": pv.view})
			if err != nil {
				t.Fatal(err)
			}
			eval[bool](p, fmt.Sprintf(`(window.__push(%s), true)`, frame))
			p.waitFor(pv.name+" drawn", fmt.Sprintf(`document.body.dataset.phase === %q && (%s)`, pv.view["phase"], pv.check), 10*time.Second)
			p.noHorizontalScroll(pv.name)
			p.art.shot(p.ctx, pv.name+"-"+device.name)
		}
		if eval[bool](p, `window.__pwned === 1`) {
			t.Errorf("%s: human text ran as script", device.name)
		}
	}
}
