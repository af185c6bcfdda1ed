// Write a KV secret: its data as key/value rows or as JSON (a toggle), for KV version 2, version 1 and
// cubbyhole. Rows hold text; a value that is not a string (a number, a list, an object) is shown as JSON
// and written back as JSON, so editing one key never turns another's list into a string.
import { api, ApiError } from "../api.js";
import { alertBox, field, h, notify } from "../dom.js";
import { crumbs, route, valueText } from "./kvparts.js";
import { carried, carry, liveNotice, unwatch, watchSecret } from "./live.js";
import { redraw } from "./parts.js";

function pairRow(key = "", value = "", json = false) {
  const row = h("div", { class: "pair" },
    field("Key", { type: "text", class: "pair-key", value: key, autocomplete: "off", spellcheck: "false" }),
    field(json ? "Value (JSON)" : "Value", { type: "password", class: "pair-value", value,
      autocomplete: "new-password", spellcheck: "false" }),
    h("button", { type: "button", class: "secondary small", "aria-label": "Remove this row", onclick: () => row.remove() }, "Remove"));
  row.dataset.json = json ? "true" : "";
  return row;
}

/** The rows' data, or an error message. */
function rowsData(rows) {
  const data = {};
  for (const row of rows.querySelectorAll(".pair")) {
    const key = row.querySelector(".pair-key").value.trim();
    const text = row.querySelector(".pair-value").value;
    if (!key && !text) continue;
    if (!key) return [null, "Every value needs a key."];
    if (key in data) return [null, `The key ${key} is there twice.`];
    if (row.dataset.json) {
      try {
        data[key] = JSON.parse(text);
      } catch {
        return [null, `The value of ${key} was JSON and is no longer valid JSON.`];
      }
    } else data[key] = text;
  }
  return [data, ""];
}

/** The JSON text's data, or an error message (the parser's own words say where it stopped). */
function jsonData(text) {
  let data;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return [null, `This is not valid JSON: ${error.message}`];
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    return [null, "The JSON must be an object of keys and values, such as {\"password\": \"…\"}."];
  }
  return [data, ""];
}

/** The data being edited as rows and as JSON, with a toggle between them. */
function dataEditor(initial, errors) {
  const rows = h("div", { class: "pairs" });
  const fill = (data) => {
    const entries = Object.entries(data);
    rows.replaceChildren(...(entries.length ? entries : [["", ""]])
      .map(([k, v]) => pairRow(k, valueText(v), typeof v !== "string" && k !== "")));
  };
  fill(initial);
  const reveal = h("input", { type: "checkbox", id: "show-values" });
  const showValues = () => rows.querySelectorAll(".pair-value").forEach((input) => {
    input.type = reveal.checked ? "text" : "password";
  });
  reveal.addEventListener("change", showValues);
  const text = h("textarea", { id: "kv-json", class: "code", rows: 10, spellcheck: "false", autocomplete: "off",
    "aria-describedby": "kv-json-hint" });
  const jsonPart = h("div", { class: "field", hidden: true },
    h("label", { for: "kv-json" }, "Data as JSON"), text,
    h("small", { id: "kv-json-hint", class: "muted" }, "An object: strings, numbers, lists and objects are kept as written."));
  const rowsPart = h("div", {}, rows,
    h("div", { class: "actions" },
      h("button", { type: "button", class: "secondary", onclick: () => { rows.append(pairRow()); showValues(); } }, "Add row"),
      h("label", { class: "inline" }, reveal, " Show values")));
  let asJson = false;
  const toggle = h("button", { type: "button", class: "secondary small", "aria-pressed": "false" }, "Edit as JSON");
  toggle.addEventListener("click", () => {
    errors.replaceChildren();
    const [data, problem] = asJson ? jsonData(text.value) : rowsData(rows);
    if (problem) return errors.replaceChildren(alertBox(problem));
    asJson = !asJson;
    if (asJson) text.value = JSON.stringify(data, null, 2);
    else {
      fill(data);
      showValues();
    }
    jsonPart.hidden = !asJson;
    rowsPart.hidden = asJson;
    toggle.textContent = asJson ? "Edit as rows" : "Edit as JSON";
    toggle.setAttribute("aria-pressed", String(asJson));
    (asJson ? text : rows.querySelector(".pair-key"))?.focus();
  });
  const part = h("fieldset", {}, h("legend", {}, "Keys and values"),
    h("div", { class: "actions" }, toggle), rowsPart, jsonPart);
  return { part, read: () => (asJson ? jsonData(text.value) : rowsData(rows)) };
}

