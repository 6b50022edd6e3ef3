// /join/{code}: confirm a display name and take a seat in a private match.
import { $, api, busy, enterMatch, idFromPath, lastName, toast } from "/static/app.js";
import { cleanCode, fieldError, nameProblem } from "/static/names.js";

const code = cleanCode(idFromPath("/join/"));
const nameInput = $("#name");
const nameError = $("#name-error");

$("#invite-code").textContent = code || "??????";
document.title = code ? `Join ${code} — arena` : "Join a match — arena";
nameInput.value = lastName();
nameInput.focus();
nameInput.addEventListener("input", () => fieldError(nameInput, nameError, ""));

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
      toast(err.message);
    }
  });
});
