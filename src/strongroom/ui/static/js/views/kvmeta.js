// KV version 2 settings: a secret's metadata (max_versions, cas_required, delete_version_after,
// custom_metadata), deleting a secret with all its versions, and the mount's own config when the token may
// read it.
import { api, ApiError, encodePath } from "../api.js";
import { alertBox, confirmAction, field, h, notify } from "../dom.js";
import { crumbs, route } from "./kvparts.js";
import { refusal } from "./parts.js";

function metaRow(key = "", value = "") {
  const row = h("div", { class: "pair meta-pair" },
    field("Metadata key", { type: "text", class: "meta-key", value: key, autocomplete: "off", spellcheck: "false" }),
    field("Metadata value", { type: "text", class: "meta-value", value, autocomplete: "off", spellcheck: "false" }),
    h("button", { type: "button", class: "secondary small", "aria-label": "Remove this metadata row",
      onclick: () => row.remove() }, "Remove"));
  return row;
}

/** The three settings a secret and a mount share, as form fields. */
function settingsFields(values, prefix) {
  return [
    field("Maximum versions", { type: "number", name: "max_versions", id: `${prefix}-max-versions`, min: 0, step: 1,
      value: values.max_versions ?? 0 }, "0 means the mount's setting (or 10)."),
    h("div", { class: "field" }, h("label", { class: "inline" },
      h("input", { type: "checkbox", name: "cas_required", id: `${prefix}-cas`, checked: Boolean(values.cas_required) }),
      " Require check-and-set on every write")),
    field("Delete versions after", { type: "text", name: "delete_version_after", id: `${prefix}-dva`,
      value: values.delete_version_after ?? "0s", autocomplete: "off", spellcheck: "false" },
    "A duration such as 720h; 0s keeps versions until deleted."),
  ];
}

function settingsBody(form) {
  const f = form.elements;
  return {
    max_versions: Number(f.max_versions.value || 0),
    cas_required: f.cas_required.checked,
    delete_version_after: f.delete_version_after.value.trim() || "0s",
  };
}

async function mountConfig(store) {
  const path = `${encodePath(store.mount)}/config`;
  let config;
  try {
    config = (await api("GET", path)).data;
  } catch (error) {
    if (error instanceof ApiError && error.forbidden) {
      return h("section", { class: "card" }, h("h2", {}, `Settings of ${store.mount}/`),
        h("p", { class: "muted" }, "This token may not read the mount's settings."));
    }
    throw error;
  }
  const errors = h("div");
  const form = h("form", { class: "card", "aria-labelledby": "mount-config-title" },
    h("h2", { id: "mount-config-title" }, `Settings of ${store.mount}/`),
    h("p", { class: "muted" }, "Defaults for every secret of this mount."),
    errors, settingsFields(config, "mount"),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Save mount settings")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.replaceChildren();
    try {
      await api("POST", path, settingsBody(form));
      errors.replaceChildren(alertBox("Saved the mount's settings.", "success"));
    } catch (error) {
      errors.replaceChildren(refusal(error, "changing this mount's settings"));
    }
  });
  return form;
}

/** A secret's metadata with its form, the delete-everything action, and the mount's settings. */
export async function kvMetadata(store, path) {
  const metaPath = `${encodePath(store.mount)}/metadata/${encodePath(path)}`;
  const meta = (await api("GET", metaPath)).data;
  const errors = h("div");
  const rows = h("div", { class: "pairs" });
  const custom = Object.entries(meta.custom_metadata || {});
  (custom.length ? custom : [["", ""]]).forEach(([k, v]) => rows.append(metaRow(k, v)));
  const form = h("form", { class: "card", "aria-labelledby": "meta-title" },
    h("h2", { id: "meta-title" }, "This secret's settings"),
    errors, settingsFields(meta, "secret"),
    h("fieldset", {}, h("legend", {}, "Custom metadata"),
      h("p", { class: "muted" }, "Not secret: anyone who may read the metadata sees it."), rows,
      h("div", { class: "actions" },
        h("button", { type: "button", class: "secondary", onclick: () => rows.append(metaRow()) }, "Add metadata row"))),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Save settings")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.replaceChildren();
    const customMetadata = {};
    for (const row of rows.querySelectorAll(".meta-pair")) {
      const key = row.querySelector(".meta-key").value.trim();
      const value = row.querySelector(".meta-value").value;
      if (!key && !value) continue;
      if (!key) return errors.replaceChildren(alertBox("Every metadata value needs a key."));
      if (key in customMetadata) return errors.replaceChildren(alertBox(`The metadata key ${key} is there twice.`));
      customMetadata[key] = value;
    }
    try {
      await api("POST", metaPath, { ...settingsBody(form), custom_metadata: customMetadata });
      errors.replaceChildren(alertBox("Saved this secret's settings.", "success"));
    } catch (error) {
      errors.replaceChildren(refusal(error, "changing this secret's settings"));
    }
  });
  const removeAll = async () => {
    const question = `Delete ${path} with all ${Object.keys(meta.versions || {}).length} versions and its metadata? `
      + "Nothing of it can be recovered.";
    if (!(await confirmAction(question, "Delete everything"))) return;
    try {
      await api("DELETE", metaPath);
      notify(`Deleted ${path} and all its versions.`);
      const folder = path.includes("/") ? path.slice(0, path.lastIndexOf("/") + 1) : "";
      location.hash = route("list", store, folder);
    } catch (error) {
      errors.replaceChildren(refusal(error, "deleting this secret"));
    }
  };
  return h("section", { class: "kv-meta" },
    crumbs(store, path),
    h("div", { class: "heading" }, h("h1", {}, `Settings of ${path.split("/").pop()}`),
      h("div", { class: "actions" }, h("a", { class: "button secondary", href: route("show", store, path) }, "Back to the secret"))),
    h("p", { class: "muted" }, `Current version ${meta.current_version}, oldest kept ${meta.oldest_version || 1}.`),
    form,
    h("section", { class: "card danger-zone", "aria-labelledby": "danger-title" },
      h("h2", { id: "danger-title" }, "Delete metadata"),
      h("p", {}, "Removes every version of this secret and its metadata, for good."),
      h("button", { type: "button", class: "danger", onclick: removeAll }, "Delete all versions and metadata")),
    await mountConfig(store));
}
