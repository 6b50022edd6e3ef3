// Shared helpers for every arena page: the JSON API, seat tokens in local
// storage, safe DOM building, toasts, screen-reader announcements and
// formatting. Human text (names, answers, prompts) is only ever inserted with
// textContent (via el/text below), never as HTML.

/** An API error: the server's {"code","message","matchId"?} plus the HTTP status. */
export class ApiError extends Error {
  constructor(status, code, message, matchId = "") {
    super(message);
    this.status = status;
    this.code = code;
    this.matchId = matchId;
  }
}

/**
 * Calls the JSON API. Resolves to the decoded body (or {} when empty);
 * rejects with an ApiError whose message is fit to show to the player.
 */
export async function api(method, path, { body, token } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "network", "Can't reach the server. Check your connection and try again.");
  }
  const raw = await res.text();
  let data = {};
  if (raw) {
    try {
      data = JSON.parse(raw);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const message = (data && data.message) || `Something went wrong (HTTP ${res.status}).`;
    throw new ApiError(res.status, (data && data.code) || "http_" + res.status, message, (data && data.matchId) || "");
  }
  if (data === null) throw new ApiError(res.status, "bad_response", "The server sent an unreadable reply.");
  return data;
}

// ---- local storage -------------------------------------------------------
// Storage can be unavailable (private mode, disabled cookies): every access
// is guarded so the game still works for the current page.

function storageGet(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function storageSet(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    /* not fatal: the seat just won't survive a reload */
  }
}

function storageRemove(key) {
  try {
    localStorage.removeItem(key);
  } catch {
    /* nothing stored then */
  }
}

const TOKEN_PREFIX = "arena.token.";

/** Saves a seat token for a match: {token, seat, name}, stamped with when. */
export function saveSeat(matchId, { token, seat, name }) {
  storageSet(TOKEN_PREFIX + matchId, JSON.stringify({ token, seat, name, at: Date.now() }));
}

/**
 * Lists the seats this browser holds, newest first: [{matchId, seat, name,
 * at}]. Seats saved before the "at" stamp existed sort last.
 */
export function savedSeats() {
  const out = [];
  try {
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i);
      if (!key || !key.startsWith(TOKEN_PREFIX)) continue;
      const matchId = key.slice(TOKEN_PREFIX.length);
      const seat = loadSeat(matchId);
      if (seat) out.push({ matchId, seat: seat.seat, name: seat.name, at: Number(seat.at) || 0 });
    }
  } catch {
    return [];
  }
  return out.sort((a, b) => b.at - a.at);
}

// ---- answer drafts -----------------------------------------------------------
// A half-typed answer is kept per match and round, so a reload (or a closed
// tab that comes back) finds it in the box again.

const draftKey = (matchId, round) => `arena.draft.${matchId}.${round}`;

export const loadDraft = (matchId, round) => storageGet(draftKey(matchId, round)) || "";

export function saveDraft(matchId, round, text) {
  if (text) storageSet(draftKey(matchId, round), text);
  else storageRemove(draftKey(matchId, round));
}

/** Forgets every draft of a match (it ended, or the rounds moved on). */
export function clearDrafts(matchId, keepRound = 0) {
  const prefix = `arena.draft.${matchId}.`;
  try {
    const doomed = [];
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i);
      if (key && key.startsWith(prefix) && key !== draftKey(matchId, keepRound)) doomed.push(key);
    }
    doomed.forEach(storageRemove);
  } catch {
    /* storage unavailable: nothing was kept */
  }
}

/** Returns the stored {token, seat, name} for a match, or null. */
export function loadSeat(matchId) {
  const raw = storageGet(`arena.token.${matchId}`);
  if (!raw) return null;
  try {
    const v = JSON.parse(raw);
    return v && typeof v.token === "string" && v.token ? v : null;
  } catch {
    return null;
  }
}

export const lastName = () => storageGet("arena.name") || "";
export const rememberName = (name) => storageSet("arena.name", name);

/** Stores the reply of create/join/rematch and returns the match page URL. */
export function enterMatch(reply, name) {
  saveSeat(reply.matchId, { token: reply.token, seat: reply.seat, name });
  rememberName(name);
  return `/match/${encodeURIComponent(reply.matchId)}`;
}

