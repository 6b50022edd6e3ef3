// The live match page (/match/{id}). Everything on screen is drawn from the
// latest VIEW (modules/game/view.go). A player (token in local storage) gets
// views over the WebSocket and sends answers, votes and typing signals on it;
// a spectator (no token) polls GET /api/matches/{id} every 2 s.
import {
  $, announce, api, clearDrafts, codePoints, el, enterMatch, fill, idFromPath, loadDraft, loadSeat, plural, saveDraft,
  seatBadge, toast,
} from "/static/app.js";
import { fieldError } from "/static/names.js";
import { answerCard, roundAnswers, roundBlock, roundVotes, identityTag } from "/static/cards.js";

const matchId = idFromPath("/match/");
const me = matchId ? loadSeat(matchId) : null; // null: spectator

const PHASE_LABEL = {
  lobby: "Lobby",
  answering: "Answering",
  voting: "Voting",
  results: "Results",
  finished: "Finished",
};

let view = null; // the latest VIEW
let fatal = false; // a dead end was shown; stop everything

// What this tab did, shown before the server's view confirms it, and kept in
// sessionStorage so a reload still shows your answer text and your pick (the
// view only says that you voted, not for whom, until the round is over).
const memoKey = `arena.memo.${matchId}`;
const memo = loadMemo();
function loadMemo() {
  try {
    const m = JSON.parse(sessionStorage.getItem(memoKey) || "{}");
    return { answers: m.answers || {}, votes: m.votes || {}, prompts: m.prompts || {}, picks: m.picks || {} };
  } catch {
    return { answers: {}, votes: {}, prompts: {}, picks: {} };
  }
}
function saveMemo() {
  try {
    sessionStorage.setItem(memoKey, JSON.stringify(memo));
  } catch {
    /* not fatal */
  }
}

// ---- elements ------------------------------------------------------------

const ui = {
  main: $("#main"),
  banner: $("#banner"),
  loading: $("#loading"),
  round: $("#round"),
  phase: $("#phase"),
  countdown: $("#countdown"),
  timebar: $("#timebar-fill"),
  you: $("#you"),
  sections: {
    lobby: $("#lobby"),
    prompt: $("#prompt-card"),
    answering: $("#answering"),
    strip: $("#strip"),
    voting: $("#voting"),
    results: $("#results"),
    finished: $("#finished"),
    earlier: $("#earlier"),
    fatal: $("#fatal"),
  },
  answer: $("#answer"),
  answerForm: $("#answer-form"),
  answerSubmit: $("#answer-submit"),
  charCount: $("#char-count"),
  answerSent: $("#answer-sent"),
  myAnswer: $("#my-answer"),
  playAgain: $("#play-again"),
};

// ---- rendering -----------------------------------------------------------

const seatOf = (v, s) => (v.seats || []).find((x) => x.seat === s);
const isPlayer = () => Boolean(me && view && view.you);

/**
 * Replaces a container's content only when key changed, and puts keyboard
 * focus back on the element with the same data-testid if it was inside, so
 * that a state push does not yank focus away from the button you are on.
 */
function rebuild(container, key, build) {
  if (container.dataset.key === key) return;
  const active = document.activeElement;
  const focusId = active && container.contains(active) ? active.dataset.testid || active.id : "";
  fill(container, build());
  container.dataset.key = key;
  if (focusId) {
    const again = container.querySelector(`[data-testid="${CSS.escape(focusId)}"], #${CSS.escape(focusId)}`);
    if (again && !again.disabled) again.focus();
  }
}

/** Draws a new VIEW. fresh: it follows a (re)connect and replaces everything. */
function render(v, fresh = false) {
  if (fatal) return;
  if (!fresh && view && (v.version || 0) < (view.version || 0)) return; // stale push
  const prev = fresh ? null : view;
  view = v;

  if (v.round && v.prompt && memo.prompts[v.round] !== v.prompt) {
    memo.prompts[v.round] = v.prompt;
    saveMemo();
  }
  if (fresh) dropUnconfirmed(v);

  document.body.dataset.phase = v.phase;
  ui.main.removeAttribute("aria-busy");
  ui.loading.hidden = true;

  ui.round.textContent = v.round ? `Round ${v.round}/${v.rounds}` : `${v.rounds || "?"} rounds`;
  ui.phase.textContent = PHASE_LABEL[v.phase] || v.phase;
  ui.phase.className = `phase-pill phase-${v.phase}`;
  if (v.you) {
    fill(ui.you, el("span", { class: "you-text", text: "You are" }), " ", seatBadge(v.you));
    ui.you.setAttribute("aria-label", `You are seat ${v.you}`);
  } else {
    fill(ui.you, "Spectating");
    ui.you.removeAttribute("aria-label");
  }
  document.title = `${PHASE_LABEL[v.phase] || "Match"}${v.round ? ` · round ${v.round}` : ""} — arena`;
  setDeadline(v.deadline);

  const p = v.phase;
  const s = ui.sections;
  s.lobby.hidden = p !== "lobby";
  s.prompt.hidden = !["answering", "voting", "results"].includes(p);
  s.answering.hidden = p !== "answering";
  s.strip.hidden = !["answering", "voting"].includes(p);
  s.voting.hidden = p !== "voting";
  s.results.hidden = p !== "results";
  s.finished.hidden = p !== "finished";

  $("#prompt").textContent = v.prompt || "";
  if (p === "lobby") renderLobby(v);
  if (p === "answering") renderAnswering(v);
  if (p === "answering" || p === "voting") renderStrip(v);
  if (p === "voting") renderVoting(v);
  if (p === "results") renderResults(v);
  if (p === "finished") renderFinished(v);
  renderEarlier(v);

  if (!prev || prev.phase !== p || prev.round !== v.round) phaseChanged(v);
  else if (p === "finished" && v.rematch && !prev.rematch && isPlayer()) {
    toast("Someone started a rematch: press “Join rematch” to play again together.", "info");
  }
}

