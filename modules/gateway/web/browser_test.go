package web_test

// Browser tests: real Chromium (Debian's chromium package) driven with
// chromedp against a real `arena serve --all` (embedded broker, scripted
// robots, short timers), started as a subprocess per test.
//
// Screenshots of every phase go to $ARENA_ARTIFACTS/<TestName>/ (default:
// <repo>/test-artifacts/browser/<TestName>/), together with the server's log.
//
// Every wait is on a DOM condition with a deadline; nothing sleeps as an
// assertion.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/arena-hq/arena/internal/arenatest"
)

var (
	repoRoot string // the module root
	arenaBin string // the arena binary TestMain built
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	root, err := findRepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "browser tests:", err)
		return 1
	}
	repoRoot = root
	if bin := os.Getenv("ARENA_BIN"); bin != "" {
		// A prebuilt arena binary, e.g. to try the pages against another build.
		arenaBin = bin
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "arena-browser-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "browser tests:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if arenaBin, err = arenatest.Build(dir, ""); err != nil {
		fmt.Fprintln(os.Stderr, "browser tests:", err)
		return 1
	}
	return m.Run()
}

func findRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.Contains(b, []byte("module github.com/arena-hq/arena\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the arena module root (go.mod) above the working directory")
		}
		dir = parent
	}
}

// ---- artifacts ---------------------------------------------------------

// artifacts is where one test keeps its screenshots and the server log.
type artifacts struct {
	t   *testing.T
	dir string
	mu  sync.Mutex
	n   int
}

func newArtifacts(t *testing.T) *artifacts {
	t.Helper()
	base := os.Getenv("ARENA_ARTIFACTS")
	if base == "" {
		base = filepath.Join(repoRoot, "test-artifacts", "browser")
	}
	dir := filepath.Join(base, t.Name())
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("artifacts: %s", dir)
	return &artifacts{t: t, dir: dir}
}

// shot saves a full-page PNG of the tab as NN-name.png.
func (a *artifacts) shot(ctx context.Context, name string) {
	a.t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	// Let entrance animations finish (not the endless ones, like a spinner),
	// so the picture shows the page as a player sees it a moment later.
	for settle := time.Now().Add(3 * time.Second); time.Now().Before(settle); {
		running, err := chromedp.Run(sctx, chromedp.Evaluate[int](`document.getAnimations().filter(a => a instanceof CSSAnimation && a.playState === "running" && a.effect && a.effect.getComputedTiming().endTime !== Infinity).length`))
		if err != nil || running == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		a.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	a.mu.Lock()
	a.n++
	file := filepath.Join(a.dir, fmt.Sprintf("%02d-%s.png", a.n, name))
	a.mu.Unlock()
	if err := os.WriteFile(file, png, 0o644); err != nil {
		a.t.Errorf("screenshot %s: %v", name, err)
	}
}

// ---- the arena server ----------------------------------------------------

// arenaServer is one `arena serve --all` subprocess with its own ports,
// data directory and config. restart starts it again on the same ports and
// data directory.
type arenaServer struct {
	t       *testing.T
	httpURL string
	cfgPath string
	dataDir string
	logFile *os.File

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// testConfig: 4 seats (2 humans + 2 robots in a private match of two
// players), 3 rounds, short windows, fast scripted robots.
const testConfig = `
http:
  addr: 127.0.0.1:%d
kafka:
  embedded_addr: 127.0.0.1:%d
  partitions: 1
data_dir: %s
llm:
  provider: scripted
game:
  seats: 4
  humans: 2
  rounds: 3
  answer_window: 20s
  vote_window: 15s
  results_pause: 2s
  lobby_wait: 3s
log:
  level: debug
robots:
  - id: curious-student
    name: Maya
    model: gpt-4o-mini
    temperature: 0.9
    system_prompt: You are Maya, a curious psychology student playing a party game. Answer in one short casual sentence.
    delay: {min: 300ms, max: 1500ms}
    typing_cps: 60
  - id: skeptical-scientist
    name: Viktor
    model: gpt-4o
    temperature: 0.6
    system_prompt: You are Viktor, a dry lab chemist playing a party game. Answer in one short plain sentence.
    delay: {min: 300ms, max: 1500ms}
    typing_cps: 60
  - id: creative-artist
    name: Juniper
    model: gpt-4.1-mini
    temperature: 1.0
    system_prompt: You are Juniper, a dreamy painter playing a party game. Answer in one short vivid sentence.
    delay: {min: 300ms, max: 1500ms}
    typing_cps: 60
`

func startArena(t *testing.T, art *artifacts) *arenaServer {
	t.Helper()
	httpPort, kafkaPort := freePort(t), freePort(t)
	for kafkaPort == httpPort {
		kafkaPort = freePort(t)
	}
	dir := t.TempDir()
	s := &arenaServer{
		t:       t,
		httpURL: fmt.Sprintf("http://127.0.0.1:%d", httpPort),
		cfgPath: filepath.Join(dir, "arena.yaml"),
		dataDir: filepath.Join(dir, "data"),
	}
	cfg := fmt.Sprintf(testConfig, httpPort, kafkaPort, s.dataDir)
	if err := os.WriteFile(s.cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(art.dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	s.logFile = logFile
	t.Cleanup(func() {
		s.stop()
		logFile.Close()
	})
	s.start()
	return s
}

// start runs the server and waits until /readyz answers 200.
func (s *arenaServer) start() {
	s.t.Helper()
	cmd := exec.Command(arenaBin, "serve", "--all", "--config", s.cfgPath, "--data-dir", s.dataDir,
		"--http-addr", strings.TrimPrefix(s.httpURL, "http://"))
	// The test's config, not the environment of whoever runs the tests.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ARENA_") && !strings.HasPrefix(kv, "OPENAI_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	fmt.Fprintf(s.logFile, "==== %s: %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(cmd.Args, " "))
	cmd.Stdout, cmd.Stderr = s.logFile, s.logFile
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("starting arena: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()

	deadline := time.Now().Add(90 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-exited:
			s.t.Fatalf("arena exited while starting (%v); see %s", cmd.ProcessState, s.logFile.Name())
		default:
		}
		if res, err := client.Get(s.httpURL + "/readyz"); err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("arena not ready at %s/readyz after 90s; see %s", s.httpURL, s.logFile.Name())
		}
		time.Sleep(100 * time.Millisecond) // polling interval, not an assertion
	}
}

// kill ends the server at once (SIGKILL), like a crash or a pulled cable.
func (s *arenaServer) kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exited
}

// stop asks the server to drain (SIGTERM) and kills it if it takes too long.
func (s *arenaServer) stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		s.t.Logf("arena did not stop within 20s of SIGTERM; killing it")
		_ = cmd.Process.Kill()
		<-exited
	}
}

