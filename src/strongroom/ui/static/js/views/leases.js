// Leases by prefix (sys/leases/lookup LIST), each with its expiry: renew by an increment, revoke one, revoke
// every lease under the prefix, and (for a token with sudo there) force that revocation, each after a
// confirmation; forcing asks the reader to type the prefix. Lease IDs name leases; they are not credentials,
// so they may stand in the route.
import { api, ApiError, list } from "../api.js";
import { confirmAction, field, h, notify, when } from "../dom.js";
import { capabilitiesLine, duration, redraw, refusal, table } from "./parts.js";

const route = (prefix) => `#/leases/${prefix.split("/").map(encodeURIComponent).join("/")}`;
// A folder with more leases than this lists them without looking each one up.
const LOOKUPS = 50;
// The increment last used, kept while the screen redraws after a renewal.
let lastIncrement = "";

function crumbs(prefix) {
  const links = [h("a", { href: "#/operations" }, "Operations"), " / ", h("a", { href: route("") }, "Leases")];
  let folder = "";
  for (const part of prefix.split("/").filter(Boolean)) {
    folder += `${part}/`;
    links.push(" / ", h("a", { href: route(folder) }, part));
  }
  return h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, links);
}

async function lookup(id) {
  try {
    return (await api("PUT", "sys/leases/lookup", { lease_id: id })).data;
  } catch (error) {
    if (error instanceof ApiError) return null;
    throw error;
  }
}

/** Whether this token may force revocation under `prefix` (revoke-force needs sudo). */
async function mayForce(prefix) {
  const path = `sys/leases/revoke-force/${prefix}`;
  try {
    const answer = await api("POST", "sys/capabilities-self", { paths: [path] });
    const capabilities = answer.data?.[path] ?? answer.capabilities ?? [];
    return capabilities.includes("sudo") || capabilities.includes("root");
  } catch (error) {
    if (error instanceof ApiError) return false;
    throw error;
  }
}

/** A stronger confirmation: the action button works only once `word` is typed. Resolves to true when confirmed. */
function confirmTyped(question, word, actionLabel) {
  return new Promise((resolve) => {
    const input = field(`Type ${word} to confirm`, { type: "text", name: "confirm", autocomplete: "off", spellcheck: "false" });
    const go = h("button", { type: "button", class: "danger", disabled: true, onclick: () => dialog.close("ok") }, actionLabel);
    input.querySelector("input").addEventListener("input", (event) => {
      go.disabled = event.target.value !== word;
    });
    const dialog = h("dialog", { class: "confirm", "aria-labelledby": "confirm-q" },
      h("p", { id: "confirm-q" }, question), input,
      h("div", { class: "actions" },
        h("button", { type: "button", class: "secondary", onclick: () => dialog.close("cancel") }, "Cancel"), go));
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "ok");
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Revoke every lease under `prefix`; `force` drops the records even where the engine cannot revoke. */
function prefixActions(prefix, force, errors) {
  // The server takes the prefix without its trailing slash (a write to a path ending in "/" is refused).
  const target = prefix.replace(/\/+$/, "").split("/").map(encodeURIComponent).join("/");
  async function revokePrefix() {
    if (!(await confirmAction(`Revoke every lease under ${prefix}? What they grant stops working now.`,
      `Revoke all under ${prefix}`))) return;
    try {
      await api("PUT", `sys/leases/revoke-prefix/${target}`);
      notify(`Revoked the leases under ${prefix}.`);
      redraw();
    } catch (error) {
      errors.replaceChildren(refusal(error, "revoking these leases"));
    }
  }
  async function revokeForce() {
    const question = `Force the revocation of every lease under ${prefix}? The leases are forgotten even when the `
      + "engine fails to revoke them, so credentials may stay valid where they were issued.";
    if (!(await confirmTyped(question, prefix, "Force revoke"))) return;
    try {
      await api("PUT", `sys/leases/revoke-force/${target}`);
      notify(`Forced the revocation of the leases under ${prefix}.`);
      redraw();
    } catch (error) {
      errors.replaceChildren(refusal(error, "forcing revocation here"));
    }
  }
  return h("div", { class: "actions" },
    h("button", { type: "button", class: "danger", onclick: revokePrefix }, "Revoke prefix"),
    force ? h("button", { type: "button", class: "danger secondary", onclick: revokeForce }, "Force revoke") : null);
}

export async function leasesView(prefix) {
  const keys = await list(`sys/leases/lookup/${prefix.split("/").map(encodeURIComponent).join("/")}`);
  const folders = keys.filter((k) => k.endsWith("/"));
  const leaves = keys.filter((k) => !k.endsWith("/"));
  const details = leaves.length <= LOOKUPS ? await Promise.all(leaves.map((k) => lookup(prefix + k))) : [];
  const errors = h("div");
  const increment = field("Renew increment", { type: "text", name: "increment", value: lastIncrement,
    autocomplete: "off", spellcheck: "false" }, "Such as 1h; empty asks for the lease's default.");
  increment.classList.add("short");
  const rows = leaves.map((key, index) => {
    const id = prefix + key;
    const lease = details[index];
    async function revoke() {
      if (!(await confirmAction(`Revoke the lease ${id}? What it grants stops working now.`, "Revoke lease"))) return;
      try {
        await api("PUT", "sys/leases/revoke", { lease_id: id });
        notify(`Revoked ${id}.`);
        redraw();
      } catch (error) {
        errors.replaceChildren(refusal(error, "revoking this lease"));
      }
    }
    async function renew() {
      try {
        const value = increment.querySelector("input").value.trim();
        lastIncrement = value;
        const answer = await api("PUT", "sys/leases/renew", { lease_id: id, ...(value ? { increment: value } : {}) });
        notify(`Renewed ${id}: ${duration(answer.lease_duration)} left.`);
        redraw();
      } catch (error) {
        errors.replaceChildren(refusal(error, "renewing this lease"));
      }
    }
    return h("tr", { "data-lease": id },
      h("td", {}, h("code", {}, key)),
      h("td", {}, lease ? duration(lease.ttl) : ""),
      h("td", {}, lease ? (lease.expire_time ? when(lease.expire_time) : "never") : ""),
      h("td", { class: "row-actions" },
        lease?.renewable
          ? h("button", { type: "button", class: "secondary small", onclick: renew, "aria-label": `Renew ${key}` }, "Renew")
          : null,
        h("button", { type: "button", class: "danger small", onclick: revoke, "aria-label": `Revoke ${key}` }, "Revoke")));
  });
  return h("section", {},
    crumbs(prefix),
    h("h1", {}, prefix ? `Leases under ${prefix}` : "Leases"),
    await capabilitiesLine(`sys/leases/lookup/${prefix}`),
    errors,
    prefix && keys.length ? prefixActions(prefix, await mayForce(prefix), errors) : null,
    folders.length
      ? h("ul", { class: "listing" }, folders.map((f) => h("li", {}, h("a", { href: route(prefix + f) },
        h("span", { class: "icon", "aria-hidden": "true" }, "▸"), f))))
      : null,
    details.some((lease) => lease?.renewable) ? increment : null,
    rows.length ? table(["Lease", "TTL", "Expires", "Actions"], rows, { class: "leases" }) : null,
    !keys.length ? h("p", {}, "No leases here.") : null);
}