/** Announces a new phase and moves focus somewhere useful if it was lost. */
function phaseChanged(v) {
  const r = `Round ${v.round} of ${v.rounds}`;
  const msg = {
    lobby: "Waiting in the lobby.",
    answering: `${r}. ${v.prompt}`,
    voting: `${r}: voting. Pick the player you think is human.`,
    results: `${r}: results.`,
    finished: `Match over. ${ui.sections.finished.querySelector("h1").textContent}`,
  }[v.phase];
  if (msg) announce(msg);

  const active = document.activeElement;
  const lost = !active || active === document.body || active.closest("[hidden]");
  if (v.phase === "answering" && isPlayer() && !ui.answerForm.hidden && matchMedia("(pointer: fine)").matches) {
    // Desktop: straight into the answer box. (On phones this would pop the
    // keyboard over the prompt, so there we leave focus alone.)
    if (lost || active === ui.answer) ui.answer.focus({ preventScroll: true });
  } else if (lost) {
    const target = { voting: "#voting-heading", results: "#results-heading", finished: "#finished-heading", answering: "#prompt", lobby: "#lobby-heading" }[v.phase];
    if (target) $(target).focus({ preventScroll: true });
  }
}

function renderLobby(v) {
  // The lobby view names only your own seat and counts the others ("joined"):
  // a letter seen in the lobby would mark a human for the whole match.
  // A quick lobby does not count who joined (robots fill the rest), so it
  // shows only your seat and the others as "?".
  const seats = v.seats || [];
  const quick = v.mode === "quick";
  const joined = Math.max(v.joined || 0, seats.length);
  const total = Math.max(v.seatsTotal || 0, joined);
  rebuild($("#lobby-seats"), JSON.stringify([seats.map((s) => s.seat), joined, total, v.you]), () => {
    const chips = seats.map((s) =>
      el("li", { class: `seat-chip${s.seat === v.you ? " mine" : ""}` }, seatBadge(s.seat),
        el("span", { class: "chip-label", text: s.seat === v.you ? "you" : "joined" })));
    for (let i = seats.length; i < joined; i++) {
      chips.push(el("li", { class: "seat-chip" }, el("span", { class: "seat seat-anon", "aria-hidden": "true", text: "🙂" }),
        el("span", { class: "chip-label", text: "joined" })));
    }
    for (let i = joined; i < total; i++) {
      chips.push(el("li", { class: "seat-chip open" }, el("span", { class: "seat seat-open", "aria-hidden": "true", text: "?" }),
        el("span", { class: "chip-label", text: quick ? "player or robot" : "open" })));
    }
    return chips;
  });
  $("#lobby-count").textContent = quick
    ? `${total} seats: players and robots, starting soon`
    : total ? `${joined} of ${total} seats taken` : "";

  const invite = $("#invite");
  invite.hidden = v.mode !== "private" || !v.code;
  if (!invite.hidden) {
    $("#invite-code").textContent = v.code;
    if (!$("#invite-link").value) $("#invite-link").value = `${location.origin}/join/${encodeURIComponent(v.code)}`;
    loadInvite(v.code);
  }

  renderPeople(v);
  $("#leave").hidden = !isPlayer();

  const start = $("#start");
  // Quick matches start by themselves once the lobby wait is over.
  start.hidden = !(isPlayer() && v.host && v.mode !== "quick");
  const wait = $("#lobby-wait");
  if (v.mode === "quick") {
    $("#lobby-heading").textContent = "Quick match";
    wait.textContent = "Finding players… robots fill empty seats";
  } else if (v.host && isPlayer()) {
    $("#lobby-heading").textContent = "Your private match";
    wait.textContent = "Start whenever you're ready: robots fill the empty seats.";
  } else {
    $("#lobby-heading").textContent = "Waiting for players";
    wait.textContent = isPlayer() ? "Waiting for the host…" : "Waiting for the match to start…";
  }
}

const secs = (ms) => Math.round((ms || 0) / 1000);

/**
 * A private lobby's people and settings (v.lobby, sent to its players
 * only; a quick lobby never names anyone). The host gets a Remove button
 * per guest and the settings form.
 */
function renderPeople(v) {
  const lobby = v.lobby;
  $("#lobby-people").hidden = !lobby;
  $("#host-settings").hidden = !(lobby && v.host && isPlayer());
  if (!lobby) return;
  const players = lobby.players || [];
  rebuild($("#lobby-players"), JSON.stringify([players, v.host]), () =>
    players.map((p) => el("li", { class: `lobby-player${p.you ? " mine" : ""}`, "data-testid": "lobby-player" },
      el("span", { class: "player-name", text: p.name }),
      p.host ? el("span", { class: "tag tag-win", text: "host" }) : null,
      p.you ? el("span", { class: "tag tag-you", text: "you" }) : null,
      v.host && !p.you
        ? el("button", {
          type: "button",
          class: "btn btn-small btn-ghost",
          "data-testid": `kick-${p.id}`,
          "aria-label": `Remove ${p.name} from the match`,
          text: "Remove",
          onclick: () => kick(p),
        })
        : null)));
  $("#lobby-settings").textContent =
    `${plural(v.rounds, "round")} · ${secs(lobby.answerWindowMs)} s to answer · ${secs(lobby.voteWindowMs)} s to vote · up to ${plural(lobby.humans, "player")}`;
  if (v.host) fillSettings(v);
}