// ---- DOM ----------------------------------------------------------------

/**
 * Builds an element. props: "class", "text" (textContent), "on<event>"
 * handlers, boolean attributes (true/false), anything else as an attribute.
 * children: nodes or strings (strings become text nodes); null is skipped.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export const $ = (sel, root = document) => root.querySelector(sel);

/** Replaces a node's children. */
export function fill(node, ...children) {
  node.replaceChildren();
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Number of Unicode code points (what the server's 280 limit counts). */
export const codePoints = (s) => [...s].length;

/** Returns the path segment after prefix, e.g. idFromPath("/match/") -> "m1". */
export function idFromPath(prefix) {
  const p = location.pathname;
  if (!p.startsWith(prefix)) return "";
  const seg = p.slice(prefix.length).split("/")[0];
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
}

// ---- toasts and announcements --------------------------------------------

function toastHost() {
  let host = $("#toasts");
  if (!host) {
    host = el("div", { id: "toasts", class: "toasts", "aria-live": "assertive" });
    document.body.append(host);
  }
  return host;
}

/** Shows a dismissable message; kind: "error" (default) or "info". */
export function toast(message, kind = "error") {
  const close = el("button", { type: "button", class: "toast-close", "aria-label": "Dismiss", text: "×" });
  const t = el(
    "div",
    { class: `toast toast-${kind}`, "data-testid": "toast" },
    el("span", { class: "toast-icon", "aria-hidden": "true", text: kind === "error" ? "⚠️" : "💬" }),
    el("span", { class: "toast-text", text: message }),
    close,
  );
  const remove = () => t.remove();
  close.addEventListener("click", remove);
  toastHost().append(t);
  setTimeout(remove, 8000);
  return t;
}

/** Reads a message to screen-reader users through the polite live region. */
export function announce(message) {
  const live = $("#announcer");
  if (!live) return;
  // Clearing first makes repeated identical messages be read again.
  live.textContent = "";
  setTimeout(() => (live.textContent = message), 50);
}

// ---- formatting ---------------------------------------------------------

export function fmtDate(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function fmtTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** A match's length: "52 s", "4 min 12 s", "1 h 3 min". */
export function fmtDuration(ms) {
  const secs = Math.max(0, Math.round((Number(ms) || 0) / 1000));
  if (secs < 60) return `${secs} s`;
  const mins = Math.floor(secs / 60);
  if (mins < 60) return secs % 60 ? `${mins} min ${secs % 60} s` : `${mins} min`;
  return mins % 60 ? `${Math.floor(mins / 60)} h ${mins % 60} min` : `${Math.floor(mins / 60)} h`;
}

/**
 * One time for a match, everywhere: when it started, and for how long it
 * ran ("Dec 1, 2026, 9:30 PM · 4 min 12 s"). The end is left out: it is the
 * start plus the duration.
 */
export function fmtMatchTime(startIso, endIso) {
  const start = fmtDate(startIso);
  const ms = Date.parse(endIso) - Date.parse(startIso);
  return Number.isFinite(ms) && ms >= 0 && start ? `${start} · ${fmtDuration(ms)}` : start;
}

export const pct = (x) => `${Math.round((Number(x) || 0) * 100)}%`;

export const plural = (n, one, many = one + "s") => `${n} ${n === 1 ? one : many}`;

/** "2 humans + 2 robots" */
export const formatLabel = (humans, robots) => `${plural(humans, "human")} + ${plural(robots, "robot")}`;

/** A seat letter badge; colour comes from the letter (see style.css). */
export function seatBadge(seat, extra = "") {
  return el("span", { class: `seat seat-${String(seat).toLowerCase()} ${extra}`.trim(), text: seat });
}

/** Friendly name for a robot personality id: "curious-student" -> "Curious student". */
export function personalityLabel(id) {
  if (!id) return "";
  const s = String(id).replace(/[-_]+/g, " ").trim();
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Disables a button while an async action runs; returns the action's result. */
export async function busy(button, fn) {
  const was = button.disabled;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await fn();
  } finally {
    button.disabled = was;
    button.removeAttribute("aria-busy");
  }
}
