// The lobby (/): pick a name, then quick match, private match or join by code.
import { $, api, busy, enterMatch, lastName, toast } from "/static/app.js";
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