// The form shows the match's settings, except while the host edits it.
let settingsShown = "";
function fillSettings(v) {
  const key = JSON.stringify([v.rounds, v.lobby.answerWindowMs, v.lobby.voteWindowMs, v.lobby.humans]);
  const form = $("#host-settings");
  if (key === settingsShown || form.contains(document.activeElement) && form.dataset.dirty === "true") return;
  settingsShown = key;
  form.dataset.dirty = "false";
  $("#set-rounds").value = v.rounds;
  $("#set-answer").value = secs(v.lobby.answerWindowMs);
  $("#set-vote").value = secs(v.lobby.voteWindowMs);
  $("#set-humans").value = v.lobby.humans;
  $("#set-humans").max = Math.max(1, (v.seatsTotal || 2) - 1);
}

$("#host-settings").addEventListener("input", (e) => {
  $("#host-settings").dataset.dirty = "true";
  fieldError(e.target, $("#settings-error"), "");
});

$("#host-settings").addEventListener("submit", (e) => {
  e.preventDefault();
  const num = (id) => Number.parseInt($(id).value, 10);
  const frame = { type: "settings", rounds: num("#set-rounds"), answerSeconds: num("#set-answer"), voteSeconds: num("#set-vote"), humans: num("#set-humans") };
  const bad = [["#set-rounds", "rounds"], ["#set-answer", "answerSeconds"], ["#set-vote", "voteSeconds"], ["#set-humans", "humans"]]
    .find(([id, k]) => !Number.isFinite(frame[k]) || !$(id).checkValidity());
  if (bad) {
    const input = $(bad[0]);
    fieldError(input, $("#settings-error"), `${input.labels[0].firstChild.textContent.trim()}: ${input.validationMessage || "enter a number"}`);
    input.focus();
    return;
  }
  if (send(frame)) {
    $("#host-settings").dataset.dirty = "false";
    announce("Settings saved.");
  }
});

function kick(p) {
  if (send({ type: "kick", player: p.id })) announce(`${p.name} removed.`);
}

// Leaving takes two presses (no modal dialog): the first asks to confirm.
let leaving = false;
let leaveArmed = 0;
$("#leave").addEventListener("click", (e) => {
  const btn = e.currentTarget;
  if (!leaveArmed) {
    btn.textContent = "Press again to leave";
    leaveArmed = setTimeout(() => {
      leaveArmed = 0;
      btn.textContent = "Leave this match";
    }, 5000);
    return;
  }
  clearTimeout(leaveArmed);
  leaveArmed = 0;
  leaving = true;
  if (!send({ type: "leave" })) leaving = false;
});

// The server's invite link (http.public_url when set, so a phone that
// scans it reaches the server) and its QR code, fetched once per code.
let inviteFor = "";
async function loadInvite(code) {
  if (inviteFor === code) return;
  inviteFor = code;
  try {
    const inv = await api("GET", `/api/invite/${encodeURIComponent(code)}`);
    $("#invite-link").value = inv.link;
    const img = $("#invite-qr");
    img.src = inv.qr;
    const l = inv.limits;
    if (l) {
      Object.assign($("#set-rounds"), { min: 1, max: l.maxRounds });
      Object.assign($("#set-answer"), { min: l.minAnswerSeconds, max: l.maxAnswerSeconds });
      Object.assign($("#set-vote"), { min: l.minVoteSeconds, max: l.maxVoteSeconds });
      Object.assign($("#set-humans"), { min: 1, max: l.maxHumans });
    }
    img.alt = `QR code of the invite link ${inv.link}`;
    $("#invite-qr-box").hidden = false;
  } catch {
    inviteFor = ""; // the typed link still works; try again on the next view
  }
}

function maxChars() {
  return view && view.maxAnswerChars > 0 ? view.maxAnswerChars : 280;
}

/** Enables Send only for a non-empty answer within the limit; updates n/max. */
function updateCounter() {
  const n = codePoints(ui.answer.value);
  const max = maxChars();
  ui.charCount.textContent = `${n}/${max}`;
  ui.charCount.classList.toggle("over", n > max);
  ui.charCount.classList.toggle("near", n <= max && n > max * 0.9);
  ui.answerSubmit.disabled = !ui.answer.value.trim() || n > max || !connected;
}

let boxRound = 0; // the round the answer box's text belongs to

function renderAnswering(v) {
  const player = isPlayer();
  $("#answer-spectator").hidden = player;
  if (!player) {
    ui.answerForm.hidden = true;
    ui.answerSent.hidden = true;
    return;
  }
  const mine = memo.answers[v.round];
  const answered = Boolean(seatOf(v, v.you)?.answered || mine);
  if (boxRound !== v.round) {
    // A new round (or a fresh page): a clean box, or the draft this browser
    // kept of it; older rounds' drafts are of no use any more.
    ui.answer.value = answered ? "" : loadDraft(matchId, v.round);
    clearDrafts(matchId, v.round);
  }
  boxRound = v.round;
  ui.answerForm.hidden = answered;
  ui.answerSent.hidden = !answered;
  ui.myAnswer.textContent = mine ? mine.text : "";
  ui.myAnswer.hidden = !mine;
  updateCounter();
}

