// /history/{id}: one finished match in full, from GET /api/matches/{id}:
// each round's prompt, answers unmasked (human with name, or robot with
// personality and model), votes and points, the final scores and the timeline.
import { $, api, el, fill, fmtDate, fmtMatchTime, fmtTime, formatLabel, idFromPath, seatBadge } from "/static/app.js";
import { identityTag, roundBlock, roundVotes, roundsWithAnswers } from "/static/cards.js";

const matchId = idFromPath("/history/");

/** A round's prompt: from a "prompts" list if the view has one, else the timeline. */
function promptOf(v, round) {
  if (Array.isArray(v.prompts)) {
    const p = v.prompts.find((x) => x && x.round === round) ?? v.prompts[round - 1];
    if (typeof p === "string") return p;
    if (p && p.prompt) return p.prompt;
  }
  // Only if the timeline's round.started detail is the prompt (not just "round N").
  const t = (v.timeline || []).find((e) => e.type === "round.started" && e.round === round && !/^round \d+$/i.test(e.detail || ""));
  if (t && t.detail) return t.detail;
  return round === v.round ? v.prompt : "";
}

/**
 * Points per round, worked out from the rules (+100 to a voter whose pick is
 * human; +50 to each human for every robot voter that did not pick them).
 * The view only carries final scores, so this is shown only when the sums
 * agree with them: a page never contradicts the server.
 */
function roundPoints(v, reveal, rounds) {
  const human = (s) => Boolean(reveal.get(s)?.human);
  const humans = [...reveal.values()].filter((r) => r.human).map((r) => r.seat);
  const totals = {};
  const per = new Map();
  for (const r of rounds) {
    const pts = {};
    const votes = roundVotes(v, r);
    for (const vote of votes) {
      if (human(vote.seat)) pts[vote.voter] = (pts[vote.voter] || 0) + 100;
    }
    for (const vote of votes.filter((x) => !human(x.voter))) {
      for (const h of humans) if (vote.seat !== h) pts[h] = (pts[h] || 0) + 50;
    }
    for (const [s, n] of Object.entries(pts)) totals[s] = (totals[s] || 0) + n;
    per.set(r, pts);
  }
  const scores = v.scores || {};
  const seats = new Set([...Object.keys(scores), ...Object.keys(totals)]);
  for (const s of seats) if ((scores[s] || 0) !== (totals[s] || 0)) return null;
  return per;
}

function pointsLine(pts) {
  const entries = Object.entries(pts).filter(([, n]) => n > 0).sort(([a], [b]) => (a < b ? -1 : 1));
  return el("p", { class: "points-line" },
    el("span", { class: "muted", text: "Points this round: " }),
    entries.length
      ? entries.map(([s, n]) => el("span", { class: "points-item" }, seatBadge(s, "seat-sm"), ` +${n}`))
      : el("span", { text: "none" }));
}

function finalTable(v, reveal) {
  const winners = new Set(v.winners || []);
  const rows = [...reveal.values()].sort((a, b) => (b.score || 0) - (a.score || 0) || (a.seat < b.seat ? -1 : 1));
  return [
    el("thead", {}, el("tr", {},
      el("th", { scope: "col", text: "Player" }),
      el("th", { scope: "col", class: "num", text: "Score" }),
      el("th", { scope: "col", class: "num", text: "Detective" }))),
    el("tbody", {}, rows.map((r) =>
      el("tr", { class: winners.has(r.seat) ? "winner-row" : "", "data-testid": `final-${r.seat}` },
        el("th", { scope: "row", class: "player-cell" },
          seatBadge(r.seat),
          el("span", { class: "player-name", text: r.name || "" }),
          winners.has(r.seat) ? el("span", { class: "tag tag-win", text: "🏆 winner" }) : null,
          el("span", { class: "player-who" }, identityTag(r, { withName: false }))),
        el("td", { class: "num score-cell", text: String(r.score || 0) }),
        el("td", { class: "num", text: `${r.correct || 0}/${r.votes || 0}` })))),
  ];
}

