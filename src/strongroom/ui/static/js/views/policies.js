// ACL policies: list, read, write and delete. The server validates the HCL; its error (with the line it
// names) is shown beside the editor, and the editor's cursor goes to that line.
import { api, ApiError, list } from "../api.js";
import { alertBox, confirmAction, field, h, notify } from "../dom.js";
import { capabilitiesLine, refusal } from "./parts.js";

const BASE = "sys/policies/acl";
const route = (kind, name = "") =>
  (kind === "list" ? "#/policies" : `#/policies/${kind}${name ? `/${encodeURIComponent(name)}` : ""}`);
// Vault's own policies: root cannot be read as text or changed, default cannot be deleted.
const FIXED = new Set(["root"]);
const KEPT = new Set(["root", "default"]);

function crumbs(name) {
  return h("nav", { class: "crumbs", "aria-label": "Breadcrumb" },
    h("a", { href: "#/access" }, "Access"), " / ",
    name ? [h("a", { href: route("list") }, "ACL policies"), " / ", h("span", {}, name)] : h("span", {}, "ACL policies"));
}

export async function policyList() {
  const names = (await list(BASE)).sort();
  return h("section", {},
    crumbs(""),
    h("div", { class: "heading" }, h("h1", {}, "ACL policies"),
      h("a", { class: "button", href: route("create") }, "Create policy")),
    await capabilitiesLine(`${BASE}/`),
    h("ul", { class: "listing" }, names.map((name) =>
      h("li", {}, FIXED.has(name) ? h("span", { class: "plain" }, name) : h("a", { href: route("show", name) }, name)))));
}

export async function policyShow(name) {
  const policy = (await api("GET", `${BASE}/${encodeURIComponent(name)}`)).data;
  const errors = h("div");
  async function remove() {
    if (!(await confirmAction(`Delete the policy ${name}? Tokens that carry it lose what it granted.`, "Delete policy"))) return;
    try {
      await api("DELETE", `${BASE}/${encodeURIComponent(name)}`);
      notify(`Deleted the policy ${name}.`);
      location.hash = route("list");
    } catch (error) {
      errors.replaceChildren(refusal(error, "deleting this policy"));
    }
  }
  return h("section", {},
    crumbs(name),
    h("div", { class: "heading" }, h("h1", {}, `Policy ${name}`),
      h("div", { class: "actions" },
        h("a", { class: "button", href: route("edit", name) }, "Edit"),
        KEPT.has(name) ? null : h("button", { type: "button", class: "danger", onclick: remove }, "Delete"))),
    await capabilitiesLine(`${BASE}/${name}`),
    errors,
    h("pre", { class: "policy", tabindex: "0", "aria-label": `The text of policy ${name}` }, policy.policy));
}

/** "At 3:1: expected ..." names a line; the line's number and text, or null when the message names none. */
function errorLine(message, text) {
  const match = /At (\d+):(\d+)/.exec(message);
  if (!match) return null;
  const number = Number(match[1]);
  return { number, text: text.split("\n")[number - 1] ?? "" };
}

function selectLine(textarea, number) {
  const lines = textarea.value.split("\n");
  const start = lines.slice(0, number - 1).reduce((sum, line) => sum + line.length + 1, 0);
  textarea.focus();
  textarea.setSelectionRange(start, start + (lines[number - 1] ?? "").length);
}

/** Write a policy: a new one (`name` empty) or a change to `name`. */
export async function policyEdit(name) {
  const creating = !name;
  const current = creating ? "" : (await api("GET", `${BASE}/${encodeURIComponent(name)}`)).data.policy;
  const errors = h("div");
  const nameField = creating
    ? field("Name", { type: "text", name: "name", required: true, autocomplete: "off", spellcheck: "false" })
    : null;
  const text = field("Policy (HCL)", { multiline: true, name: "policy", rows: 14, class: "code", spellcheck: "false",
    autocomplete: "off", required: true }, 'Such as: path "secret/data/app/*" { capabilities = ["read", "list"] }');
  const editor = text.querySelector("textarea");
  editor.value = current;
  const form = h("form", { class: "card", "aria-labelledby": "policy-title" },
    crumbs(name),
    h("h1", { id: "policy-title" }, creating ? "Create policy" : `Edit policy ${name}`),
    errors, nameField, text,
    h("div", { class: "actions" },
      h("button", { type: "submit" }, "Save policy"),
      h("a", { class: "button secondary", href: creating ? route("list") : route("show", name) }, "Cancel")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.replaceChildren();
    const target = creating ? form.elements.name.value.trim() : name;
    try {
      await api("PUT", `${BASE}/${encodeURIComponent(target)}`, { policy: editor.value });
      notify(`Saved the policy ${target}.`);
      location.hash = route("show", target);
    } catch (error) {
      if (!(error instanceof ApiError) || error.forbidden) return errors.replaceChildren(refusal(error, "writing this policy"));
      const line = errorLine(error.message, editor.value);
      errors.replaceChildren(alertBox(error.message),
        line ? h("p", { class: "error-line" }, `Line ${line.number}: `, h("code", {}, line.text)) : null);
      if (line) selectLine(editor, line.number);
    }
  });
  return form;
}
