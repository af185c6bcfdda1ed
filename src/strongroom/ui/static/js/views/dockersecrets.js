// The Docker-secrets store, as `strongroom secret ls|create|rm` keeps it: one KV version 2 mount
// (docker-secrets/), the value in data/<name> as {value, encoding}, Docker's ID and labels in the metadata's
// custom_metadata. Names and sizes follow Docker's rules.
// Invariant: a value is only ever written here, never read back or shown.
import { api, ApiError, list } from "../api.js";
import { alertBox, confirmAction, field, h, notify, when } from "../dom.js";
import { capabilitiesLine, redraw, refusal, table } from "./parts.js";

const MOUNT = "docker-secrets";
const NAME = /^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$/;
const MAX_SIZE = 500 * 1024;
const ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

function newId() {
  // 25 lowercase alphanumerics, as Docker's IDs look; 252 is the largest multiple of 36 under 256.
  const out = [];
  while (out.length < 25) {
    for (const byte of crypto.getRandomValues(new Uint8Array(32))) {
      if (byte < 252 && out.length < 25) out.push(ID_ALPHABET[byte % 36]);
    }
  }
  return out.join("");
}

async function mountState() {
  try {
    const info = (await api("GET", `sys/internal/ui/mounts/${MOUNT}`)).data;
    return info.path?.replace(/\/$/, "") === MOUNT ? (info.options?.version === "2" ? "kv2" : "other") : "none";
  } catch (error) {
    // A path outside every mount is a 403 (as Vault: it does not say which mounts exist); the CLI takes any
    // refusal here as "no mount yet", and so does this page.
    if (error instanceof ApiError && [400, 403, 404].includes(error.status)) return "none";
    throw error;
  }
}

async function records() {
  const names = (await list(`${MOUNT}/metadata`)).filter((n) => !n.endsWith("/")).sort();
  const metas = await Promise.all(names.map((name) => api("GET", `${MOUNT}/metadata/${encodeURIComponent(name)}`)));
  return names.map((name, i) => ({ name, ...metas[i].data }))
    .filter((meta) => meta.custom_metadata?.id);
}

function labelsOf(meta) {
  return Object.entries(meta.custom_metadata || {}).filter(([k]) => k.startsWith("label."))
    .map(([k, v]) => `${k.slice(6)}=${v}`).join(", ");
}

export async function dockerSecretsView() {
  const state = await mountState();
  // Listed even when the mount was not found: it may be there but hidden from sys/internal/ui/mounts.
  const secrets = state === "other" ? [] : await records();
  const errors = h("div");
  const rows = secrets.map((meta) => {
    async function remove() {
      if (!(await confirmAction(`Remove the secret ${meta.name}? Services that use it lose it.`, `Remove ${meta.name}`))) return;
      try {
        await api("DELETE", `${MOUNT}/metadata/${encodeURIComponent(meta.name)}`);
        notify(`Removed ${meta.name}.`);
        redraw();
      } catch (error) {
        errors.replaceChildren(refusal(error, "removing it"));
      }
    }
    return h("tr", { "data-name": meta.name },
      h("td", {}, h("code", {}, meta.custom_metadata.id)),
      h("td", {}, meta.name),
      h("td", {}, when(meta.created_time)),
      h("td", {}, when(meta.updated_time)),
      h("td", {}, labelsOf(meta)),
      h("td", { class: "row-actions" },
        h("button", { type: "button", class: "danger small", onclick: remove, "aria-label": `Remove ${meta.name}` }, "Remove")));
  });
  return h("section", {},
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/operations" }, "Operations"), " / ",
      h("span", {}, "Docker secrets")),
    h("h1", {}, "Docker secrets"),
    await capabilitiesLine(`${MOUNT}/data/`),
    state === "other" ? alertBox(`The mount ${MOUNT}/ is not a KV version 2 mount.`) : null,
    errors,
    rows.length ? table(["ID", "Name", "Created", "Updated", "Labels", "Actions"], rows, { class: "docker" })
      : h("p", {}, "No Docker secrets yet."),
    state === "other" ? null : createForm(state === "none"));
}

function parseLabels(text) {
  const labels = {};
  for (const line of text.split("\n").map((l) => l.trim()).filter(Boolean)) {
    const at = line.indexOf("=");
    if (at < 1) throw new Error(`A label is key=value: ${line}`);
    labels[`label.${line.slice(0, at)}`] = line.slice(at + 1);
  }
  return labels;
}

/** The value to store: a file's bytes (base64 unless they are UTF-8) or the typed text. */
async function valueOf(form) {
  const file = form.elements.file.files[0];
  const bytes = file ? new Uint8Array(await file.arrayBuffer()) : new TextEncoder().encode(form.elements.value.value);
  if (bytes.length < 1 || bytes.length >= MAX_SIZE) throw new Error("secret data must be larger than 0 and less than 500 KB");
  try {
    return { value: new TextDecoder("utf-8", { fatal: true }).decode(bytes), encoding: "utf-8" };
  } catch {
    let binary = "";
    for (const byte of bytes) binary += String.fromCharCode(byte);
    return { value: btoa(binary), encoding: "base64" };
  }
}

function createForm(enableFirst) {
  const errors = h("div");
  const form = h("form", { class: "card spaced", "aria-labelledby": "docker-create" },
    h("h2", { id: "docker-create" }, "Create a secret"),
    errors,
    field("Name", { type: "text", name: "name", required: true, maxlength: 64, autocomplete: "off", spellcheck: "false" },
      "Letters, digits, -, _ and . (as Docker allows)."),
    field("Value", { multiline: true, name: "value", rows: 3, class: "code secret-value", autocomplete: "off", spellcheck: "false" },
      "Stored, never shown again."),
    field("Or read the value from a file", { type: "file", name: "file" }),
    field("Labels", { multiline: true, name: "labels", rows: 2, autocomplete: "off", spellcheck: "false" }, "One key=value a line."),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Create secret")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.replaceChildren();
    const name = form.elements.name.value.trim();
    if (!NAME.test(name) || name.length > 64) {
      return errors.replaceChildren(alertBox(`invalid name: ${name} (letters, digits, -, _ and . only)`));
    }
    let value;
    let labels;
    try {
      value = await valueOf(form);
      labels = parseLabels(form.elements.labels.value);
    } catch (error) {
      return errors.replaceChildren(alertBox(error.message));
    }
    form.elements.value.value = "";
    try {
      if (enableFirst) {
        await api("POST", `sys/mounts/${MOUNT}`, { type: "kv", options: { version: "2" }, description: "Docker-style secrets" })
          .catch((error) => {
            // Enabled meanwhile by someone else, or there already but hidden from this token: use it.
            if (!(error instanceof ApiError && /already in use/.test(error.message))) throw error;
          });
      }
      await api("POST", `${MOUNT}/data/${encodeURIComponent(name)}`, { data: value, options: { cas: 0 } });
    } catch (error) {
      const exists = error instanceof ApiError && error.status === 400 && /check-and-set/.test(error.message);
      return errors.replaceChildren(exists ? alertBox(`secret ${name} already exists`) : refusal(error, "creating it"));
    }
    try {
      await api("POST", `${MOUNT}/metadata/${encodeURIComponent(name)}`, { custom_metadata: { id: newId(), ...labels } });
    } catch (error) {
      // A secret without its ID would be half made: take the value back out, as the CLI does.
      await api("DELETE", `${MOUNT}/metadata/${encodeURIComponent(name)}`).catch(() => null);
      return errors.replaceChildren(refusal(error, "creating it"));
    }
    notify(`Created ${name}.`);
    redraw();
  });
  return form;
}