// ---- the browser -------------------------------------------------------------

// chromiumPath is Debian's chromium unless ARENA_CHROMIUM names another.
func chromiumPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("ARENA_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		t.Fatalf("Chromium is required for the browser tests but %s is missing or not executable (%v). "+
			"Install Debian's package: apt-get install -y chromium (.ci/run does this), or set ARENA_CHROMIUM to a Chromium binary.", p, err)
	}
	return p
}

// newBrowser starts one headless Chromium for the test and returns its root
// context; player tabs are made with newPlayer, each in its own browser
// context (like an incognito window), so their localStorage is separate.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("hide-scrollbars", false),
		chromedp.Flag("lang", "en-US"),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	// The first Run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return browser
}

// player is one person at one browser tab.
type player struct {
	t    *testing.T
	name string
	ctx  context.Context
	art  *artifacts

	mu         sync.Mutex
	exceptions []string
}

func newPlayer(t *testing.T, browser context.Context, art *artifacts, name string) *player {
	t.Helper()
	p := &player{t: t, name: name, art: art}
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext(),
		chromedp.WithListener(p.onEvent))
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("%s: opening a tab: %v", name, err)
	}
	p.ctx = ctx
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, e := range p.exceptions {
			t.Errorf("%s: uncaught JavaScript exception: %s", name, e)
		}
	})
	return p
}

// onEvent records uncaught exceptions and logs console errors. It runs on
// chromedp's reader goroutine: no commands here.
func (p *player) onEvent(ev any) {
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		msg := e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil && e.ExceptionDetails.Exception.Description != "" {
			msg += ": " + e.ExceptionDetails.Exception.Description
		}
		p.mu.Lock()
		p.exceptions = append(p.exceptions, msg)
		p.mu.Unlock()
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
			var parts []string
			for _, a := range e.Args {
				if a.Description != "" {
					parts = append(parts, a.Description)
				} else {
					parts = append(parts, string(a.Value))
				}
			}
			p.t.Logf("%s console.%s: %s", p.name, e.Type, strings.Join(parts, " "))
		}
	}
}

// do runs actions with a deadline; failure ends the test with a screenshot.
func (p *player) do(what string, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.fail("%s: %v", what, err)
	}
}

func (p *player) fail(format string, args ...any) {
	p.t.Helper()
	p.art.shot(p.ctx, "FAILED-"+p.name)
	state, _ := evalIn[string](p.ctx, `JSON.stringify({url: location.href, phase: document.body.dataset.phase, connected: document.body.dataset.connected, round: document.querySelector('[data-testid=round]')?.textContent, banner: document.querySelector('[data-testid=banner]')?.hidden === false ? document.querySelector('[data-testid=banner]').textContent : ''})`)
	p.t.Fatalf("%s: "+format+" [page: %s]", append([]any{p.name}, append(args, state)...)...)
}

