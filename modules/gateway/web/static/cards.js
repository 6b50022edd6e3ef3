// Answer cards and round summaries, shared by the live match page and the
// match history page. Everything human-written goes in via textContent.
import { el, seatBadge } from "/static/app.js";

const bySeat = (a, b) => (a.seat < b.seat ? -1 : a.seat > b.seat ? 1 : 0);

/** The answers of one round, in seat order (arrival order could give robots away). */
export const roundAnswers = (view, round) =>
  (view.answers || []).filter((a) => a.round === round).sort(bySeat);

/** The votes of one round. */
export const roundVotes = (view, round) => (view.votes || []).filter((v) => v.round === round);

/** Rounds that have answers, ascending. */
export function roundsWithAnswers(view) {
  return [...new Set((view.answers || []).map((a) => a.round))].sort((a, b) => a - b);
}

/**
 * A small "🧑 Human · alice" / "🤖 Robot · curious-student · gpt-4o-mini" tag.
 * withName false leaves the human's name out (when it is shown next to it).
 * Robots are labelled by personality id and model, as on the stats page.
 */
export function identityTag(rev, { withName = true } = {}) {
  if (!rev) return null;
  if (rev.human) {
    return el("span", { class: "identity identity-human" },
      el("span", { "aria-hidden": "true", text: "🧑 " }), "Human",
      withName && rev.name ? el("span", { class: "identity-detail", text: ` · ${rev.name}` }) : null);
  }
  const who = rev.personality || rev.name;
  return el("span", { class: "identity identity-robot" },
    el("span", { "aria-hidden": "true", text: "🤖 " }), "Robot",
    who ? el("span", { class: "identity-detail", text: ` · ${who}` }) : null,
    rev.model ? [" ", el("code", { class: "model-chip", title: "model", text: rev.model })] : null);
}

/**
 * One answer card.
 * opts.you: the viewer's seat (marks "you"); opts.votes: votes received, shown
 * as "A → B"; opts.reveal: seat -> reveal entry (labels the author and marks
 * votes right or wrong); opts.action: a node for the card's footer (the vote
 * button); opts.picked: this is the viewer's pick; opts.testid: data-testid.
 */
export function answerCard(a, opts = {}) {
  const mine = opts.you && a.seat === opts.you;
  const rev = opts.reveal && opts.reveal.get(a.seat);
  const classes = ["answer-card", `accent-${a.seat.toLowerCase()}`];
  if (a.noAnswer) classes.push("no-answer");
  if (mine) classes.push("mine");
  if (opts.picked) classes.push("picked");
  if (rev) classes.push(rev.human ? "is-human" : "is-robot");

  const head = el("div", { class: "answer-head" },
    seatBadge(a.seat),
    mine ? el("span", { class: "tag tag-you", text: "you" }) : null,
    opts.picked ? el("span", { class: "tag tag-pick", text: "your pick" }) : null,
    rev ? identityTag(rev) : null);

  const body = a.noAnswer
    ? el("p", { class: "answer-text muted", text: "(no answer)" })
    : el("p", { class: "answer-text", text: a.text });

  let votes = null;
  if (opts.votes) {
    votes = el("div", { class: "votes-received" },
      el("p", { class: "votes-label", text: opts.votes.length === 1 ? "1 vote" : `${opts.votes.length} votes` }),
      opts.votes.length
        ? el("ul", { class: "vote-list" }, opts.votes.map((v) => voteLine(v, opts)))
        : null);
  }

  return el("article", { class: classes.join(" "), "data-testid": opts.testid || null, "aria-label": `Seat ${a.seat}` },
    head, body, votes, opts.action ? el("div", { class: "answer-actions" }, opts.action) : null);
}

/** "A → B", marked right (pick was human) or wrong when identities are known. */
export function voteLine(v, opts = {}) {
  const none = v.seat === "none"; // "no one, they are all robots"
  const rev = opts.reveal && (none ? { human: noOtherHuman(opts.reveal, v.voter) } : opts.reveal.get(v.seat));
  const cls = ["vote-line"];
  if (rev) cls.push(rev.human ? "vote-right" : "vote-wrong");
  if (opts.you && v.voter === opts.you) cls.push("vote-mine");
  const verdict = none ? (rev?.human ? "✓ all robots" : "✗ a human was here") : rev?.human ? "✓ human" : "✗ robot";
  return el("li", { class: cls.join(" ") },
    el("span", { class: "vote-arrow" }, seatBadge(v.voter, "seat-sm"), el("span", { "aria-hidden": "true", text: " → " }),
      el("span", { class: "sr-only", text: " voted for " }), none ? el("span", { text: "no one" }) : seatBadge(v.seat, "seat-sm")),
    rev ? el("span", { class: "vote-verdict", text: verdict }) : null);
}

// noOtherHuman: a "no one" vote is right when no human but the voter played.
function noOtherHuman(reveal, voter) {
  for (const [seat, r] of reveal) if (r.human && seat !== voter) return false;
  return true;
}

/**
 * A round: its prompt and its answer cards with the votes each received.
 * opts as for answerCard, plus opts.prompt and opts.extra (nodes after the cards).
 */
export function roundBlock(view, round, opts = {}) {
  const votes = roundVotes(view, round);
  const showVotes = votes.length > 0 || opts.alwaysVotes;
  return el("section", { class: "round-block", "aria-label": `Round ${round}` },
    el("h3", { class: "round-title" },
      el("span", { class: "round-num", text: `Round ${round}` }),
      opts.prompt ? el("span", { class: "round-prompt", text: opts.prompt }) : null),
    el("div", { class: "cards cards-compact" },
      roundAnswers(view, round).map((a) =>
        answerCard(a, { ...opts, votes: showVotes ? votes.filter((v) => v.seat === a.seat) : null }))),
    opts.extra || null);
}