function renderStrip(v) {
  const voting = v.phase === "voting";
  // Your own seat shows what you just sent, before the server's view catches up.
  const mine = (voting ? memo.votes : memo.answers)[v.round];
  const seats = (v.seats || []).map((s) =>
    s.seat === v.you && mine ? { ...s, [voting ? "voted" : "answered"]: true, typing: false } : s);
  const done = seats.filter((s) => (voting ? s.voted : s.answered)).length;
  rebuild($("#seat-strip"), JSON.stringify([v.phase, v.you, seats]), () =>
    seats.map((s) => {
      const ok = voting ? s.voted : s.answered;
      const state = ok ? (voting ? "voted" : "answered") : !voting && s.typing ? "typing" : "waiting";
      const icon = { voted: "✓", answered: "✓", typing: "…", waiting: "" }[state];
      return el("li", { class: `strip-seat state-${state}${s.seat === v.you ? " mine" : ""}`, "data-testid": `seat-${s.seat}`, title: `${s.seat}: ${state}` },
        seatBadge(s.seat),
        el("span", { class: "strip-state", "aria-hidden": "true", text: icon }),
        el("span", { class: "sr-only", text: `${s.seat === v.you ? " (you)" : ""} ${state}` }));
    }));
  $("#progress").textContent = `${done}/${seats.length} ${voting ? "voted" : "answered"}`;
}

function renderVoting(v) {
  const player = isPlayer();
  const seat = seatOf(v, v.you);
  const myPick = memo.votes[v.round]?.seat || "";
  const voted = Boolean(seat?.voted || myPick);
  const answers = roundAnswers(v, v.round);
  $("#voting-note").textContent = !player
    ? "Players are voting for who they think is human. Your pick joins the audience's, shown with the results."
    : voted
      ? "Vote cast — waiting for the others."
      : "Read the answers, then vote for the one player you believe is human.";

  const audiencePick = memo.picks[v.round] || "";
  rebuild($("#vote-cards"), JSON.stringify([v.round, v.you, answers, myPick, voted, connected, audiencePick]), () =>
    answers.map((a) => {
      let action = null;
      if (!player && me === null) {
        // A spectator: the audience's pick, shown in the results, never scored.
        const picked = audiencePick === a.seat;
        action = el("button", {
          type: "button",
          class: `btn ${picked ? "btn-picked" : "btn-vote"}`,
          "data-testid": `pick-${a.seat}`,
          disabled: Boolean(audiencePick),
          "aria-pressed": picked ? "true" : "false",
          "aria-label": picked ? `You picked ${a.seat} as human` : `Pick ${a.seat} as human`,
          text: picked ? `✓ Your pick: ${a.seat}` : `I think ${a.seat} is human`,
          onclick: () => sendPick(a.seat),
        });
      }
      if (player && a.seat !== v.you) {
        const picked = myPick === a.seat;
        action = el("button", {
          type: "button",
          class: `btn ${picked ? "btn-picked" : "btn-vote"}`,
          "data-testid": `vote-${a.seat}`,
          disabled: voted || !connected,
          "aria-pressed": picked ? "true" : "false",
          "aria-label": picked ? `Voted ${a.seat} human` : `Vote ${a.seat} human`,
          text: picked ? `✓ Voted ${a.seat} human` : `Vote ${a.seat} human`,
          onclick: () => sendVote(a.seat),
        });
      }
      return answerCard(a, { you: v.you, action, picked: myPick === a.seat, testid: `answer-card-${a.seat}` });
    }));
  // Where no other human may be here (you are alone, or a quick match), "no
  // one" is a vote, so that every vote can be right.
  rebuild($("#vote-none"), JSON.stringify([v.round, v.noOneVote, myPick, voted, connected, player]), () => {
    if (!player || !v.noOneVote) return [];
    const picked = myPick === "none";
    return [el("button", {
      type: "button",
      class: `btn ${picked ? "btn-picked" : "btn-vote"}`,
      "data-testid": "vote-none",
      disabled: voted || !connected,
      "aria-pressed": picked ? "true" : "false",
      text: picked ? "✓ Voted: no one, they are all robots" : "No one: they are all robots",
      onclick: () => sendVote("none"),
    })];
  });
}

/** "The audience picked C (2), A (1)." for a round, or "". */
function audienceLine(v, round) {
  const picks = (v.audience || []).filter((x) => x.round === round).sort((a, b) => b.votes - a.votes || (a.seat < b.seat ? -1 : 1));
  return picks.length ? `The audience picked ${picks.map((x) => `${x.seat} (${x.votes})`).join(", ")}.` : "";
}

