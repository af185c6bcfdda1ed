// Secrets engines: enable (type, KV version, path, description, lease TTLs), tune (TTLs, description, listing
// visibility, the request and response headers let through) and disable after a confirmation naming the path.
import { api } from "../api.js";
import { alertBox, confirmAction, field, h, notify } from "../dom.js";
import { capabilitiesLine, duration, mountPath, redraw, refusal, words } from "./parts.js";

// The engines offered, as [type, label]; kv takes a version option besides.
const TYPES = [["kv", "KV (key/value)"], ["transit", "Transit (encryption as a service)"], ["pki", "PKI (certificates)"],
  ["database", "Database (dynamic credentials)"], ["ssh", "SSH"], ["totp", "TOTP (one-time passwords)"]];
// Engines the server keeps: they can be tuned, never disabled.
const KEPT = new Set(["cubbyhole", "system", "identity"]);

function crumbs(current) {
  return h("nav", { class: "crumbs", "aria-label": "Breadcrumb" },
    h("a", { href: "#/secrets" }, "Secrets engines"), " / ", h("span", {}, current));
}

/** The Tune and Disable actions of one row of the secrets engines list; `pathId` is the id of the cell
 * naming the path. */
export function engineActions(path, type, pathId, errors) {
  const name = path.replace(/\/$/, "");
  async function disable() {
    if (!(await confirmAction(`Disable the secrets engine at ${path}? Everything stored there is deleted and its leases revoked.`,
      `Disable ${path}`))) return;
    try {
      await api("DELETE", `sys/mounts/${mountPath(name)}`);
      notify(`Disabled ${path}.`);
      redraw();
    } catch (error) {
      errors.replaceChildren(refusal(error, "disabling this engine"));
    }
  }
  return h("td", { class: "row-actions" },
    // Described by the path, not named by it: a link named "Tune secret/" would also answer to "secret/".
    h("a", { class: "button secondary small", href: `#/engines/tune/${encodeURIComponent(name)}`,
      "aria-describedby": pathId }, "Tune"),
    KEPT.has(type) ? null
      : h("button", { type: "button", class: "danger small", onclick: disable, "aria-label": `Disable ${path}` }, "Disable"));
}

const ttlHint = "Such as 1h or 30m; empty uses the system default.";

export async function engineEnable() {
  const errors = h("div");
  const type = h("select", { id: "engine-type", name: "type" }, TYPES.map(([value, label]) => h("option", { value }, label)));
  const version = h("select", { id: "engine-version", name: "version" },
    h("option", { value: "2" }, "2 (versioned)"), h("option", { value: "1" }, "1 (no versions)"));
  const versionField = h("div", { class: "field" }, h("label", { for: "engine-version" }, "KV version"), version);
  type.addEventListener("change", () => {
    versionField.hidden = type.value !== "kv";
  });
  const form = h("form", { class: "card", "aria-labelledby": "engine-title" },
    crumbs("Enable"),
    h("h1", { id: "engine-title" }, "Enable a secrets engine"),
    await capabilitiesLine("sys/mounts/"),
    errors,
    h("div", { class: "row" },
      h("div", { class: "field" }, h("label", { for: "engine-type" }, "Type"), type), versionField),
    field("Path", { type: "text", name: "path", autocomplete: "off", spellcheck: "false" }, "The type when empty."),
    field("Description", { type: "text", name: "description", autocomplete: "off" }),
    h("div", { class: "row" },
      field("Default lease TTL", { type: "text", name: "default_lease_ttl", autocomplete: "off", spellcheck: "false" }, ttlHint),
      field("Max lease TTL", { type: "text", name: "max_lease_ttl", autocomplete: "off", spellcheck: "false" })),
    h("div", { class: "actions" },
      h("button", { type: "submit" }, "Enable engine"),
      h("a", { class: "button secondary", href: "#/secrets" }, "Cancel")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.replaceChildren();
    const f = form.elements;
    const path = f.path.value.trim().replace(/^\/+|\/+$/g, "") || type.value;
    const config = {};
    for (const key of ["default_lease_ttl", "max_lease_ttl"]) if (f[key].value.trim()) config[key] = f[key].value.trim();
    const body = { type: type.value, description: f.description.value, config };
    if (type.value === "kv") body.options = { version: version.value };
    try {
      await api("POST", `sys/mounts/${mountPath(path)}`, body);
      notify(`Enabled ${type.value} at ${path}/.`);
      location.hash = "#/secrets";
    } catch (error) {
      errors.replaceChildren(refusal(error, "enabling secrets engines"));
    }
  });
  return form;
}

export async function engineTune(path) {
  const base = `sys/mounts/${mountPath(path)}`;
  // The tune read leaves out the header lists; the mount's own entry has them.
  const [tune, mount] = await Promise.all([api("GET", `${base}/tune`), api("GET", base)]);
  const config = tune.data;
  const headers = mount.data?.config || {};
  const errors = h("div");
  const visibility = h("select", { id: "engine-visibility", name: "listing_visibility" },
    [["", "Hidden (default)"], ["unauth", "Listed for everyone (unauth)"]].map(([value, label]) =>
      h("option", { value, selected: (config.listing_visibility || "") === value }, label)));
  const text = (label, name, value, hint = "") =>
    field(label, { type: "text", name, value, autocomplete: "off", spellcheck: "false" }, hint);
  const form = h("form", { class: "card", "aria-labelledby": "tune-title" },
    crumbs(`${path}/`),
    h("h1", { id: "tune-title" }, `Tune ${path}/`),
    await capabilitiesLine(`${base}/tune`),
    errors,
    h("div", { class: "row" },
      text("Default lease TTL", "default_lease_ttl", duration(config.default_lease_ttl), "Such as 1h or 30m."),
      text("Max lease TTL", "max_lease_ttl", duration(config.max_lease_ttl))),
    field("Description", { type: "text", name: "description", value: config.description || "", autocomplete: "off" }),
    h("div", { class: "field" }, h("label", { for: "engine-visibility" }, "Listing visibility"), visibility),
    text("Allowed response headers", "allowed_response_headers", (headers.allowed_response_headers || []).join(", "),
      "Comma-separated header names the engine may set in its answers."),
    text("Passthrough request headers", "passthrough_request_headers",
      (headers.passthrough_request_headers || []).join(", "), "Comma-separated header names passed on to the engine."),
    h("div", { class: "actions" },
      h("button", { type: "submit" }, "Save tuning"),
      h("a", { class: "button secondary", href: "#/secrets" }, "Back")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.replaceChildren();
    const f = form.elements;
    try {
      await api("POST", `${base}/tune`, {
        default_lease_ttl: f.default_lease_ttl.value.trim(),
        max_lease_ttl: f.max_lease_ttl.value.trim(),
        description: f.description.value,
        listing_visibility: visibility.value,
        allowed_response_headers: words(f.allowed_response_headers.value),
        passthrough_request_headers: words(f.passthrough_request_headers.value),
      });
      notify(`Tuned ${path}/.`);
      errors.replaceChildren(alertBox(`Saved: ${path}/ is tuned.`, "success"));
    } catch (error) {
      errors.replaceChildren(refusal(error, "tuning this engine"));
    }
  });
  return form;
}
