package web_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// reduceMotion makes the tab report prefers-reduced-motion: reduce.
func reduceMotion() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
		})
		return err
	})
}

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
	dana.waitFor("answer sent", `!document.querySelector("#answer-sent").hidden || document.body.dataset.phase !== "answering"`, 15*time.Second)
	dana.waitFor("the draft forgotten", `!Object.keys(localStorage).some(k => k.startsWith("arena.draft."))`, 10*time.Second)

	// --- a spectator picks who is human; the audience's pick shows on the
	// player's page with the results, and on the spectator's afterwards.
	sam := newPlayer(t, browser, art, "sam")
	sam.do("phone viewport", 10*time.Second, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	sam.navigate(srv.httpURL + matchPath)
	sam.waitPhase("voting", 1, 40*time.Second)
	sam.waitFor("the pick buttons", jsVisible("pick-"+seat), 10*time.Second)
	if eval[bool](sam, jsVisible("vote-"+seat)) {
		t.Errorf("a spectator is offered a player's vote")
	}
	sam.do("pick dana's seat", 10*time.Second, chromedp.Click(tid("pick-"+seat)))
	sam.waitFor("the pick taken", jsTid("pick-"+seat)+`.getAttribute("aria-pressed") === "true"`, 10*time.Second)
	sam.art.shot(sam.ctx, "spectator-pick-phone")
	dana.waitPhase("voting", 1, 10*time.Second)
	other := eval[string](dana, `[...document.querySelectorAll('#vote-cards [data-testid^="vote-"]')].map(b => b.dataset.testid.slice(5)).find(s => s !== "none") || ""`)
	if other == "" {
		t.Fatal("dana has no seat to vote for")
	}
	dana.do("vote", 10*time.Second, chromedp.Click(tid("vote-"+other)))
	want := "The audience picked " + seat + " (1)."
	dana.waitFor("the audience's pick in the results", jsTid("audience-results")+`.textContent === `+strconv.Quote(want)+` || (document.querySelector('[data-testid="audience-round-1"]')?.textContent === `+strconv.Quote(want)+`)`, 40*time.Second)
	dana.art.shot(dana.ctx, "audience-results")
	sam.waitFor("the audience's pick on the spectator's page", jsTid("audience-results")+`.textContent === `+strconv.Quote(want)+` || (document.querySelector('[data-testid="audience-round-1"]')?.textContent === `+strconv.Quote(want)+`)`, 40*time.Second)
}

// joinByLink opens the invite link and takes a seat under name.
func (p *player) joinByLink(link, name string) {
	p.t.Helper()
	p.navigate(link)
	p.waitFor("the join form", jsVisible("join"), 10*time.Second)
	p.do("join", 20*time.Second, chromedp.SendKeys(tid("name"), name), chromedp.Click(tid("join")))
	p.waitFor("the match lobby", `location.pathname.startsWith("/match/") && document.body.dataset.phase === "lobby" && document.body.dataset.connected === "true"`, 20*time.Second)
}

// lobbyNames lists the names in the lobby's "Who's here".
func (p *player) lobbyNames() string {
	p.t.Helper()
	return eval[string](p, `[...document.querySelectorAll('[data-testid="lobby-player"] .player-name')].map(e => e.textContent).join(",")`)
}