const randomId = () => [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");

/** This browser's spectator id: random, kept, so one browser picks once a round. */
function spectatorId() {
  try {
    let id = localStorage.getItem("arena.spectator");
    if (!id) {
      id = randomId();
      localStorage.setItem("arena.spectator", id);
    }
    return id;
  } catch {
    return randomId();
  }
}

async function sendPick(seat) {
  if (!view || view.phase !== "voting") return;
  const round = view.round;
  memo.picks[round] = seat;
  saveMemo();
  renderVoting(view);
  try {
    await api("POST", `/api/matches/${encodeURIComponent(matchId)}/audience`, { body: { round, seat, spectator: spectatorId() } });
    announce(`You picked seat ${seat}.`);
  } catch (err) {
    if (err.code !== "already_picked") {
      delete memo.picks[round];
      saveMemo();
      if (view && view.phase === "voting") renderVoting(view);
    }
    toast(err.message);
  }
}

function renderResults(v) {
  const votes = roundVotes(v, v.round);
  const myPick = memo.votes[v.round]?.seat || "";
  rebuild($("#result-cards"), JSON.stringify([v.round, v.you, roundAnswers(v, v.round), votes, myPick]), () =>
    roundAnswers(v, v.round).map((a) =>
      answerCard(a, { you: v.you, picked: myPick === a.seat, votes: votes.filter((x) => x.seat === a.seat), testid: `answer-card-${a.seat}` })));
  const none = votes.filter((x) => x.seat === "none").map((x) => x.voter).sort();
  const saidNone = none.length ? `No one, all robots: said by seat ${none.join(", ")}. ` : "";
  $("#audience-results").textContent = audienceLine(v, v.round);
  $("#next-note").textContent = saidNone + (v.round >= v.rounds
    ? "That was the last round: the reveal is coming up…"
    : `Round ${v.round + 1} starts in a moment. Who was human, and the scores, are revealed at the end.`);
}

function renderFinished(v) {
  clearDrafts(matchId);
  const reveal = v.reveal || [];
  const winners = new Set(v.winners || []);
  const winnerNames = reveal.filter((r) => winners.has(r.seat)).map((r) => r.name || r.seat);
  const youWon = v.you && winners.has(v.you);
  finalHeading = youWon
    ? winners.size > 1 ? "You're a winner! 🏆" : "You win! 🏆"
    : winnerNames.length
      ? `${winnerNames.join(" & ")} ${winnerNames.length > 1 ? "win" : "wins"}! 🏆`
      : "Match over";
  // While the cards turn, the heading keeps the suspense.
  $("#finished-heading").textContent = turning ? SUSPENSE : finalHeading;
  $("#finished-note").textContent = v.endReason === "abandoned"
    ? "This match ended early."
    : "Here's who was who.";

  const picks = votesFor(v);
  rebuild($("#reveal"), JSON.stringify([reveal, v.winners, v.you]), () => {
    // In seat order: an order by score would name the winner before the turn.
    const sorted = [...reveal].sort((a, b) => (a.seat < b.seat ? -1 : 1));
    return sorted.map((r) => {
      const win = winners.has(r.seat);
      const by = picks.get(r.seat) || [];
      return el("article", {
        class: `reveal-card ${r.human ? "is-human" : "is-robot"}${win ? " winner" : ""}${r.seat === v.you ? " mine" : ""}`,
        "data-testid": `reveal-${r.seat}`,
        "data-seat": r.seat,
      },
      el("div", { class: "reveal-back", "aria-hidden": "true" }, seatBadge(r.seat), el("span", { class: "reveal-q", text: "?" })),
      el("div", { class: "reveal-avatar", "aria-hidden": "true", text: r.human ? "🧑" : "🤖" }),
      el("div", { class: "reveal-main" },
        el("p", { class: "reveal-name" }, seatBadge(r.seat), " ", el("span", { text: r.name || (r.human ? "Human" : "Robot") }),
          r.seat === v.you ? el("span", { class: "tag tag-you", text: "you" }) : null,
          win ? el("span", { class: "tag tag-win", text: "🏆 winner" }) : null),
        el("p", { class: "reveal-identity" }, identityTag(r, { withName: false })),
        el("p", { class: "reveal-accuracy", text: `Detective: ${r.correct || 0}/${r.votes || 0} correct` }),
        el("p", { class: "reveal-votes", "data-testid": `votes-on-${r.seat}` }, by.length
          ? [`Taken for human ${plural(by.length, "time")}: by `, ...by.flatMap((x, i) => [i ? " " : "", seatBadge(x, "seat-sm")])]
          : "No one took them for human."),
        audienceFor(v, r.seat)),
      el("div", { class: "reveal-score" }, el("span", { class: "score-num", text: String(r.score || 0) }), el("span", { class: "score-label", text: "points" })));
    });
  });

  turnCards(v);

  const player = isPlayer();
  ui.playAgain.hidden = !player;
  ui.playAgain.textContent = v.rematch ? "Join rematch" : "Play again";
  const watch = $("#watch-rematch");
  watch.hidden = player || !v.rematch;
  if (v.rematch) watch.href = `/match/${encodeURIComponent(v.rematch)}`;
  $("#history-link").href = `/history/${encodeURIComponent(v.matchId || matchId)}`;
}

/** "The audience thought C was human: 3 picks", or null. */
function audienceFor(v, seat) {
  const n = (v.audience || []).filter((x) => x.seat === seat).reduce((sum, x) => sum + x.votes, 0);
  return n ? el("p", { class: "reveal-audience", "data-testid": `audience-on-${seat}`, text: `The audience thought ${seat} was human: ${plural(n, "pick")}` }) : null;
}

/** Seat -> the voters (one per vote, every round) who took it for human. */
function votesFor(v) {
  const m = new Map();
  for (const x of v.votes || []) {
    if (x.seat === "none") continue;
    if (!m.has(x.seat)) m.set(x.seat, []);
    m.get(x.seat).push(x.voter);
  }
  for (const list of m.values()) list.sort();
  return m;
}

// ---- the reveal: cards turned one by one ------------------------------------
// Face down first, then turned from the lowest score to the winner, each
// with its votes and (if the player turned sound on) a chime for a human, a
// blip for a robot. With prefers-reduced-motion, or on a second look at the
// same match in this tab, every card is shown at once. "Show all" skips.

const reducedMotion = () => matchMedia("(prefers-reduced-motion: reduce)").matches;
const TURN_MS = 900;
const SUSPENSE = "Who was human?";
let turning = null; // the reveal being turned: {timer, cards}
let finalHeading = "";

function turnCards(v) {
  const box = $("#reveal");
  const score = new Map((v.reveal || []).map((r) => [r.seat, r.score || 0]));
  // Lowest score first, the winner last; ties in seat order.
  const cards = [...box.querySelectorAll(".reveal-card:not(.turned)")]
    .sort((a, b) => score.get(a.dataset.seat) - score.get(b.dataset.seat) || (a.dataset.seat < b.dataset.seat ? -1 : 1));
  if (!cards.length || turning) return;
  const seenKey = `arena.revealed.${matchId}`;
  let seen = false;
  try {
    seen = sessionStorage.getItem(seenKey) === "1";
    sessionStorage.setItem(seenKey, "1");
  } catch {
    /* no storage: turn them */
  }
  const skip = $("#reveal-skip");
  if (seen || reducedMotion()) {
    cards.forEach((c) => c.classList.add("turned"));
    box.dataset.turned = "all";
    skip.hidden = true;
    return;
  }
  box.dataset.turned = "turning";
  skip.hidden = false;
  turning = { cards, timer: 0 };
  $("#finished-heading").textContent = SUSPENSE;
  const next = () => {
    const card = turning.cards.shift();
    if (!card) {
      turnedAll();
      return;
    }
    card.classList.add("turned");
    const human = card.classList.contains("is-human");
    chime(human);
    const name = card.querySelector(".reveal-name span:not(.seat)")?.textContent || "";
    announce(`Seat ${card.dataset.seat}: ${name}, ${human ? "human" : "robot"}.`);
    turning.timer = setTimeout(next, TURN_MS);
  };
  turning.timer = setTimeout(next, TURN_MS / 2);
}

function turnedAll() {
  turning = null;
  $("#reveal").dataset.turned = "all";
  $("#reveal-skip").hidden = true;
  $("#finished-heading").textContent = finalHeading;
  announce(finalHeading);
}

$("#reveal-skip").addEventListener("click", () => {
  if (!turning) return;
  clearTimeout(turning.timer);
  turning.cards.forEach((c) => c.classList.add("turned"));
  turnedAll();
  $("#finished-heading").focus({ preventScroll: true });
});

// Sound: off unless the player turns it on (remembered in this browser).
const soundKey = "arena.sound";
let soundOn = false;
try {
  soundOn = localStorage.getItem(soundKey) === "on";
} catch {
  /* off */
}
let audio = null;
function showSound() {
  const b = $("#sound-toggle");
  b.setAttribute("aria-pressed", String(soundOn));
  b.textContent = soundOn ? "🔊 Sound on" : "🔇 Sound off";
}
showSound();
$("#sound-toggle").addEventListener("click", () => {
  soundOn = !soundOn;
  try {
    localStorage.setItem(soundKey, soundOn ? "on" : "off");
  } catch {
    /* this page only */
  }
  showSound();
  if (soundOn) chime(true); // a sample, and browsers let audio start on a click
});

/** A short tone: two rising notes for a human, one low blip for a robot. */
function chime(human) {
  if (!soundOn) return;
  try {
    audio = audio || new AudioContext();
    const notes = human ? [660, 880] : [220];
    notes.forEach((f, i) => {
      const t = audio.currentTime + i * 0.12;
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = human ? "sine" : "square";
      osc.frequency.value = f;
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(human ? 0.2 : 0.08, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.25);
      osc.connect(gain).connect(audio.destination);
      osc.start(t);
      osc.stop(t + 0.3);
    });
  } catch {
    /* no audio here: the cards still turn */
  }
}

function renderEarlier(v) {
  const details = ui.sections.earlier;
  // While playing: the rounds before the current one. Once finished: all.
  const last = v.phase === "finished" ? v.round : v.round - 1;
  const rounds = [...new Set((v.answers || []).map((a) => a.round))].filter((r) => r <= last).sort((a, b) => b - a);
  details.hidden = rounds.length === 0;
  const reveal = v.reveal ? new Map(v.reveal.map((r) => [r.seat, r])) : null;
  rebuild($("#earlier-body"), JSON.stringify([rounds, v.answers, v.votes, v.audience, v.reveal ? 1 : 0, v.you]), () =>
    rounds.map((r) => {
      const block = roundBlock(v, r, { you: v.you, reveal, prompt: promptOf(v, r) });
      const line = audienceLine(v, r);
      if (line) block.append(el("p", { class: "audience-line", "data-testid": `audience-round-${r}`, text: line }));
      return block;
    }));
}

/** A round's prompt: the view's current one, else what this tab saw, else the timeline. */
function promptOf(v, round) {
  if (round === v.round && v.prompt) return v.prompt;
  if (memo.prompts[round]) return memo.prompts[round];
  // Only if the timeline's round.started detail is the prompt (not just "round N").
  const t = (v.timeline || []).find((e) => e.type === "round.started" && e.round === round && !/^round \d+$/i.test(e.detail || ""));
  return t ? t.detail : "";
}

// ---- countdown -----------------------------------------------------------

let deadline = 0; // ms since epoch, 0 for none
let windowMs = 0; // the length of the current window as first seen, for the bar

function setDeadline(iso) {
  const t = iso ? Date.parse(iso) : 0;
  if (t !== deadline) {
    deadline = Number.isNaN(t) ? 0 : t;
    windowMs = Math.max(0, deadline - Date.now());
  }
  tick();
}

function tick() {
  const cd = ui.countdown;
  // A private lobby's deadline is only its idle timeout: no clock for that.
  const noClock = !view || view.phase === "finished" || (view.phase === "lobby" && view.mode !== "quick");
  if (!deadline || noClock) {
    cd.hidden = true;
    ui.timebar.style.transform = "scaleX(0)";
    return;
  }
  const left = Math.max(0, deadline - Date.now());
  const secs = Math.ceil(left / 1000);
  cd.hidden = false;
  const lobby = view.phase === "lobby";
  cd.textContent = lobby ? `Starting in ${secs}s` : `${secs}s`;
  cd.classList.toggle("countdown-lobby", lobby);
  cd.setAttribute("aria-label", lobby ? `Starting in ${secs} seconds` : `${secs} seconds left`);
  cd.classList.toggle("urgent", secs <= 5 && (view.phase === "answering" || view.phase === "voting"));
  ui.timebar.style.transform = `scaleX(${windowMs > 0 ? Math.min(1, left / windowMs) : 0})`;
}
setInterval(tick, 250);

// ---- actions ---------------------------------------------------------------

let seq = 0;
const pending = new Map(); // client id -> {kind, round}

/** Sends a client frame; returns its id, or "" when not connected. */
function send(msg) {
  if (!ws || ws.readyState !== WebSocket.OPEN) {
    toast("You're offline right now — we'll reconnect in a moment.");
    return "";
  }
  const id = msg.type === "typing" ? undefined : `c${++seq}`;
  ws.send(JSON.stringify(id ? { ...msg, id } : msg));
  return id || "";
}

function submitAnswer() {
  const text = ui.answer.value.trim();
  if (!view || view.phase !== "answering" || ui.answerSubmit.disabled) return;
  if (!text || codePoints(text) > maxChars()) return;
  const round = view.round;
  const id = send({ type: "answer", round, text });
  if (!id) return;
  pending.set(id, { kind: "answer", round });
  memo.answers[round] = { text, id, acked: false };
  saveMemo();
  render(view, false);
  keepFocusNear(ui.answerSent);
  announce("Answer sent. Waiting for the others.");
}

function sendVote(seat) {
  if (!view || view.phase !== "voting") return;
  const round = view.round;
  const id = send({ type: "vote", round, seat });
  if (!id) return;
  pending.set(id, { kind: "vote", round });
  memo.votes[round] = { seat, id, acked: false };
  saveMemo();
  render(view, false);
  keepFocusNear($("#voting-note"));
  announce(seat === "none" ? "You voted: no one, they are all robots." : `You voted for seat ${seat}.`);
}

/** The control that had focus went away (hidden or disabled): focus target instead. */
function keepFocusNear(target) {
  const a = document.activeElement;
  if (!a || a === document.body || a.disabled || a.closest("[hidden]")) target.focus({ preventScroll: true });
}

function onAck(id) {
  const p = pending.get(id);
  pending.delete(id);
  if (!p) return;
  const rec = (p.kind === "answer" ? memo.answers : memo.votes)[p.round];
  if (rec && rec.id === id) {
    rec.acked = true;
    saveMemo();
    if (p.kind === "answer") saveDraft(matchId, p.round, ""); // it counts: the draft is done
  }
}

/** The server refused an action: forget the optimistic state, give the box back. */
function onRefused(id) {
  const p = pending.get(id);
  pending.delete(id);
  if (!p) return;
  const store = p.kind === "answer" ? memo.answers : memo.votes;
  const rec = store[p.round];
  if (!rec || rec.id !== id) return;
  delete store[p.round];
  saveMemo();
  if (p.kind === "answer" && view && view.round === p.round && !ui.answer.value) ui.answer.value = rec.text;
  if (view) render(view, false);
}

/**
 * After a reconnect, actions sent but never acknowledged may have been lost:
 * if the fresh view does not show them, let the player do them again.
 */
function dropUnconfirmed(v) {
  const seat = seatOf(v, v.you);
  const a = memo.answers[v.round];
  if (a && !a.acked && !seat?.answered) {
    delete memo.answers[v.round];
    if (!ui.answer.value) ui.answer.value = a.text;
  }
  const b = memo.votes[v.round];
  if (b && !b.acked && !seat?.voted) delete memo.votes[v.round];
  pending.clear();
  saveMemo();
}

ui.answerForm.addEventListener("submit", (e) => {
  e.preventDefault();
  submitAnswer();
});

// Enter sends, Shift+Enter is a new line (not while an IME is composing).
ui.answer.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    submitAnswer();
  }
});

