// /history: finished matches, newest first, paged with the "next" cursor.
import { $, api, busy, el, fmtMatchTime, formatLabel, personalityLabel, toast } from "/static/app.js";

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
