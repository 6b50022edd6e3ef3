package web_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestComingBack: a player who left finds the way back. The page reconnects
// within about 2 s of the server's return while it is visible (the backoff
// is capped low), the home page offers "Return to your match" while the
// match is live, and a half-typed answer survives a reload.
func TestComingBack(t *testing.T) {
	art := newArtifacts(t)
	srv := startArena(t, art)
	browser := newBrowser(t)
	dana := newPlayer(t, browser, art, "dana")

	dana.navigate(srv.httpURL + "/")
	dana.waitFor("the lobby form", jsVisible("create"), 10*time.Second)
	if eval[bool](dana, jsVisible("return")) {
		t.Errorf("a fresh browser is offered to return to a match")
	}
	dana.do("create a private match", 20*time.Second,
		chromedp.SendKeys(tid("name"), "Dana"),
		chromedp.Click(tid("create")))
	dana.waitFor("the match lobby", `document.body.dataset.phase === "lobby" && document.body.dataset.connected === "true"`, 20*time.Second)
	matchPath := eval[string](dana, `location.pathname`)
	seat := dana.mySeat()
	// The invite card shows the server's link and its QR code.
	dana.waitFor("the invite QR code", `(i => i.complete && i.naturalWidth > 0)(`+jsTid("invite-qr")+`)`, 10*time.Second)
	code := dana.text("invite-code")
	if link := eval[string](dana, `document.querySelector('#invite-link').value`); link != srv.httpURL+"/join/"+code {
		t.Errorf("invite link %q, want %s/join/%s", link, srv.httpURL, code)
	}
	dana.art.shot(dana.ctx, "lobby-qr")

	// --- the server goes away for a while: the visible page keeps trying
	// every 2 s at most, and is back soon after the server is.
	srv.kill()
	dana.waitFor("four reconnect attempts", `Number(document.body.dataset.reconnects || 0) >= 4`, 30*time.Second)
	if d, _ := strconv.Atoi(eval[string](dana, `document.body.dataset.retryDelay || ""`)); d <= 0 || d > 2000 {
		t.Errorf("the fourth reconnect waits %d ms on a visible page, want at most 2000", d)
	}
	srv.start()
	back := time.Now()
	dana.waitFor("connected again", `document.body.dataset.connected === "true" && document.body.dataset.phase === "lobby"`, 10*time.Second)
	if took := time.Since(back); took > 4*time.Second {
		t.Errorf("the page reconnected %v after the server was ready, want within about 2 s", took.Round(100*time.Millisecond))
	}

	// --- home: "Return to your match" while it is live. A newer seat in a
	// match the server does not know is passed over.
	eval[bool](dana, `(localStorage.setItem("arena.token.no-such-match", JSON.stringify({token: "x", seat: "A", name: "Dana", at: Date.now() + 1000})), true)`)
	dana.navigate(srv.httpURL + "/")
	dana.waitFor("the return offer", jsVisible("return-match"), 15*time.Second)
	if href := eval[string](dana, jsTid("return-match")+`.getAttribute("href")`); href != matchPath {
		t.Errorf("return link goes to %q, want %q", href, matchPath)
	}
	if note := eval[string](dana, `document.querySelector('#return-note').textContent`); !strings.Contains(note, "seat "+seat) || !strings.Contains(note, "lobby") {
		t.Errorf("return note %q: want the seat %s and the lobby", note, seat)
	}
	dana.art.shot(dana.ctx, "return-to-match")
	dana.do("phone viewport", 10*time.Second, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	dana.noHorizontalScroll("home with return")
	dana.art.shot(dana.ctx, "return-to-match-phone")
	dana.do("desktop viewport", 10*time.Second, chromedp.EmulateReset())
	dana.do("return to the match", 10*time.Second, chromedp.Click(tid("return-match")))
	dana.waitFor("the match lobby", `location.pathname === `+strconv.Quote(matchPath)+` && document.body.dataset.phase === "lobby"`, 20*time.Second)
	if s := dana.mySeat(); s != seat {
		t.Errorf("back in the match as seat %s, want %s", s, seat)
	}

	// --- a draft survives a reload.
	dana.waitFor("the start button", jsVisible("start"), 10*time.Second)
	dana.do("start", 10*time.Second, chromedp.Click(tid("start")))
	dana.waitPhase("answering", 1, 30*time.Second)
	draft := "half a thought about"
	dana.waitFor("the answer box", jsVisible("answer-input"), 15*time.Second)
	dana.do("type a draft", 20*time.Second, chromedp.Focus(tid("answer-input")), chromedp.KeyEvent(draft))
	dana.do("reload", 30*time.Second, chromedp.Reload())
	dana.waitPhase("answering", 1, 30*time.Second)
	dana.waitFor("the draft back in the box", jsTid("answer-input")+`.value === `+strconv.Quote(draft), 10*time.Second)
	dana.waitFor("Send enabled", `!`+jsTid("answer-submit")+`.disabled`, 10*time.Second)
	dana.art.shot(dana.ctx, "draft-after-reload")

	// Once the answer counts the draft is gone: a reload shows it sent.
	dana.do("finish and send", 20*time.Second, chromedp.Focus(tid("answer-input")), chromedp.KeyEvent(" tea\r"))
	dana.waitFor("answer sent", jsVisible("my-answer")+` || document.body.dataset.phase !== "answering"`, 15*time.Second)
	dana.waitFor("the draft forgotten", `!Object.keys(localStorage).some(k => k.startsWith("arena.draft."))`, 10*time.Second)
}