// Typing indicator: at most one frame every 2 s while the player types.
let lastTyping = 0;
ui.answer.addEventListener("input", () => {
  updateCounter();
  if (view && view.phase === "answering") saveDraft(matchId, view.round, ui.answer.value);
  const now = Date.now();
  if (view && view.phase === "answering" && ui.answer.value.trim() && now - lastTyping >= 2000 && connected) {
    lastTyping = now;
    send({ type: "typing", round: view.round });
  }
});

$("#start").addEventListener("click", async (e) => {
  const btn = e.currentTarget;
  btn.disabled = true;
  try {
    await api("POST", `/api/matches/${encodeURIComponent(matchId)}/start`, { token: me.token });
    announce("Starting the match.");
  } catch (err) {
    toast(err.message);
  } finally {
    btn.disabled = false;
  }
});

$("#copy-link").addEventListener("click", async () => {
  const input = $("#invite-link");
  try {
    await navigator.clipboard.writeText(input.value);
    toast("Invite link copied — send it to your friends!", "info");
  } catch {
    // No clipboard permission (e.g. plain http): select it for a manual copy.
    input.focus();
    input.select();
    toast("Press Ctrl+C (or ⌘C) to copy the selected link.", "info");
  }
});

ui.playAgain.addEventListener("click", async () => {
  const btn = ui.playAgain;
  btn.disabled = true;
  try {
    const reply = await api("POST", `/api/matches/${encodeURIComponent(matchId)}/rematch`, { token: me.token });
    location.assign(enterMatch(reply, me.name || ""));
  } catch (err) {
    toast(err.message);
    btn.disabled = false;
  }
});

