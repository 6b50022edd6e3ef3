// /history: finished matches, newest first, paged with the "next" cursor.
import { $, api, busy, el, fmtMatchTime, formatLabel, pct, personalityLabel, plural, savedSeats, toast } from "/static/app.js";

const list = $("#history-list");
const older = $("#older");
let cursor = "";

function item(m) {
  const robots = Array.isArray(m.robots) ? m.robots : [];
  const humans = typeof m.humans === "number" ? m.humans : Array.isArray(m.humans) ? m.humans.length : Math.max(0, (m.seats || 0) - robots.length);
  const winners = m.winnerNames && m.winnerNames.length ? m.winnerNames : m.winners || [];
  const href = `/history/${encodeURIComponent(m.matchId)}`;
  return el("li", { class: "history-item" },
    el("a", { class: "history-link", href },
      el("div", { class: "history-top" },
        el("time", { class: "history-date", "data-testid": "history-time", datetime: m.startedAt, text: fmtMatchTime(m.startedAt, m.endedAt) }),
        el("span", { class: `tag tag-mode tag-${m.mode}`, text: m.mode === "private" ? "private" : "quick" }),
        m.endReason === "abandoned" ? el("span", { class: "tag tag-warn", text: "ended early" }) : null),
      el("p", { class: "history-format", text: `${formatLabel(humans, robots.length)} · ${m.rounds} rounds` }),
      el("p", { class: "history-winners" },
        el("span", { "aria-hidden": "true", text: "🏆 " }),
        winners.length ? `Won by ${winners.join(" & ")}` : "No winner"),
      robots.length
        ? el("p", { class: "history-robots muted", text: `Robots: ${robots.map((r) => r.name || personalityLabel(r.personality)).join(", ")}` })
        : null,
      el("span", { class: "history-go", "aria-hidden": "true", text: "›" })));
}

async function load() {
  const q = new URLSearchParams({ limit: "20" });
  if (cursor) q.set("before", cursor);
  const page = await api("GET", `/api/history?${q}`);
  const matches = page.matches || [];
  list.append(...matches.map(item));
  cursor = page.next || "";
  older.hidden = !cursor;
  $("#empty").hidden = list.children.length > 0;
  return matches.length;
}

older.addEventListener("click", () =>
  busy(older, async () => {
    const first = list.children.length;
    try {
      await load();
      // Keep keyboard users where the new entries start.
      list.children[first]?.querySelector("a")?.focus();
    } catch (err) {
      toast(err.message);
    }
  }));

load()
  .catch((err) => toast(err.message))
  .finally(() => ($("#loading").hidden = true));

// ---- your matches and your record ----------------------------------------------
// Built in the browser from the seats it holds (local storage): the
// finished ones among the newest 20, and from their reveals the player's
// record: matches, detective accuracy, and how often others took them for
// human.

/** When a finished match started and ended, from its timeline. */
function span(v) {
  const tl = v.timeline || [];
  const start = (tl.find((e) => e.round >= 1) || tl[0] || {}).at || "";
  const end = ([...tl].reverse().find((e) => e.type !== "rematch.created") || {}).at || "";
  return [start, end];
}

async function mine() {
  const seats = savedSeats().slice(0, 20);
  if (!seats.length) return;
  const views = await Promise.all(seats.map((s) =>
    api("GET", `/api/matches/${encodeURIComponent(s.matchId)}`).catch(() => null)));
  const played = [];
  views.forEach((v, i) => {
    if (!v || v.phase !== "finished" || v.endReason !== "completed") return;
    const me = (v.reveal || []).find((r) => r.seat === seats[i].seat);
    if (me) played.push({ v, me, seat: seats[i].seat });
  });
  if (!played.length) return;
  let votes = 0;
  let correct = 0;
  let taken = 0; // votes of others that picked you
  let against = 0; // votes of others in those matches
  let wins = 0;
  for (const { v, me, seat } of played) {
    votes += me.votes || 0;
    correct += me.correct || 0;
    const others = (v.votes || []).filter((x) => x.voter !== seat);
    against += others.length;
    taken += others.filter((x) => x.seat === seat).length;
    if ((v.winners || []).includes(seat)) wins++;
  }
  $("#my-record").textContent = [
    plural(played.length, "match", "matches"),
    plural(wins, "win"),
    votes ? `detective ${pct(correct / votes)} right (${correct}/${votes})` : "no votes cast",
    against ? `taken for human by ${pct(taken / against)} of the votes` : "",
  ].filter(Boolean).join(" · ");
  $("#my-list").append(...played.map(({ v, me, seat }) => {
    const [start, end] = span(v);
    const won = (v.winners || []).includes(seat);
    return el("li", { class: "history-item" },
      el("a", { class: "history-link", href: `/history/${encodeURIComponent(v.matchId)}` },
        el("div", { class: "history-top" },
          el("time", { class: "history-date", datetime: start, text: fmtMatchTime(start, end) }),
          el("span", { class: `tag tag-mode tag-${v.mode}`, text: v.mode === "private" ? "private" : "quick" }),
          won ? el("span", { class: "tag tag-win", text: "🏆 won" }) : null),
        el("p", { class: "history-format", text: `You were ${seat}, as ${me.name}: ${me.score || 0} points, ${me.correct || 0}/${me.votes || 0} right` }),
        el("span", { class: "history-go", "aria-hidden": "true", text: "›" })));
  }));
  $("#mine").hidden = false;
}
mine();
