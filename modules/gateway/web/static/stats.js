// /stats: the robot leaderboard (how often each personality/model was taken
// for a human: the A/B view for models) and how good humans are at spotting humans.
import { $, api, el, pct, personalityLabel, toast } from "/static/app.js";

const secs = (ms) => (ms > 0 ? `${(ms / 1000).toFixed(1)} s` : "–");

function row(r, i) {
  const rate = Math.max(0, Math.min(1, Number(r.humanRate) || 0));
  const fill = el("span", { class: "rate-fill" });
  fill.style.width = `${(rate * 100).toFixed(1)}%`;
  return el("tr", { "data-testid": `stats-row-${r.personality}` },
    el("td", { class: "rank", text: i < 3 ? ["🥇", "🥈", "🥉"][i] : String(i + 1) }),
    el("th", { scope: "row", class: "robot-cell" },
      el("span", { class: "robot-name", text: r.name || personalityLabel(r.personality) }),
      el("span", { class: "robot-id muted", text: r.personality })),
    el("td", { "data-label": "Model" }, el("code", { class: "model", text: r.model || "–" })),
    el("td", { class: "num", "data-label": "Matches", text: String(r.matches || 0) }),
    el("td", { class: "num rate-cell", "data-label": "Taken for human" },
      el("span", { class: "rate" },
        el("span", { class: "rate-bar", "aria-hidden": "true" }, fill),
        el("span", { class: "rate-num", text: pct(rate) })),
      el("span", { class: "rate-sub muted", text: `${r.humanVotes || 0} of ${r.votes || 0} votes` }),
      // Humans' and robots' votes apart: a robot voter taking a robot for
      // human says less about how human it sounds.
      el("span", { class: "rate-sub muted", "data-testid": "by-humans",
        text: `by humans ${r.humanVoterVotes ? pct(r.humanVoterRate) : "–"} (${r.humanVoterPicks || 0} of ${r.humanVoterVotes || 0})` }),
      el("span", { class: "rate-sub muted", "data-testid": "by-robots",
        text: `by robots ${r.robotVoterVotes ? pct(r.robotVoterRate) : "–"} (${r.robotVoterPicks || 0} of ${r.robotVoterVotes || 0})` })),
    el("td", { class: "num", "data-label": "Mean response", text: secs(r.meanResponseMs) }));
}

try {
  const s = await api("GET", "/api/stats");
  const robots = [...(s.robots || [])].sort((a, b) => (b.humanRate || 0) - (a.humanRate || 0) || (b.matches || 0) - (a.matches || 0));
  $("#stats-body").append(...robots.map(row));
  $("#stats-empty").hidden = robots.length > 0;
  $("#total-matches").textContent = String(s.matches || 0);
  const d = s.detectives || {};
  $("#detective-accuracy").textContent = d.votes ? pct(d.accuracy) : "–";
  $("#detective-sub").textContent = d.votes ? `${d.correct} of ${d.votes} votes picked a human` : "No votes yet";
  $("#content").hidden = false;
} catch (err) {
  $("#error-text").textContent = err.message;
  $("#error").hidden = false;
  toast(err.message);
} finally {
  $("#loading").hidden = true;
}
