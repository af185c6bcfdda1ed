// Pieces the Access and Operations screens share: tables, the capabilities line, durations, and the way a
// refused action is reported.
import { api, ApiError } from "../api.js";
import { alertBox, h } from "../dom.js";

/** A table with column headings; `rows` are <tr> elements. */
export function table(headings, rows, attrs = {}) {
  return h("div", { class: "scroll" }, h("table", attrs,
    h("thead", {}, h("tr", {}, headings.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows)));
}

/** A two-column list of facts (name, value), as a description list. */
export function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.filter(([, v]) => v !== undefined && v !== null && v !== "")
    .flatMap(([name, value]) => [h("dt", {}, name), h("dd", {}, value)]));
}

/** "What can I do here": this token's capabilities on `path` (sys/capabilities-self), as one short line. */
export async function capabilitiesLine(path) {
  let text;
  try {
    const answer = await api("POST", "sys/capabilities-self", { paths: [path] });
    const capabilities = answer.data?.[path] ?? answer.capabilities ?? [];
    text = capabilities.length ? capabilities.join(", ") : "deny";
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    text = "unknown (this token may not ask)";
  }
  return h("p", { class: "caps muted", "data-path": path },
    "This token here: ", h("strong", {}, text), " on ", h("code", {}, path));
}

/** The message for a failed action: the server's own words, or a plain one for a 403. */
export function refusal(error, what) {
  return alertBox(error instanceof ApiError && error.forbidden
    ? `This token's policies do not allow ${what} (permission denied).`
    : error.message);
}

/** Redraw the current screen in place (a plain event: the focus stays where it is). */
export function redraw() {
  window.dispatchEvent(new Event("hashchange"));
}

/** A number of seconds as Vault writes durations ("1h2m3s"; "0s" for none). */
export function duration(seconds) {
  let rest = Math.max(0, Math.round(Number(seconds) || 0));
  if (rest === 0) return "0s";
  const parts = [];
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]]) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join("");
}

/** A comma-separated input as a list, blanks dropped. */
export function words(text) {
  return text.split(",").map((w) => w.trim()).filter(Boolean);
}

/** The segments of a mount path made safe for a /v1 URL (no leading or trailing slash). */
export function mountPath(path) {
  return path.replace(/^\/+|\/+$/g, "").split("/").map(encodeURIComponent).join("/");
}

/** A link to a screen of an index page, with a line saying what it is for. */
export function indexEntry(href, title, about) {
  return h("li", {}, h("a", { href }, title), h("span", { class: "muted" }, ` ${about}`));
}

/** `screen` (a promise of a section) with the capabilities line for `path` under its heading. */
export async function withCapabilities(screen, path) {
  const [section, line] = await Promise.all([screen, capabilitiesLine(path)]);
  const heading = section.querySelector(".heading") || section.querySelector("h1");
  if (heading && section.querySelector(".alert") === null) heading.after(line);
  return section;
}

/** Whether a GET of `path` finds something (a 404 is "no"); creating forms ask first, so they never overwrite. */
export async function exists(path) {
  try {
    await api("GET", path);
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return false;
    throw error;
  }
}
