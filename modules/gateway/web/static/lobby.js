// The lobby (/): pick a name, then quick match, private match or join by code.
import { $, api, busy, enterMatch, lastName, savedSeats, toast } from "/static/app.js";
import { cleanCode, fieldError, nameProblem } from "/static/names.js";

const nameInput = $("#name");
const nameError = $("#name-error");
const codeInput = $("#code");
const codeError = $("#code-error");

nameInput.value = lastName();
if (!nameInput.value) nameInput.focus();

/** Returns the trimmed name, or null after showing what is wrong with it. */
function validName() {
  const name = nameInput.value.trim();
  const problem = nameProblem(name);
  fieldError(nameInput, nameError, problem);
  return problem ? null : name;
}

nameInput.addEventListener("input", () => fieldError(nameInput, nameError, ""));

async function create(mode, button) {
  const name = validName();
  if (!name) return;
  await busy(button, async () => {
    try {
      const reply = await api("POST", "/api/matches", { body: { name, mode } });
      location.assign(enterMatch(reply, name));
    } catch (err) {
      toast(err.message);
    }
  });
}

// Enter in the name field submits the form: that is the Quick match button.
$("#play-form").addEventListener("submit", (e) => {
  e.preventDefault();
  create("quick", $("#quick"));
});
$("#create").addEventListener("click", () => create("private", $("#create")));

codeInput.addEventListener("input", () => {
  const clean = cleanCode(codeInput.value);
  if (clean !== codeInput.value) codeInput.value = clean;
  fieldError(codeInput, codeError, "");
});

$("#join-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const code = cleanCode(codeInput.value);
  if (code.length !== 6) {
    fieldError(codeInput, codeError, "Invite codes have 6 letters or digits.");
    return;
  }
  const name = validName();
  if (!name) return;
  await busy($("#join"), async () => {
    try {
      const reply = await api("POST", "/api/join", { body: { code, name } });
      location.assign(enterMatch(reply, name));
    } catch (err) {
      toast(err.message);
    }
  });
});

// "Return to your match": the newest seat this browser holds in a match
// that is still being played (or waiting in its lobby). Only the few newest
// seats are asked about, one public GET each.
const PHASE_NOTE = {
  lobby: "It's waiting in the lobby.",
  answering: "A round is being answered right now.",
  voting: "Voting is open right now.",
  results: "The round's results are up.",
};

async function offerReturn() {
  const seats = savedSeats().slice(0, 5);
  if (!seats.length) return;
  const views = await Promise.all(seats.map(async (s) => {
    try {
      return await api("GET", `/api/matches/${encodeURIComponent(s.matchId)}`);
    } catch {
      return null; // gone, or the server is away: nothing to offer
    }
  }));
  const i = views.findIndex((v) => v && PHASE_NOTE[v.phase]);
  if (i < 0) return;
  const v = views[i];
  const s = seats[i];
  $("#return-link").href = `/match/${encodeURIComponent(s.matchId)}`;
  const round = v.round ? ` (round ${v.round} of ${v.rounds})` : "";
  $("#return-note").textContent = `You sit in seat ${s.seat} of a ${v.mode === "quick" ? "quick" : "private"} match${round}. ${PHASE_NOTE[v.phase]}`;
  $("#return").hidden = false;
}
offerReturn();