// ---- connection -------------------------------------------------------------

let ws = null;
let connected = false;
let attempt = 0; // consecutive failed connections
let retryTimer = 0;

function setConnected(on) {
  connected = on;
  document.body.dataset.connected = String(on);
  if (on) hideBanner();
  updateCounter();
  if (view && view.phase === "voting") renderVoting(view);
}

function showBanner(children, kind = "warn") {
  fill(ui.banner, children);
  ui.banner.className = `banner banner-${kind}`;
  ui.banner.hidden = false;
}
function hideBanner() {
  ui.banner.hidden = true;
}

/** A dead end (unknown match, seat refused): say why, offer the lobby, stop. */
function showFatal(message) {
  fatal = true;
  clearTimeout(retryTimer);
  document.body.dataset.phase = "error";
  ui.loading.hidden = true;
  ui.main.removeAttribute("aria-busy");
  for (const s of Object.values(ui.sections)) s.hidden = true;
  ui.sections.fatal.hidden = false;
  $("#fatal-text").textContent = message;
  if (me) {
    // The saved seat is no good here: offer to watch instead of playing.
    const watch = el("button", { type: "button", class: "btn btn-secondary", text: "Watch as a spectator" });
    watch.addEventListener("click", () => {
      try {
        localStorage.removeItem(`arena.token.${matchId}`);
      } catch {
        /* nothing stored then */
      }
      location.reload();
    });
    $("#fatal-actions").prepend(watch);
  }
  hideBanner(); // the card says it all
  announce(message);
}

