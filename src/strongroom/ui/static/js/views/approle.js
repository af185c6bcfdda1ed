// AppRole roles of one mount: list, create, edit and delete. A role's secret IDs are for machines and are
// not issued here; the role ID is shown (it is an identifier, not a credential on its own).
import { api, list } from "../api.js";
import { alertBox, confirmAction, field, h, notify } from "../dom.js";
import { capabilitiesLine, duration, exists, mountPath, refusal, words } from "./parts.js";

const route = (mount, kind = "", name = "") =>
  `#/approle/${encodeURIComponent(mount)}${kind ? `/${kind}` : ""}${name ? `/${encodeURIComponent(name)}` : ""}`;

function crumbs(mount, current) {
  return h("nav", { class: "crumbs", "aria-label": "Breadcrumb" },
    h("a", { href: "#/auth" }, "Auth methods"), " / ", h("a", { href: route(mount) }, `${mount}/ roles`),
    current ? [" / ", h("span", {}, current)] : null);
}

export async function approleList(mount) {
  const names = (await list(`auth/${mountPath(mount)}/role`)).sort();
  return h("section", {},
    crumbs(mount, ""),
    h("div", { class: "heading" }, h("h1", {}, `AppRole roles of ${mount}/`),
      h("a", { class: "button", href: route(mount, "create") }, "Create role")),
    await capabilitiesLine(`auth/${mount}/role`),
    names.length
      ? h("ul", { class: "listing" }, names.map((name) => h("li", {}, h("a", { href: route(mount, "edit", name) }, name))))
      : h("p", {}, "No roles yet."));
}

// The role's settings as form fields: [parameter, label, kind, hint].
const SETTINGS = [
  ["token_policies", "Token policies", "list", "Comma-separated policy names."],
  ["token_ttl", "Token TTL", "duration", "Such as 20m; 0s uses the mount's default."],
  ["token_max_ttl", "Token max TTL", "duration", ""],
  ["secret_id_ttl", "Secret ID TTL", "duration", "0s: secret IDs do not expire."],
  ["secret_id_num_uses", "Secret ID uses", "number", "0: unlimited."],
  ["token_num_uses", "Token uses", "number", "0: unlimited."],
  ["secret_id_bound_cidrs", "Secret ID bound CIDRs", "list", "Comma-separated; empty: any address."],
];

function settingField([key, label, kind, hint], value) {
  const shown = kind === "list" ? (value || []).join(", ") : kind === "duration" ? duration(value) : String(value ?? 0);
  return field(label, { type: kind === "number" ? "number" : "text", name: key, value: shown, min: kind === "number" ? 0 : null,
    autocomplete: "off", spellcheck: "false" }, hint);
}

/** Create a role (`name` empty) or edit one. */
export async function approleEdit(mount, name) {
  const creating = !name;
  const base = `auth/${mountPath(mount)}/role`;
  const role = creating ? { bind_secret_id: true } : (await api("GET", `${base}/${encodeURIComponent(name)}`)).data;
  const roleId = creating ? "" : (await api("GET", `${base}/${encodeURIComponent(name)}/role-id`)).data.role_id;
  const errors = h("div");
  const bind = h("input", { type: "checkbox", name: "bind_secret_id", id: "bind-secret-id", checked: role.bind_secret_id !== false });
  async function remove() {
    if (!(await confirmAction(`Delete the role ${name}? Its secret IDs stop working.`, "Delete role"))) return;
    try {
      await api("DELETE", `${base}/${encodeURIComponent(name)}`);
      notify(`Deleted the role ${name}.`);
      location.hash = route(mount);
    } catch (error) {
      errors.replaceChildren(refusal(error, "deleting this role"));
    }
  }
  const form = h("form", { class: "card", "aria-labelledby": "role-title" },
    crumbs(mount, name),
    h("div", { class: "heading" }, h("h1", { id: "role-title" }, creating ? "Create AppRole role" : `Role ${name}`),
      creating ? null : h("button", { type: "button", class: "danger", onclick: remove }, "Delete role")),
    creating ? null : await capabilitiesLine(`${base}/${name}`),
    roleId ? h("p", {}, "Role ID: ", h("code", { class: "role-id" }, roleId)) : null,
    errors,
    creating ? field("Role name", { type: "text", name: "name", required: true, autocomplete: "off", spellcheck: "false" }) : null,
    h("div", { class: "grid" }, SETTINGS.map((setting) => settingField(setting, role[setting[0]]))),
    h("label", { class: "inline" }, bind, " Require a secret ID to log in (bind_secret_id)"),
    h("div", { class: "actions" },
      h("button", { type: "submit" }, creating ? "Create role" : "Save role"),
      h("a", { class: "button secondary", href: route(mount) }, "Cancel")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.replaceChildren();
    const f = form.elements;
    const target = creating ? f.name.value.trim() : name;
    const body = { bind_secret_id: bind.checked };
    for (const [key, , kind] of SETTINGS) {
      const value = f[key].value.trim();
      body[key] = kind === "list" ? words(value) : kind === "number" ? Number(value || 0) : value || "0s";
    }
    try {
      if (creating && (await exists(`${base}/${encodeURIComponent(target)}`))) {
        return errors.replaceChildren(alertBox(`A role named ${target} exists already.`));
      }
      await api("POST", `${base}/${encodeURIComponent(target)}`, body);
      notify(creating ? `Created the role ${target}.` : `Saved the role ${target}.`);
      location.hash = route(mount, "edit", target);
      if (!creating) window.dispatchEvent(new Event("hashchange"));
    } catch (error) {
      errors.replaceChildren(refusal(error, "writing this role"));
    }
  });
  return form;
}