func evalIn[T any](ctx context.Context, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](p *player, expr string) T {
	p.t.Helper()
	v, err := evalIn[T](p.ctx, expr)
	if err != nil {
		p.fail("evaluating %s: %v", expr, err)
	}
	return v
}

// waitFor waits until the JavaScript expression is truthy. It re-checks
// every 100 ms and rides over navigations (a check that fails because the
// page is changing is just tried again).
func (p *player) waitFor(what, expr string, timeout time.Duration) {
	p.t.Helper()
	check := fmt.Sprintf(`(() => { try { return !!(%s); } catch (e) { return false; } })()`, expr)
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		ok, err := evalIn[bool](p.ctx, check)
		if err == nil && ok {
			return
		}
		if err != nil {
			lastErr = err
		}
		if time.Now().After(deadline) {
			p.fail("waited %v for %s (%s); last error: %v", timeout, what, expr, lastErr)
		}
		time.Sleep(100 * time.Millisecond) // polling interval, not an assertion
	}
}

func (p *player) navigate(url string) {
	p.t.Helper()
	p.do("open "+url, 30*time.Second, chromedp.Navigate(url))
}

func tid(id string) chromedp.CSS { return chromedp.CSS(fmt.Sprintf(`[data-testid=%q]`, id)) }

// jsTid is a JavaScript expression for the element with that data-testid.
func jsTid(id string) string { return fmt.Sprintf(`document.querySelector('[data-testid="%s"]')`, id) }

// jsVisible is true when the element is rendered (not hidden, has a box).
func jsVisible(id string) string {
	return fmt.Sprintf(`(e => !!e && !e.closest('[hidden]') && e.getClientRects().length > 0)(%s)`, jsTid(id))
}

func (p *player) text(id string) string {
	p.t.Helper()
	return eval[string](p, fmt.Sprintf(`(%s?.textContent ?? "").trim()`, jsTid(id)))
}

// waitPhase waits until the match page shows the phase (and round, if > 0).
func (p *player) waitPhase(phase string, round int, timeout time.Duration) {
	p.t.Helper()
	expr := fmt.Sprintf(`document.body.dataset.phase === %q`, phase)
	if round > 0 {
		expr += fmt.Sprintf(` && %s.textContent.startsWith("Round %d/")`, jsTid("round"), round)
	}
	p.waitFor(fmt.Sprintf("phase %s round %d", phase, round), expr, timeout)
}

// noHorizontalScroll fails when the page is wider than the viewport.
func (p *player) noHorizontalScroll(where string) {
	p.t.Helper()
	res := eval[[]float64](p, `[document.documentElement.scrollWidth, document.documentElement.clientWidth, document.body.scrollWidth]`)
	if res[0] > res[1]+1 || res[2] > res[1]+1 {
		p.art.shot(p.ctx, "overflow-"+where)
		wide := eval[string](p, `[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1).slice(0, 8).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + [...e.classList].join('.') + ' right=' + Math.round(e.getBoundingClientRect().right)).join('; ')`)
		p.t.Errorf("%s: %s: horizontal scroll on a %v px wide viewport: scrollWidth %v; too wide: %s", p.name, where, res[1], res[0], wide)
	}
}

// ---- the tests ------------------------------------------------------------------

var seatRE = regexp.MustCompile(`\b([A-H])\b`)

// mySeat reads "You are B" from the status bar.
func (p *player) mySeat() string {
	p.t.Helper()
	p.waitFor("your seat", fmt.Sprintf(`%s.querySelector('.seat')`, jsTid("you")), 20*time.Second)
	m := seatRE.FindStringSubmatch(p.text("you"))
	if m == nil {
		p.fail("no seat letter in %q", p.text("you"))
	}
	return m[1]
}

// answer types text into the answer box, checks the counter, and sends it:
// with Enter in the box (how), or by tabbing to the Send button and pressing
// Enter, or by clicking it.
func (p *player) answer(text, how string) {
	p.t.Helper()
	p.waitFor("the answer box", jsVisible("answer-input"), 15*time.Second)
	p.do("type the answer", 20*time.Second,
		chromedp.Focus(tid("answer-input")),
		chromedp.KeyEvent(text))
	want := fmt.Sprintf("%d/280", len([]rune(text)))
	p.waitFor("char counter "+want, fmt.Sprintf(`%s.textContent.trim() === %q`, jsTid("char-count"), want), 5*time.Second)
	switch how {
	case "enter":
		p.do("press Enter", 10*time.Second, chromedp.KeyEvent(kb.Enter))
	case "tab":
		p.do("Tab to Send", 10*time.Second, chromedp.KeyEvent(kb.Tab))
		p.waitFor("focus on Send", fmt.Sprintf(`document.activeElement === %s`, jsTid("answer-submit")), 5*time.Second)
		p.do("press Enter on Send", 10*time.Second, chromedp.KeyEvent(kb.Enter))
	default:
		p.do("click Send", 10*time.Second, chromedp.Click(tid("answer-submit")))
	}
}