function connect() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const url = `${proto}//${location.host}/ws?match=${encodeURIComponent(matchId)}&token=${encodeURIComponent(me.token)}`;
  let opened = false;
  let first = true; // the first state after (re)connecting replaces everything
  const sock = new WebSocket(url);
  ws = sock;

  sock.addEventListener("open", () => {
    opened = true;
    attempt = 0;
    setConnected(true);
  });

  sock.addEventListener("message", (e) => {
    let msg;
    try {
      msg = JSON.parse(e.data);
    } catch {
      return; // not ours to show
    }
    if (msg.type === "state" && msg.state) {
      render(msg.state, first);
      first = false;
    } else if (msg.type === "ack") {
      onAck(msg.id);
    } else if (msg.type === "error") {
      if (msg.id) onRefused(msg.id);
      toast(msg.message || "That didn't work.");
    }
  });

  sock.addEventListener("close", async (e) => {
    if (ws !== sock || fatal) return;
    ws = null;
    setConnected(false);
    // Policy close (bad or unknown token, kicked, left): looping won't help,
    // and the token opens nothing here any more (a flood is the exception).
    if (e.code === 1008 && !/too many/i.test(e.reason || "")) {
      try {
        localStorage.removeItem(`arena.token.${matchId}`);
      } catch {
        /* nothing stored then */
      }
      if (leaving) {
        location.assign("/");
        return;
      }
    }
    if (e.code === 1008 || (e.code >= 4400 && e.code < 4500)) {
      showFatal(e.reason || "The server refused this seat.");
      return;
    }
    if (view && view.phase === "finished" && e.code === 1000) return; // the match is over: nothing more to hear
    if (!opened) {
      // Never got in: if the match does not exist, say so instead of retrying.
      try {
        await api("GET", `/api/matches/${encodeURIComponent(matchId)}`);
      } catch (err) {
        if (err.status === 404) {
          showFatal(err.message || "This match doesn't exist.");
          return;
        }
      }
    }
    scheduleReconnect();
  });
}

// Reconnect backoff: 0.5s, 1s, 2s, 2s… while the page is visible, so a
// player looking at the page is back within about 2 s of the server; a
// hidden tab backs off to 10 s and reconnects at once when shown again.
const visible = () => document.visibilityState !== "hidden";
let reconnects = 0; // reconnects scheduled so far (for tests: data-reconnects)

function scheduleReconnect() {
  const delay = Math.min(visible() ? 2000 : 10000, 500 * 2 ** attempt);
  attempt++;
  reconnects++;
  document.body.dataset.reconnects = String(reconnects);
  document.body.dataset.retryDelay = String(delay);
  const retry = el("button", { type: "button", class: "btn btn-small", text: "Retry now" });
  retry.addEventListener("click", () => {
    clearTimeout(retryTimer);
    retryTimer = 0;
    hideBanner();
    connect();
  });
  showBanner([el("span", { class: "spinner", "aria-hidden": "true" }), el("span", { text: "Connection lost — reconnecting…" }), retry]);
  retryTimer = setTimeout(() => {
    retryTimer = 0;
    connect();
  }, delay);
}

// Back to the page (or the network) while waiting to reconnect: try now.
function reconnectNow() {
  if (!me || fatal || ws || !retryTimer || !visible()) return;
  clearTimeout(retryTimer);
  retryTimer = 0;
  connect();
}
document.addEventListener("visibilitychange", reconnectNow);
window.addEventListener("online", reconnectNow);

// Spectators poll the public view: no socket, no token.
async function poll() {
  try {
    const v = await api("GET", `/api/matches/${encodeURIComponent(matchId)}`);
    if (!connected) setConnected(true);
    render(v, false);
    if (v.phase === "finished") return; // nothing changes any more
  } catch (err) {
    if (err.status === 404) {
      showFatal(err.message || "This match doesn't exist.");
      return;
    }
    if (connected) setConnected(false);
    showBanner([el("span", { class: "spinner", "aria-hidden": "true" }), el("span", { text: "Connection lost — reconnecting…" })]);
  }
  setTimeout(poll, 2000);
}

if (!matchId) {
  showFatal("There's no match id in this address.");
} else if (me) {
  connect();
} else {
  poll();
}
