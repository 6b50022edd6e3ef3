// /join/{code}: confirm a display name and take a seat in a private match, or
// watch it. The invite code tells its match id (GET /api/invite/{code}):
// while the lobby is open the page offers "Watch instead" next to joining;
// once the match started (or is over) it says so and offers to watch. A
// watcher is a spectator: /match/{id} without a token for it.
import { $, announce, api, busy, enterMatch, idFromPath, lastName, loadSeat, toast } from "/static/app.js";
import { cleanCode, fieldError, nameProblem } from "/static/names.js";

const code = cleanCode(idFromPath("/join/"));
const nameInput = $("#name");
const nameError = $("#name-error");

$("#invite-code").textContent = code || "??????";
document.title = code ? `Join ${code} — arena` : "Join a match — arena";
nameInput.value = lastName();
nameInput.focus();
nameInput.addEventListener("input", () => fieldError(nameInput, nameError, ""));

const watchURL = (id) => `/match/${encodeURIComponent(id)}`;

/** The lobby is open: watching is the other choice. */
function offerWatch(matchId) {
  $("#watch-instead").href = watchURL(matchId);
  $("#watch-offer").hidden = false;
}

/**
 * Joining is over for this match: the form goes, the card says why and
 * offers to watch it, or to go back to the seat this browser holds in it.
 */
function closeJoin(title, text, matchId) {
  $("#join-form").hidden = true;
  $("#code-error").hidden = true;
  $("#closed-title").textContent = title;
  $("#closed-text").textContent = text;
  const watch = $("#watch-match");
  watch.href = watchURL(matchId);
  if (loadSeat(matchId)) watch.textContent = "Back to your seat";
  $("#join-closed").hidden = false;
  document.body.dataset.join = "closed";
  $("#closed-title").focus();
  announce(`${title}. ${text}`);
}

/** The started card; "over" instead when the public view says so. */
async function started(matchId) {
  closeJoin("This match has already started",
    "It's too late to take a seat, but you can watch it live and vote with the audience on who is human.", matchId);
  try {
    const v = await api("GET", `/api/matches/${encodeURIComponent(matchId)}`);
    if (v.phase === "finished") {
      closeJoin("This match is over", "You can still watch how it ended: every answer, every vote, and who was human.", matchId);
    }
  } catch {
    /* the started wording still holds */
  }
}

async function lookUp() {
  if (code.length !== 6) return;
  try {
    const inv = await api("GET", `/api/invite/${encodeURIComponent(code)}`);
    if (inv.matchId && !loadSeat(inv.matchId)) offerWatch(inv.matchId); // a seat here: joining takes you back
    document.body.dataset.join = "open";
  } catch (err) {
    if (err.code === "already_started" && err.matchId) {
      await started(err.matchId);
    } else if (err.code === "not_found") {
      // Said at once; the form stays (a match just made may not be known
      // here yet), and a join asks again.
      const box = $("#code-error");
      box.textContent = "No match has that invite code. Check the link, or ask for a new one.";
      box.hidden = false;
      document.body.dataset.join = "unknown";
    }
    // Anything else (a wait after wrong codes, the network): joining says
    // what is wrong.
  }
}

$("#join-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const name = nameInput.value.trim();
  const problem = nameProblem(name);
  fieldError(nameInput, nameError, problem);
  if (problem) return;
  if (code.length !== 6) {
    toast("This invite link looks broken: ask for a new one, or enter the code in the lobby.");
    return;
  }
  await busy($("#join"), async () => {
    try {
      const reply = await api("POST", "/api/join", { body: { code, name } });
      location.assign(enterMatch(reply, name));
    } catch (err) {
      // Started while the page was open: not a dead end, watch it.
      if (err.code === "already_started" && err.matchId) await started(err.matchId);
      else toast(err.message);
    }
  });
});

lookUp();