// TestHostControlsInBrowser: the host of a private lobby changes the
// settings, sees who joined by name, removes a player and leaves; the next
// player becomes the host and starts the match with those settings.
func TestHostControlsInBrowser(t *testing.T) {
	art := newArtifacts(t)
	srv := startArena(t, art)
	browser := newBrowser(t)
	ann := newPlayer(t, browser, art, "ann")
	ben := newPlayer(t, browser, art, "ben")
	cy := newPlayer(t, browser, art, "cy")
	ben.do("phone viewport", 10*time.Second, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))

	ann.navigate(srv.httpURL + "/")
	ann.do("create a private match", 20*time.Second, chromedp.SendKeys(tid("name"), "Ann"), chromedp.Click(tid("create")))
	ann.waitFor("the host settings", jsVisible("host-settings")+` && `+jsTid("set-rounds")+`.value === "3"`, 20*time.Second)
	link := eval[string](ann, `document.querySelector('#invite-link').value`)

	ben.joinByLink(link, "Ben")
	if eval[bool](ben, jsVisible("host-settings")) {
		t.Errorf("a guest sees the host's settings form")
	}
	ann.waitFor("Ben in the lobby", `document.querySelectorAll('[data-testid="lobby-player"]').length === 2`, 15*time.Second)
	if names := ann.lobbyNames(); names != "Ann,Ben" {
		t.Errorf("the host's lobby lists %q, want Ann,Ben", names)
	}

	// Settings: 2 rounds, 25 s to answer, 15 s to vote, 3 players.
	for id, v := range map[string]string{"set-rounds": "2", "set-answer": "25", "set-vote": "15", "set-humans": "3"} {
		eval[bool](ann, fmt.Sprintf(`(e => { e.focus(); e.value = %q; e.dispatchEvent(new Event("input", {bubbles: true})); return true })(%s)`, v, jsTid(id)))
	}
	ann.do("save settings", 10*time.Second, chromedp.Click(tid("save-settings")))
	for _, p := range []*player{ann, ben} {
		p.waitFor("the new settings", jsTid("lobby-settings")+`.textContent.startsWith("2 rounds · 25 s to answer · 15 s to vote · up to 3 players")`, 15*time.Second)
	}
	ann.art.shot(ann.ctx, "host-lobby")
	ben.noHorizontalScroll("guest lobby")
	ben.art.shot(ben.ctx, "guest-lobby-phone")

	// A third player fits now, and is removed by the host.
	cy.joinByLink(link, "Cy")
	ann.waitFor("Cy in the lobby", `document.querySelectorAll('[data-testid="lobby-player"]').length === 3`, 15*time.Second)
	ann.do("remove Cy", 10*time.Second, chromedp.Click(chromedp.CSS(`button[aria-label="Remove Cy from the match"]`)))
	cy.waitFor("the removal notice", `document.body.dataset.phase === "error" && /removed/i.test(document.querySelector('#fatal-text').textContent)`, 15*time.Second)
	cy.art.shot(cy.ctx, "removed")
	if has := eval[bool](cy, `Object.keys(localStorage).some(k => k.startsWith("arena.token."))`); has {
		t.Errorf("the removed player's browser keeps the token")
	}
	ann.waitFor("Cy gone", `document.querySelectorAll('[data-testid="lobby-player"]').length === 2`, 15*time.Second)

	// The host leaves: Ben is the host and starts.
	ann.do("leave", 10*time.Second, chromedp.Click(tid("leave")))
	ann.waitFor("the leave confirmation", jsTid("leave")+`.textContent.includes("again")`, 5*time.Second)
	ann.do("leave for real", 10*time.Second, chromedp.Click(tid("leave")))
	ann.waitFor("the home page", `location.pathname === "/"`, 15*time.Second)
	ben.waitFor("the start button", jsVisible("start")+` && `+jsVisible("host-settings"), 15*time.Second)
	if names := ben.lobbyNames(); names != "Ben" {
		t.Errorf("after the host left Ben's lobby lists %q", names)
	}
	ben.art.shot(ben.ctx, "new-host-phone")
	ben.do("start", 10*time.Second, chromedp.Click(tid("start")))
	ben.waitPhase("answering", 1, 30*time.Second)
	if r := ben.text("round"); r != "Round 1/2" {
		t.Errorf("the round label reads %q, want Round 1/2", r)
	}
	if cd, _ := strconv.Atoi(strings.TrimSuffix(ben.text("countdown"), "s")); cd < 15 || cd > 25 {
		t.Errorf("the answer countdown shows %ds, want at most the host's 25 s", cd)
	}
}