/** Create a secret under `where` (a folder), or write a new version of the secret at `where`. */
export async function kvEdit(store, where, creating) {
  let current = { data: {}, version: 0 };
  if (!creating) {
    const answer = await api("GET", store.dataPath(where));
    current = store.versioned
      ? { data: answer.data.data || {}, version: answer.data.metadata.version }
      : { data: answer.data || {}, version: 0 };
  }
  const errors = h("div");
  const live = h("div", { class: "live-slot" }, carried());
  const editor = dataEditor(current.data, errors);
  const pathField = creating
    ? field("Path", { type: "text", name: "path", value: where, required: true, autocomplete: "off", spellcheck: "false" },
      "Slashes make folders, such as app/db.")
    : null;
  const form = h("form", { class: "card kv-edit", "aria-labelledby": "edit-title" },
    crumbs(store, where),
    h("h1", { id: "edit-title" }, creating ? "Create secret" : `Edit ${where.split("/").pop()}`),
    live, errors, pathField, editor.part,
    h("div", { class: "actions" },
      h("button", { type: "submit" }, creating ? "Create" : "Save new version"),
      h("a", { class: "button secondary", href: creating ? route("list", store, where) : route("show", store, where) }, "Cancel")));
  // Any keystroke marks the form as being edited: a change on the server then never replaces it.
  form.addEventListener("input", () => { form.dataset.dirty = "true"; });
  // A change on the server redraws an untouched form; one being edited is kept, and the reader chooses.
  const follow = () => watchSecret(store, where, live, (text) => {
    if (!form.dataset.dirty) {
      carry(text);
      redraw();
      return;
    }
    const reload = h("button", { type: "button", class: "secondary small", onclick: () => redraw() }, "Reload");
    const saving = store.versioned ? "saving it would be refused" : "saving it would replace that change";
    live.replaceChildren(liveNotice(`${text} Your edit is kept until you reload (${saving}).`, reload));
  });
  if (!creating) follow();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.replaceChildren();
    const [data, problem] = editor.read();
    if (problem) return errors.replaceChildren(alertBox(problem));
    const path = creating ? form.elements.path.value.trim().replace(/^\/+/, "") : where;
    if (!path || path.endsWith("/")) return errors.replaceChildren(alertBox("Give the secret a name (not a folder)."));
    // This tab's own write is no news: the watch stops before it (and starts again if it fails).
    if (!creating) unwatch();
    try {
      if (store.versioned) {
        // check-and-set: a secret someone else changed meanwhile is not overwritten (0 creates only).
        await api("POST", store.dataPath(path), { data, options: { cas: current.version } });
      } else {
        // Without check-and-set, creating looks first so it does not replace a secret by mistake.
        if (creating && (await exists(store, path))) {
          return errors.replaceChildren(alertBox("A secret with this path exists already."));
        }
        await api("POST", store.dataPath(path), data);
      }
      form.dataset.dirty = "";
      notify(creating ? `Created ${path}.` : `Saved a new version of ${path}.`);
      location.hash = route("show", store, path);
    } catch (error) {
      if (!creating) follow();
      const changed = error instanceof ApiError && error.status === 400 && /check-and-set/.test(error.message);
      errors.replaceChildren(alertBox(changed
        ? (creating ? "A secret with this path exists already." : "The secret changed since you opened it: reload and edit again.")
        : error.forbidden ? "This token's policies do not allow writing here (permission denied)." : error.message));
    }
  });
  return form;
}

async function exists(store, path) {
  try {
    await api("GET", store.dataPath(path));
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return false;
    throw error;
  }
}