const TYPE_LABEL = {
  "match.created": "Match created",
  "player.joined": "Player joined",
  "match.started": "Match started",
  "round.started": "Round started",
  "answer.submitted": "Answer",
  "vote.cast": "Vote",
  "deadline.reached": "Time's up",
  "match.ended": "Match ended",
  "rematch.created": "Rematch created",
  "window.extended": "Clock paused",
  "host.away": "Host away",
};

/** What a timeline entry says: a timer that opens the next round reads "Round N started". */
function timelineLabel(e) {
  const next = /^round (\d+)$/i.exec(e.detail || "");
  if (next && (e.type === "deadline.reached" || e.type === "round.started")) return "Round started";
  return TYPE_LABEL[e.type] || e.type;
}

function timelineItem(e) {
  return el("li", { class: "tl-item" },
    el("time", { class: "tl-time", datetime: e.at, text: fmtTime(e.at) }),
    el("span", { class: "tl-type" }, el("span", { text: timelineLabel(e) }), el("code", { class: "tl-raw", text: e.type })),
    el("span", { class: "tl-round", text: e.round ? `R${e.round}` : "" }),
    el("span", { class: "tl-seat" }, e.seat ? seatBadge(e.seat, "seat-sm") : null),
    el("span", { class: "tl-detail", text: e.detail || "" }));
}

function show(v) {
  const reveal = new Map((v.reveal || []).map((r) => [r.seat, r]));
  const humans = [...reveal.values()].filter((r) => r.human).length;
  const robots = reveal.size - humans;
  const timeline = v.timeline || [];
  // The end: the last entry but a later "play again" link.
  const ended = ([...timeline].reverse().find((e) => e.type !== "rematch.created") || {}).at || "";
  // The start, as in the history list: the first entry of round 1 (the
  // lobby before it is not the match), else the match's creation.
  const started = (timeline.find((e) => e.round >= 1) || timeline[0] || {}).at || "";

  document.title = `Match ${fmtDate(started || ended)} — arena`;
  $("#mh-title").textContent = "Match";
  const when = $("#mh-time");
  when.hidden = !started;
  when.setAttribute("datetime", started);
  when.textContent = started ? fmtMatchTime(started, ended) : "";
  $("#mh-meta").textContent = [
    v.mode === "private" ? "Private match" : "Quick match",
    formatLabel(humans, robots),
    `${v.rounds} rounds`,
    v.endReason === "abandoned" ? "ended early" : "",
  ].filter(Boolean).join(" · ");
  const winners = (v.winners || []).map((s) => reveal.get(s)?.name || s);
  fill($("#mh-winners"), el("span", { "aria-hidden": "true", text: "🏆 " }), winners.length ? `Won by ${winners.join(" & ")}` : "No winner");

  fill($("#final-table"), finalTable(v, reveal));

  const rounds = roundsWithAnswers(v);
  const points = roundPoints(v, reveal, rounds);
  fill($("#rounds"), rounds.length
    ? rounds.map((r) => roundBlock(v, r, {
      reveal,
      prompt: promptOf(v, r),
      alwaysVotes: true,
      extra: points ? pointsLine(points.get(r)) : null,
    }))
    : el("p", { class: "muted", text: "No rounds were played." }));

  fill($("#timeline"), timeline.length ? timeline.map(timelineItem) : el("li", { class: "muted", text: "No events recorded." }));
  $("#content").hidden = false;
}

async function main() {
  try {
    if (!matchId) throw Object.assign(new Error("There's no match id in this address."), { status: 404 });
    const v = await api("GET", `/api/matches/${encodeURIComponent(matchId)}`);
    if (v.phase !== "finished") {
      $("#watch-live").href = `/match/${encodeURIComponent(matchId)}`;
      $("#not-done").hidden = false;
    } else {
      show(v);
    }
  } catch (err) {
    $("#error-text").textContent = err.message;
    $("#error").hidden = false;
  } finally {
    $("#loading").hidden = true;
  }
}

main();
