package web_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// shotBoth screenshots the page on desktop, then on a phone, and goes back
// to the desktop viewport (set, not reset: a reset keeps the phone's size).
func (p *player) shotBoth(name string) {
	p.t.Helper()
	p.art.shot(p.ctx, name)
	p.do("phone viewport", 10*time.Second, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	p.noHorizontalScroll(name)
	p.art.shot(p.ctx, name+"-phone")
	p.do("desktop viewport", 10*time.Second, chromedp.EmulateViewport(1280, 900))
}

// TestWatchFromInvite: the invite link offers "Watch instead" while the
// lobby is open; once the host started, the link says so and offers "Watch
// this match" (on opening it, and to a guest whose join the start
// overtook), which leads to the spectator's page of that match. An unknown
// code says so.
func TestWatchFromInvite(t *testing.T) {
	art := newArtifacts(t)
	srv := startArena(t, art)
	browser := newBrowser(t)
	ann := newPlayer(t, browser, art, "ann")
	gus := newPlayer(t, browser, art, "gus")
	rae := newPlayer(t, browser, art, "rae")

	ann.navigate(srv.httpURL + "/")
	ann.do("create a private match", 20*time.Second, chromedp.SendKeys(tid("name"), "Ann"), chromedp.Click(tid("create")))
	ann.waitFor("the match lobby", `document.body.dataset.phase === "lobby" && document.body.dataset.connected === "true"`, 20*time.Second)
	matchPath := eval[string](ann, `location.pathname`)
	ann.waitFor("the invite link", `document.querySelector('#invite-link').value !== ""`, 10*time.Second)
	link := eval[string](ann, `document.querySelector('#invite-link').value`)

	// --- the lobby is open: join, or watch instead.
	gus.navigate(link)
	gus.waitFor("the watch offer", jsVisible("watch-instead")+` && `+jsVisible("join"), 10*time.Second)
	if href := eval[string](gus, jsTid("watch-instead")+`.getAttribute("href")`); href != matchPath {
		t.Errorf("Watch instead goes to %q, want %q", href, matchPath)
	}
	if eval[bool](gus, jsVisible("watch-match")) {
		t.Errorf("an open lobby's invite shows the started card")
	}
	gus.shotBoth("join-watch-instead")
	rae.navigate(link) // rae will be too late
	rae.waitFor("the join form", jsVisible("join"), 10*time.Second)

	// --- the host starts: the link now offers watching, not a seat.
	ann.waitFor("the start button", jsVisible("start"), 10*time.Second)
	ann.do("start", 10*time.Second, chromedp.Click(tid("start")))
	ann.waitPhase("answering", 1, 30*time.Second)

	gus.navigate(link)
	gus.waitFor("the started card", jsVisible("watch-match"), 10*time.Second)
	if eval[bool](gus, jsVisible("join")) || eval[bool](gus, jsVisible("watch-instead")) {
		t.Errorf("the invite of a started match still offers a seat")
	}
	if title := gus.text("join-closed"); !strings.Contains(title, "already started") {
		t.Errorf("the started card reads %q, want it to say the match already started", title)
	}
	if label := gus.text("watch-match"); label != "Watch this match" {
		t.Errorf("the watch action reads %q", label)
	}
	gus.shotBoth("join-started-watch")

	// rae's join, sent after the start from the page opened before it, is
	// refused with the match id: the same card, not just a toast.
	rae.do("join too late", 20*time.Second, chromedp.SendKeys(tid("name"), "Rae"), chromedp.Click(tid("join")))
	rae.waitFor("the started card", jsVisible("watch-match")+` && !`+jsVisible("join"), 15*time.Second)
	if href := eval[string](rae, jsTid("watch-match")+`.getAttribute("href")`); href != matchPath {
		t.Errorf("rae's Watch this match goes to %q, want %q", href, matchPath)
	}

	// --- follow it: the spectator's page of that match, no seat.
	gus.do("watch", 10*time.Second, chromedp.Click(tid("watch-match")))
	gus.waitFor("the match page", `location.pathname === `+strconv.Quote(matchPath)+` && ["answering", "voting", "results"].includes(document.body.dataset.phase)`, 20*time.Second)
	gus.waitFor("the spectator's marker", jsTid("you")+`.textContent.trim() === "Spectating"`, 10*time.Second)
	if eval[bool](gus, `Object.keys(localStorage).some(k => k.startsWith("arena.token."))`) {
		t.Errorf("watching left a seat token in the browser")
	}
	if eval[string](gus, `document.body.dataset.phase`) == "answering" {
		gus.waitFor("the watching note", `!document.querySelector("#answer-spectator").hidden`, 10*time.Second)
		if eval[bool](gus, jsVisible("answer-input")) {
			t.Errorf("a spectator is offered the answer box")
		}
	}
	gus.art.shot(gus.ctx, "spectating")

	// --- an unknown code says so at once, and offers nothing to watch.
	gus.navigate(srv.httpURL + "/join/ZZZZZZ")
	gus.waitFor("the unknown-code error", jsVisible("code-error"), 10*time.Second)
	if txt := gus.text("code-error"); !strings.Contains(txt, "No match has that invite code") {
		t.Errorf("unknown code: the page says %q", txt)
	}
	if eval[bool](gus, jsVisible("watch-match")) || eval[bool](gus, jsVisible("watch-instead")) {
		t.Errorf("an unknown code offers to watch")
	}
}
