// Display-name and invite-code validation shared by the lobby and join pages.
import { codePoints } from "/static/app.js";

export const MAX_NAME = 40;

/** Returns an error message for a display name, or "" when it is fine. */
export function nameProblem(name) {
  if (!name) return "Pick a display name first.";
  if (codePoints(name) > MAX_NAME) return `Keep your name to ${MAX_NAME} characters.`;
  return "";
}

/** Normalises what was typed into an invite code: uppercase letters and digits only. */
export const cleanCode = (s) => s.toUpperCase().replace(/[^A-Z0-9]/g, "").slice(0, 6);

/** Shows (or clears, with "") an inline error under a field. */
export function fieldError(input, errorNode, message) {
  errorNode.textContent = message;
  errorNode.hidden = !message;
  if (message) {
    input.setAttribute("aria-invalid", "true");
    input.focus();
  } else {
    input.removeAttribute("aria-invalid");
  }
}