// TestPrivateMatchInBrowser: two players in two browser contexts (one on a
// desktop window, one on a phone-sized screen) create and join a private
// match by code, play all rounds with two scripted robots to the reveal
// (one reloads mid-match), then find the match in history and stats.
func TestPrivateMatchInBrowser(t *testing.T) {
	art := newArtifacts(t)
	srv := startArena(t, art)
	browser := newBrowser(t)
	alice := newPlayer(t, browser, art, "alice")
	bob := newPlayer(t, browser, art, "bob")
	// Bob plays on a phone, and asks for reduced motion.
	bob.do("phone viewport", 10*time.Second, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile), reduceMotion())

	// --- lobby: alice creates a private match.
	alice.navigate(srv.httpURL + "/")
	alice.waitFor("the lobby form", jsVisible("create"), 10*time.Second)
	alice.art.shot(alice.ctx, "home-alice")
	alice.do("enter a name and create", 20*time.Second,
		chromedp.SendKeys(tid("name"), "Alice"),
		chromedp.Click(tid("create")))
	alice.waitFor("the match lobby", `location.pathname.startsWith("/match/") && document.body.dataset.phase === "lobby"`, 20*time.Second)
	alice.waitFor("the invite code", fmt.Sprintf(`/^[A-Z0-9]{6}$/.test(%s?.textContent.trim() ?? "")`, jsTid("invite-code")), 10*time.Second)
	code := alice.text("invite-code")
	matchURL := eval[string](alice, `location.href`)
	matchID := strings.TrimPrefix(eval[string](alice, `location.pathname`), "/match/")
	aliceSeat := alice.mySeat()
	alice.waitFor("the start button", jsVisible("start"), 10*time.Second)
	t.Logf("match %s, code %s, alice is %s", matchID, code, aliceSeat)

	// --- bob joins by code from the lobby page.
	bob.navigate(srv.httpURL + "/")
	bob.noHorizontalScroll("home")
	bob.do("enter name and code", 20*time.Second,
		chromedp.SendKeys(tid("name"), "Bob"),
		chromedp.SendKeys(tid("code-input"), strings.ToLower(code)), // the page upper-cases it
		chromedp.Click(tid("join")))
	bob.waitFor("the match lobby", `location.pathname.startsWith("/match/") && document.body.dataset.phase === "lobby"`, 20*time.Second)
	if got := eval[string](bob, `location.pathname`); got != "/match/"+matchID {
		t.Fatalf("bob landed on %s, want /match/%s", got, matchID)
	}
	bobSeat := bob.mySeat()
	if bobSeat == aliceSeat {
		t.Fatalf("alice and bob both got seat %s", bobSeat)
	}
	if jsv := eval[bool](bob, jsVisible("start")); jsv {
		t.Errorf("bob, who is not the host, sees the start button")
	}
	alice.waitFor("2 of 4 seats taken", `document.querySelector('#lobby-count')?.textContent.includes("2 of 4")`, 15*time.Second)
	alice.art.shot(alice.ctx, "lobby-alice")
	bob.art.shot(bob.ctx, "lobby-bob-phone")
	bob.noHorizontalScroll("lobby")

	// --- alice starts.
	alice.do("start the match", 10*time.Second, chromedp.Click(tid("start")))

	const rounds = 3
	phaseWait := 60 * time.Second
	xss := `<b>bold</b><img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>`
	for r := 1; r <= rounds; r++ {
		alice.waitPhase("answering", r, phaseWait)
		bob.waitPhase("answering", r, phaseWait)
		prompt := alice.text("prompt")
		if prompt == "" || bob.text("prompt") != prompt {
			t.Errorf("round %d: prompts differ or are empty: alice %q, bob %q", r, prompt, bob.text("prompt"))
		}
		if cd := alice.text("countdown"); !regexp.MustCompile(`^\d+s$`).MatchString(cd) {
			t.Errorf("round %d: countdown shows %q, want like 12s", r, cd)
		}

		if r == 2 {
			// Bob reloads mid-match: the token in localStorage gives him his seat back.
			bob.do("reload", 30*time.Second, chromedp.Reload())
			bob.waitPhase("answering", 2, 30*time.Second)
			if s := bob.mySeat(); s != bobSeat {
				t.Fatalf("after reload bob is seat %s, want %s", s, bobSeat)
			}
		}

		aliceText := fmt.Sprintf("Alice here, round %d: tea on the balcony at dawn.", r)
		if r == 1 {
			aliceText = xss
		}
		howAlice := map[int]string{1: "click", 2: "tab", 3: "enter"}[r]
		alice.answer(aliceText, howAlice)
		if r == 1 {
			alice.art.shot(alice.ctx, fmt.Sprintf("round%d-answering-alice", r))
		}
		// Bob types with the keyboard only: Enter sends.
		bobText := fmt.Sprintf("bob, round %d: honestly just cold pizza lol", r)
		bob.answer(bobText, "enter")
		alice.waitFor("alice's answer sent", `!document.querySelector('#answer-sent').hidden || document.body.dataset.phase !== "answering"`, 10*time.Second)
		if r == 1 {
			bob.art.shot(bob.ctx, fmt.Sprintf("round%d-answered-bob-phone", r))
			bob.noHorizontalScroll("answering")
		}

		// --- voting: anonymised answers, vote buttons.
		alice.waitPhase("voting", r, phaseWait)
		bob.waitPhase("voting", r, phaseWait)
		alice.waitFor("4 answer cards", `document.querySelectorAll('#vote-cards [data-testid^="answer-card-"]').length === 4`, 10*time.Second)
		if r == 1 {
			// Human text is text: the markup shows literally and nothing ran.
			card := "answer-card-" + aliceSeat
			sel := fmt.Sprintf(`document.querySelector('#vote-cards [data-testid="%s"]')`, card)
			bob.waitFor("alice's card", sel+` && !`+sel+`.closest("[hidden]")`, 10*time.Second)
			got := eval[string](bob, sel+`.textContent`)
			if !strings.Contains(got, xss) {
				t.Errorf("bob sees alice's answer as %q, want the literal text %q", got, xss)
			}
			if n := eval[int](bob, sel+`.querySelectorAll('b, img, script').length`); n != 0 {
				t.Errorf("alice's answer became %d HTML elements on bob's page", n)
			}
			if eval[bool](bob, `window.__pwned === 1`) || eval[bool](alice, `window.__pwned === 1`) {
				t.Errorf("alice's answer ran as script")
			}
			alice.art.shot(alice.ctx, "round1-voting-alice")
			bob.art.shot(bob.ctx, "round1-voting-bob-phone")
			bob.noHorizontalScroll("voting")
		}
		if eval[bool](alice, jsTid("vote-"+aliceSeat)+" !== null") {
			t.Errorf("alice can vote for herself")
		}
		// Screen readers hear whom a vote button is for.
		if name := eval[string](alice, jsTid("vote-"+bobSeat)+`.getAttribute("aria-label")`); name != "Vote "+bobSeat+" human" {
			t.Errorf("the vote button for %s is named %q", bobSeat, name)
		}
		// Alice votes for bob with the mouse; bob votes with the keyboard.
		alice.do("vote", 10*time.Second, chromedp.Click(tid("vote-"+bobSeat)))
		bob.do("vote by keyboard", 10*time.Second, chromedp.Focus(tid("vote-"+aliceSeat)), chromedp.KeyEvent(kb.Enter))
		alice.waitFor("alice's vote registered", fmt.Sprintf(`document.body.dataset.phase !== "voting" || %s?.getAttribute("aria-pressed") === "true"`, jsTid("vote-"+bobSeat)), 10*time.Second)

		// --- results, then the next round or the reveal.
		next := `document.body.dataset.phase === "finished" || (document.body.dataset.phase === "answering" && !` + jsTid("round") + `.textContent.startsWith("Round ` + strconv.Itoa(r) + `/"))`
		alice.waitFor(fmt.Sprintf("round %d results", r), `document.body.dataset.phase === "results" || `+next, phaseWait)
		if eval[string](alice, `document.body.dataset.phase`) == "results" {
			// The votes of this round are shown on the cards.
			alice.waitFor("votes on the result cards", `document.querySelectorAll('#result-cards .vote-line').length > 0`, 5*time.Second)
			if r == 1 {
				alice.art.shot(alice.ctx, "round1-results-alice")
				bob.art.shot(bob.ctx, "round1-results-bob-phone")
				bob.noHorizontalScroll("results")
			}
		} else {
			t.Logf("round %d: results were over before alice's page was checked", r)
		}
	}

	// --- the reveal.
	alice.waitPhase("finished", 0, phaseWait)
	bob.waitPhase("finished", 0, phaseWait)
	// Alice's cards turn one by one, the winner last; Bob asked for reduced
	// motion and sees them all at once. Sound is off by default.
	const turnedCount = `document.querySelectorAll('#reveal .reveal-card.turned').length`
	alice.waitFor("the cards", `document.querySelectorAll('#reveal .reveal-card').length === 4`, 10*time.Second)
	if n := eval[int](alice, turnedCount); n == 4 {
		t.Errorf("alice's reveal showed every card at once")
	}
	if h := alice.text("finished-heading"); strings.Contains(h, "win") {
		t.Errorf("the heading names the winner (%q) before the cards are turned", h)
	}
	alice.art.shot(alice.ctx, "reveal-turning-alice")
	bob.waitFor("bob's cards", `document.querySelectorAll('#reveal .reveal-card').length === 4`, 10*time.Second)
	if n := eval[int](bob, turnedCount); n != 4 {
		t.Errorf("with reduced motion %d of 4 cards are turned at once", n)
	}
	alice.waitFor("every card turned", turnedCount+` === 4 && document.querySelector('#reveal').dataset.turned === "all"`, 15*time.Second)
	if p := eval[string](alice, jsTid("sound-toggle")+`.getAttribute("aria-pressed")`); p != "false" {
		t.Errorf("sound is %q by default, want off", p)
	}
	alice.do("sound on", 5*time.Second, chromedp.Click(tid("sound-toggle")))
	if p := eval[string](alice, jsTid("sound-toggle")+`.getAttribute("aria-pressed") + localStorage.getItem("arena.sound")`); p != "trueon" {
		t.Errorf("after the toggle sound is %q, want on and remembered", p)
	}
	// The votes that fell on each seat: bob took alice for human every round.
	if v := alice.text("votes-on-" + aliceSeat); !strings.Contains(v, "Taken for human") || !strings.Contains(v, bobSeat) {
		t.Errorf("alice's card shows the votes %q, want bob's %s among them", v, bobSeat)
	}
	for _, p := range []*player{alice, bob} {
		p.waitFor("4 reveal cards", `document.querySelectorAll('[data-testid^="reveal-"][data-testid]:not([data-testid="reveal"])').length === 4`, 10*time.Second)
	}
	reveal := eval[[]map[string]string](alice, `[...document.querySelectorAll('[data-testid^="reveal-"]')].filter(e => e.dataset.testid !== "reveal").map(e => ({seat: e.dataset.testid.slice(7), text: e.textContent, human: String(e.classList.contains("is-human")), model: e.querySelector(".model-chip")?.textContent ?? ""}))`)
	var models []string
	humans, robots := 0, 0
	for _, r := range reveal {
		switch r["seat"] {
		case aliceSeat:
			if r["human"] != "true" || !strings.Contains(r["text"], "Alice") {
				t.Errorf("reveal of alice's seat %s: %q (human %s)", r["seat"], r["text"], r["human"])
			}
			humans++
		case bobSeat:
			if r["human"] != "true" || !strings.Contains(r["text"], "Bob") {
				t.Errorf("reveal of bob's seat %s: %q (human %s)", r["seat"], r["text"], r["human"])
			}
			humans++
		default:
			robots++
			if r["human"] == "true" {
				t.Errorf("seat %s revealed as human: %q", r["seat"], r["text"])
			}
			// With the scripted provider the model is whatever the robot
			// reports (e.g. "scripted"); it must be shown, whatever it is.
			if !regexp.MustCompile(`(curious-student|skeptical-scientist|creative-artist)`).MatchString(r["text"]) || r["model"] == "" {
				t.Errorf("robot seat %s does not show its personality and model: %q (model %q)", r["seat"], r["text"], r["model"])
			}
			models = append(models, r["model"])
		}
	}
	if humans != 2 || robots != 2 {
		t.Errorf("reveal shows %d humans and %d robots, want 2 and 2: %v", humans, robots, reveal)
	}
	if !eval[bool](alice, jsVisible("play-again")) || !eval[bool](bob, jsVisible("play-again")) {
		t.Errorf("play again is not offered to both players")
	}
	alice.art.shot(alice.ctx, "reveal-alice")
	bob.art.shot(bob.ctx, "reveal-bob-phone")
	bob.noHorizontalScroll("reveal")

	// --- play again keeps the humans together: alice starts a rematch, bob
	// is offered to join it and lands in the same new match.
	alice.do("play again", 10*time.Second, chromedp.Click(tid("play-again")))
	alice.waitFor("the rematch lobby", fmt.Sprintf(`location.pathname.startsWith("/match/") && location.pathname !== "/match/%s" && document.body.dataset.phase === "lobby"`, matchID), 20*time.Second)
	rematch := eval[string](alice, `location.pathname`)
	bob.waitFor("the join-rematch offer", jsTid("play-again")+`.textContent.includes("rematch")`, 20*time.Second)
	bob.art.shot(bob.ctx, "rematch-offer-bob-phone")
	bob.do("join the rematch", 10*time.Second, chromedp.Click(tid("play-again")))
	bob.waitFor("the rematch lobby", fmt.Sprintf(`location.pathname === %q && document.body.dataset.phase === "lobby"`, rematch), 20*time.Second)
	alice.waitFor("2 of 4 seats taken in the rematch", `document.querySelector('#lobby-count')?.textContent.includes("2 of 4")`, 15*time.Second)
	alice.art.shot(alice.ctx, "rematch-lobby-alice")
	// The finished match's page still works for whoever opens it again.
	alice.navigate(matchURL)
	alice.waitPhase("finished", 0, 20*time.Second)

	// --- history lists the match and shows it in full.
	alice.navigate(srv.httpURL + "/history")
	alice.waitFor("the match in history", fmt.Sprintf(`!!document.querySelector('[data-testid="history-list"] a[href="/history/%s"]')`, matchID), 30*time.Second)
	// "Your matches": the finished match of this browser's seats (not the
	// rematch lobby), with alice's record.
	alice.waitFor("your matches", jsVisible("my-matches")+fmt.Sprintf(` && !!document.querySelector('#my-list a[href="/history/%s"]')`, matchID), 20*time.Second)
	if rec := alice.text("my-record"); !strings.HasPrefix(rec, "1 match · ") || !strings.Contains(rec, "detective") || !strings.Contains(rec, "taken for human") {
		t.Errorf("alice's record reads %q, want 1 match, her detective score and how often she was taken for human", rec)
	}
	if n := eval[int](alice, `document.querySelectorAll('#my-list li').length`); n != 1 {
		t.Errorf("your matches lists %d matches, want the 1 finished", n)
	}
	alice.art.shot(alice.ctx, "history")
	// One time per match, the same in the list and on its page: the start
	// and how long it ran.
	listTime := eval[string](alice, fmt.Sprintf(`document.querySelector('[data-testid="history-list"] a[href="/history/%s"] [data-testid="history-time"]').textContent`, matchID))
	if !regexp.MustCompile(` · \d+ (s|min)`).MatchString(listTime) {
		t.Errorf("history lists the match at %q, want its start and duration", listTime)
	}
	alice.do("open the match", 20*time.Second, chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-testid="history-list"] a[href="/history/%s"]`, matchID))))
	alice.waitFor("the match page", `location.pathname.startsWith("/history/") && document.querySelectorAll('tr[data-testid^="final-"]').length === 4`, 20*time.Second)
	if pageTime := alice.text("match-time"); pageTime != listTime {
		t.Errorf("the match page shows the time %q, the history list %q: want one time", pageTime, listTime)
	}
	body := eval[string](alice, `document.querySelector('main').textContent`)
	for _, want := range append([]string{"Alice", "Bob", "Round 1", "Round 3", "Robot", "Human", xss}, models...) {
		if !strings.Contains(body, want) {
			t.Errorf("/history/%s does not show %q", matchID, want)
		}
	}
	alice.art.shot(alice.ctx, "match-history")
	bob.navigate(srv.httpURL + "/history/" + matchID)
	bob.waitFor("the match page", `document.querySelectorAll('tr[data-testid^="final-"]').length === 4`, 20*time.Second)
	bob.noHorizontalScroll("match-history")
	bob.art.shot(bob.ctx, "match-history-phone")

	// --- stats show the robots.
	alice.navigate(srv.httpURL + "/stats")
	alice.waitFor("robot rows", `document.querySelectorAll('[data-testid="stats-table"] tbody tr').length >= 2`, 30*time.Second)
	stats := alice.text("stats-table")
	n := 0
	for _, id := range []string{"curious-student", "skeptical-scientist", "creative-artist"} {
		if strings.Contains(stats, id) {
			n++
		}
	}
	if n < 2 {
		t.Errorf("stats table names %d of the robots, want at least the 2 that played: %q", n, stats)
	}
	if acc := alice.text("detective-accuracy"); !strings.HasSuffix(acc, "%") {
		t.Errorf("detective accuracy shows %q, want a percentage", acc)
	}
	alice.art.shot(alice.ctx, "stats")
	bob.navigate(srv.httpURL + "/stats")
	bob.waitFor("robot rows", `document.querySelectorAll('[data-testid="stats-table"] tbody tr').length >= 2`, 30*time.Second)
	bob.noHorizontalScroll("stats")
	bob.art.shot(bob.ctx, "stats-phone")
}

// TestReconnectBanner: when the server dies the match page says so, and it
// comes back by itself when a server starts again on the same address and
// data directory, with the same seat.
func TestReconnectBanner(t *testing.T) {
	art := newArtifacts(t)
	srv := startArena(t, art)
	browser := newBrowser(t)
	carol := newPlayer(t, browser, art, "carol")

	carol.navigate(srv.httpURL + "/")
	carol.do("create a private match", 20*time.Second,
		chromedp.SendKeys(tid("name"), "Carol"),
		chromedp.Click(tid("create")))
	carol.waitFor("the match lobby", `document.body.dataset.phase === "lobby" && document.body.dataset.connected === "true"`, 20*time.Second)
	seat := carol.mySeat()
	code := carol.text("invite-code")
	if eval[bool](carol, jsVisible("banner")) {
		t.Errorf("the connection banner shows while connected: %q", carol.text("banner"))
	}

	srv.kill()
	carol.waitFor("the connection-lost banner", jsVisible("banner")+` && /reconnect/i.test(`+jsTid("banner")+`.textContent)`, 20*time.Second)
	if c := eval[string](carol, `document.body.dataset.connected`); c != "false" {
		t.Errorf("data-connected is %q while the server is down", c)
	}
	carol.art.shot(carol.ctx, "connection-lost")

	srv.start()
	carol.waitFor("the banner to go", `!(`+jsVisible("banner")+`) && document.body.dataset.connected === "true"`, 40*time.Second)
	carol.waitFor("the lobby again", `document.body.dataset.phase === "lobby"`, 10*time.Second)
	if s := carol.mySeat(); s != seat {
		t.Errorf("after reconnecting carol is seat %s, want %s", s, seat)
	}
	if c := carol.text("invite-code"); c != code {
		t.Errorf("after reconnecting the invite code is %q, want %q", c, code)
	}
	carol.art.shot(carol.ctx, "reconnected")
}

// TestPagesRender: the lobby, join, history and stats pages load without
// errors, fit a phone screen, and the lobby works with the keyboard alone.
func TestPagesRender(t *testing.T) {
	art := newArtifacts(t)
	srv := startArena(t, art)
	browser := newBrowser(t)
	phone := newPlayer(t, browser, art, "phone")
	phone.do("phone viewport", 10*time.Second, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))

	for _, pg := range []struct{ path, ready, name string }{
		{"/", jsVisible("quick"), "home"},
		{"/join/ABC123", jsVisible("join") + ` && ` + jsTid("invite-code") + `.textContent === "ABC123"`, "join"},
		{"/history", `document.querySelector('#loading').hidden`, "history-empty"},
		{"/stats", `document.querySelector('#loading').hidden`, "stats-empty"},
		{"/match/no-such-match", `document.body.dataset.phase === "error"`, "match-unknown"},
	} {
		phone.navigate(srv.httpURL + pg.path)
		phone.waitFor(pg.path+" ready", pg.ready, 20*time.Second)
		phone.noHorizontalScroll(pg.name)
		phone.art.shot(phone.ctx, pg.name+"-phone")
	}

	// Keyboard only: the name field has focus on a fresh lobby; Tab to
	// "Create private match" and Enter takes you to your match.
	desk := newPlayer(t, browser, art, "desk")
	desk.navigate(srv.httpURL + "/")
	desk.waitFor("focus in the name field", `document.activeElement === `+jsTid("name"), 10*time.Second)
	desk.do("type a name", 10*time.Second, chromedp.KeyEvent("Dana"))
	desk.do("Tab to create", 10*time.Second, chromedp.KeyEvent(kb.Tab))
	if eval[string](desk, `document.activeElement?.dataset.testid ?? ""`) == "quick" {
		desk.do("Tab to create", 10*time.Second, chromedp.KeyEvent(kb.Tab))
	}
	desk.waitFor("focus on create", `document.activeElement === `+jsTid("create"), 5*time.Second)
	desk.do("press Enter", 10*time.Second, chromedp.KeyEvent(kb.Enter))
	desk.waitFor("the match lobby", `location.pathname.startsWith("/match/") && document.body.dataset.phase === "lobby"`, 20*time.Second)
	// Empty name: a clear message, no request.
	other := newPlayer(t, browser, art, "noname")
	other.navigate(srv.httpURL + "/")
	other.do("quick match without a name", 10*time.Second, chromedp.Click(tid("quick")))
	other.waitFor("the name error", `!document.querySelector('#name-error').hidden && document.querySelector('#name-error').textContent.length > 0`, 5*time.Second)
}

// TestQuickMatch: Quick match puts a lone player in the public queue, shows
// when it starts, and fills the empty seats with robots once the lobby wait
// is over; the first round then begins by itself.
func TestQuickMatch(t *testing.T) {
	art := newArtifacts(t)
	srv := startArena(t, art)
	browser := newBrowser(t)
	erin := newPlayer(t, browser, art, "erin")
	erin.do("phone viewport", 10*time.Second, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))

	erin.navigate(srv.httpURL + "/")
	erin.do("quick match", 20*time.Second,
		chromedp.SendKeys(tid("name"), "Erin"),
		chromedp.Click(tid("quick")))
	erin.waitFor("the quick lobby", `location.pathname.startsWith("/match/") && (document.body.dataset.phase === "lobby" || document.body.dataset.phase === "answering")`, 20*time.Second)
	if eval[string](erin, `document.body.dataset.phase`) == "lobby" {
		if eval[bool](erin, jsVisible("start")) {
			t.Errorf("a quick match offers a start button")
		}
		erin.noHorizontalScroll("quick lobby")
		erin.art.shot(erin.ctx, "quick-lobby-phone")
	}
	erin.waitPhase("answering", 1, 60*time.Second)
	if n := eval[int](erin, `document.querySelectorAll('#seat-strip [data-testid^="seat-"]').length`); n != 4 {
		t.Errorf("the quick match has %d seats, want 4", n)
	}
	erin.noHorizontalScroll("quick round 1")
	erin.art.shot(erin.ctx, "quick-round1-phone")
}
