// KV: browse by folder, read a secret (values masked until revealed and following changes on the server); for
// KV version 2 also the version history with delete, undelete and destroy. KV version 1 and cubbyhole are the
// same without versions.
import { api, ApiError, encodePath, list } from "../api.js";
import { alertBox, confirmAction, h, notify, when } from "../dom.js";
import { compareForm } from "./diff.js";
import { crumbs, route, valueText } from "./kvparts.js";
import { carried, carry, liveNotice, watchSecret } from "./live.js";
import { redraw } from "./parts.js";

export { kvStore } from "./kvparts.js";
export { kvEdit } from "./kvedit.js";

/** The keys of one folder, with a filter. */
export async function kvList(store, folder) {
  const keys = await list(store.listPath(folder));
  const items = keys.map((key) => h("li", {},
    h("a", { href: route(key.endsWith("/") ? "list" : "show", store, folder + key) },
      h("span", { class: "icon", "aria-hidden": "true" }, key.endsWith("/") ? "▸" : "•"), key)));
  const search = h("input", { type: "search", id: "kv-filter", placeholder: "Filter this folder" });
  search.addEventListener("input", () => {
    const needle = search.value.toLowerCase();
    items.forEach((item, index) => { item.hidden = !keys[index].toLowerCase().includes(needle); });
  });
  return h("section", {},
    crumbs(store, folder),
    h("div", { class: "heading" }, h("h1", {}, `${store.mount}/${folder}`),
      h("a", { class: "button", href: route("create", store, folder) }, "Create secret")),
    keys.length
      ? [h("div", { class: "field" }, h("label", { for: "kv-filter", class: "sr-only" }, "Filter this folder"), search),
        h("ul", { class: "listing" }, items)]
      : h("p", {}, "No secrets here yet."));
}

/** One secret: its keys, values masked until revealed, and the version read. */
export async function kvShow(store, path, version) {
  let answer;
  try {
    answer = await api("GET", `${store.dataPath(path)}${version && store.versioned ? `?version=${Number(version)}` : ""}`);
  } catch (error) {
    // A deleted or destroyed version still answers its metadata, with a 404.
    if (!(error instanceof ApiError && error.status === 404)) throw error;
    answer = error.body?.data?.metadata ? error.body : null;
  }
  if (!answer?.data) return h("section", {}, crumbs(store, path), h("h1", {}, path), alertBox("No such secret."));
  const { data, metadata } = store.versioned ? answer.data : { data: answer.data, metadata: {} };
  const rows = Object.entries(data || {}).map(([key, value]) => {
    const text = valueText(value);
    const shown = h("code", { class: "masked" }, "••••••••");
    let revealed = false;
    const toggle = h("button", { type: "button", class: "secondary small", "aria-label": `Reveal ${key}` }, "Reveal");
    toggle.addEventListener("click", () => {
      revealed = !revealed;
      shown.textContent = revealed ? text : "••••••••";
      shown.className = revealed ? "revealed" : "masked";
      toggle.textContent = revealed ? "Hide" : "Reveal";
      toggle.setAttribute("aria-label", `${revealed ? "Hide" : "Reveal"} ${key}`);
    });
    const copy = h("button", { type: "button", class: "secondary small", "aria-label": `Copy ${key}` }, "Copy");
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(text);
        notify(`Copied the value of ${key}.`);
      } catch {
        notify("The browser did not allow copying.");
      }
    });
    return h("tr", {}, h("th", { scope: "row" }, key), h("td", {}, shown), h("td", { class: "row-actions" }, toggle, copy));
  });
  const state = metadata.destroyed ? "This version is destroyed." : metadata.deletion_time ? "This version is deleted." : "";
  const live = h("div", { class: "live-slot" }, carried());
  // The latest version follows the server; an older one on screen only says that a change came.
  watchSecret(store, path, live, version
    ? (text) => live.replaceChildren(liveNotice(text, h("a", { href: route("show", store, path) }, "Show the latest")))
    : (text) => { carry(text); redraw(); });
  return h("section", {},
    crumbs(store, path),
    h("div", { class: "heading" }, h("h1", {}, path.split("/").pop()),
      h("div", { class: "actions" },
        h("a", { class: "button", href: route("edit", store, path) }, "Edit"),
        store.versioned ? h("a", { class: "button secondary", href: route("versions", store, path) }, "Versions") : null,
        store.versioned ? h("a", { class: "button secondary", href: route("metadata", store, path) }, "Settings") : null)),
    live,
    store.versioned ? h("p", { class: "muted" }, `Version ${metadata.version}, created ${when(metadata.created_time)}`) : null,
    state ? alertBox(state, "warning") : null,
    rows.length
      ? h("div", { class: "scroll" }, h("table", { class: "secret" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Key"), h("th", { scope: "col" }, "Value"),
          h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")))),
        h("tbody", {}, rows)))
      : state ? null : h("p", {}, "This secret has no keys."));
}

/** The version history (KV version 2), with delete, undelete and destroy of single versions. */
export async function kvVersions(store, path) {
  const base = encodePath(store.mount);
  const meta = (await api("GET", `${base}/metadata/${encodePath(path)}`)).data;
  const errors = h("div");
  const act = (verb, method, version, question) => async () => {
    if (!(await confirmAction(question, `${verb[0].toUpperCase()}${verb.slice(1)} version ${version}`))) return;
    try {
      await api(method, `${base}/${verb}/${encodePath(path)}`, { versions: [Number(version)] });
      notify(`Version ${version}: ${verb} done.`);
      // Redrawn in place: a plain event, so the focus is not moved to the heading as on a navigation.
      window.dispatchEvent(new Event("hashchange"));
    } catch (error) {
      errors.replaceChildren(alertBox(error.forbidden ? `This token's policies do not allow ${verb} (permission denied).` : error.message));
    }
  };
  const versions = Object.entries(meta.versions || {}).sort(([a], [b]) => Number(b) - Number(a));
  const rows = versions.map(([version, v]) => {
    const state = v.destroyed ? "destroyed" : v.deletion_time ? "deleted" : "active";
    return h("tr", { "data-version": version },
      h("td", {}, h("a", { href: `${route("show", store, path)}?version=${version}` }, `Version ${version}`),
        Number(version) === meta.current_version ? h("span", { class: "badge" }, "current") : null),
      h("td", {}, when(v.created_time)),
      h("td", {}, state),
      h("td", { class: "row-actions" },
        state === "active" ? h("button", { type: "button", class: "secondary small",
          onclick: act("delete", "POST", version, `Delete version ${version} of ${path}? It can be undeleted.`) }, "Delete") : null,
        state === "deleted" ? h("button", { type: "button", class: "secondary small",
          onclick: act("undelete", "POST", version, `Undelete version ${version} of ${path}?`) }, "Undelete") : null,
        state !== "destroyed" ? h("button", { type: "button", class: "danger small",
          onclick: act("destroy", "PUT", version, `Destroy version ${version} of ${path}? Its data is erased for good.`) }, "Destroy") : null));
  });
  return h("section", {},
    crumbs(store, path),
    h("h1", {}, `Versions of ${path.split("/").pop()}`),
    h("p", { class: "muted" }, `Current version ${meta.current_version}; keeps at most ${meta.max_versions || 10} versions.`),
    errors,
    h("div", { class: "scroll" }, h("table", {},
      h("thead", {}, h("tr", {}, ["Version", "Created", "State", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows))),
    compareForm(store.dataPath(path),
      versions.filter(([, v]) => !v.destroyed && !v.deletion_time).map(([version]) => Number(version))));
}
