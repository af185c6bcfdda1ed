// Auth methods: list, enable (type, path, description), tune (lease TTLs, listing visibility, description)
// and disable. AppRole and userpass methods link to their roles and users.
import { api } from "../api.js";
import { alertBox, confirmAction, field, h, notify } from "../dom.js";
import { capabilitiesLine, duration, mountPath, redraw, refusal, table } from "./parts.js";

const TYPES = ["userpass", "approle", "jwt", "oidc", "kubernetes", "ldap", "cert", "github"];
// The pages that manage what a method of a given type holds.
const MANAGED = { approle: ["approle", "Roles"], userpass: ["userpass", "Users"] };

function crumbs(current) {
  return h("nav", { class: "crumbs", "aria-label": "Breadcrumb" },
    h("a", { href: "#/access" }, "Access"), " / ",
    current ? [h("a", { href: "#/auth" }, "Auth methods"), " / ", h("span", {}, current)] : h("span", {}, "Auth methods"));
}

export async function authList() {
  const answer = await api("GET", "sys/auth");
  const methods = Object.entries(answer.data || {}).sort(([a], [b]) => a.localeCompare(b));
  const errors = h("div");
  const rows = methods.map(([path, method]) => {
    const name = path.replace(/\/$/, "");
    const managed = MANAGED[method.type];
    async function disable() {
      if (!(await confirmAction(`Disable the auth method ${path}? Every token it issued is revoked.`, `Disable ${path}`))) return;
      try {
        await api("DELETE", `sys/auth/${mountPath(name)}`);
        notify(`Disabled ${path}.`);
        redraw();
      } catch (error) {
        errors.replaceChildren(refusal(error, "disabling this method"));
      }
    }
    return h("tr", { "data-path": path },
      h("td", {}, h("code", {}, path)),
      h("td", {}, method.type),
      h("td", {}, method.description || ""),
      h("td", { class: "row-actions" },
        managed ? h("a", { class: "button secondary small", href: `#/${managed[0]}/${encodeURIComponent(name)}` }, managed[1]) : null,
        h("a", { class: "button secondary small", href: `#/auth/tune/${encodeURIComponent(name)}`,
          "aria-label": `Tune ${path}` }, "Tune"),
        method.type === "token" ? null
          : h("button", { type: "button", class: "danger small", onclick: disable, "aria-label": `Disable ${path}` }, "Disable")));
  });
  return h("section", {},
    crumbs(""),
    h("h1", {}, "Auth methods"),
    await capabilitiesLine("sys/auth"),
    errors,
    table(["Path", "Type", "Description", "Actions"], rows),
    enableForm());
}

function enableForm() {
  const errors = h("div");
  const types = h("datalist", { id: "auth-types" }, TYPES.map((t) => h("option", { value: t })));
  const form = h("form", { class: "card spaced", "aria-labelledby": "enable-title" },
    h("h2", { id: "enable-title" }, "Enable an auth method"),
    errors,
    h("div", { class: "row" },
      field("Type", { type: "text", name: "type", list: "auth-types", required: true, autocomplete: "off", spellcheck: "false" }),
      field("Path", { type: "text", name: "path", autocomplete: "off", spellcheck: "false" }, "The type when empty.")),
    types,
    field("Description", { type: "text", name: "description", autocomplete: "off" }),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Enable method")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.replaceChildren();
    const f = form.elements;
    const type = f.type.value.trim();
    const path = f.path.value.trim().replace(/^\/+|\/+$/g, "") || type;
    try {
      await api("POST", `sys/auth/${mountPath(path)}`, { type, description: f.description.value });
      notify(`Enabled ${type} at ${path}/.`);
      redraw();
    } catch (error) {
      errors.replaceChildren(refusal(error, "enabling auth methods"));
    }
  });
  return form;
}

export async function authTune(path) {
  const config = (await api("GET", `sys/auth/${mountPath(path)}/tune`)).data;
  const errors = h("div");
  const visibility = h("select", { id: "tune-visibility", name: "listing_visibility" },
    [["", "Hidden from the login page (default)"], ["unauth", "Listed on the login page (unauth)"]].map(([value, label]) =>
      h("option", { value, selected: (config.listing_visibility || "") === value }, label)));
  const form = h("form", { class: "card", "aria-labelledby": "tune-title" },
    crumbs(`${path}/`),
    h("h1", { id: "tune-title" }, `Tune ${path}/`),
    await capabilitiesLine(`sys/auth/${path}/tune`),
    errors,
    h("div", { class: "row" },
      field("Default lease TTL", { type: "text", name: "default_lease_ttl", value: duration(config.default_lease_ttl),
        autocomplete: "off", spellcheck: "false" }, "Such as 1h or 30m; 0s uses the system default."),
      field("Max lease TTL", { type: "text", name: "max_lease_ttl", value: duration(config.max_lease_ttl),
        autocomplete: "off", spellcheck: "false" })),
    h("div", { class: "field" }, h("label", { for: "tune-visibility" }, "Listing visibility"), visibility),
    field("Description", { type: "text", name: "description", value: config.description || "", autocomplete: "off" }),
    h("div", { class: "actions" },
      h("button", { type: "submit" }, "Save tuning"),
      h("a", { class: "button secondary", href: "#/auth" }, "Back")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.replaceChildren();
    const f = form.elements;
    try {
      await api("POST", `sys/auth/${mountPath(path)}/tune`, {
        default_lease_ttl: f.default_lease_ttl.value.trim(),
        max_lease_ttl: f.max_lease_ttl.value.trim(),
        listing_visibility: visibility.value,
        description: f.description.value,
      });
      notify(`Tuned ${path}/.`);
      errors.replaceChildren(alertBox(`Saved: ${path}/ is tuned.`, "success"));
    } catch (error) {
      errors.replaceChildren(refusal(error, "tuning this method"));
    }
  });
  return form;
}
