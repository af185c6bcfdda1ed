// Leases by prefix (sys/leases/lookup LIST), each with its expiry, and revoke after a confirmation. Lease
// IDs name leases; they are not credentials, so they may stand in the route.
import { api, ApiError, list } from "../api.js";
import { confirmAction, h, notify, when } from "../dom.js";
import { capabilitiesLine, duration, redraw, refusal, table } from "./parts.js";

const route = (prefix) => `#/leases/${prefix.split("/").map(encodeURIComponent).join("/")}`;
// A folder with more leases than this lists them without looking each one up.
const LOOKUPS = 50;

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

export async function leasesView(prefix) {
  const keys = await list(`sys/leases/lookup/${prefix.split("/").map(encodeURIComponent).join("/")}`);
  const folders = keys.filter((k) => k.endsWith("/"));
  const leaves = keys.filter((k) => !k.endsWith("/"));
  const details = leaves.length <= LOOKUPS ? await Promise.all(leaves.map((k) => lookup(prefix + k))) : [];
  const errors = h("div");
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
    return h("tr", { "data-lease": id },
      h("td", {}, h("code", {}, key)),
      h("td", {}, lease ? duration(lease.ttl) : ""),
      h("td", {}, lease ? (lease.expire_time ? when(lease.expire_time) : "never") : ""),
      h("td", { class: "row-actions" },
        h("button", { type: "button", class: "danger small", onclick: revoke, "aria-label": `Revoke ${key}` }, "Revoke")));
  });
  return h("section", {},
    crumbs(prefix),
    h("h1", {}, prefix ? `Leases under ${prefix}` : "Leases"),
    await capabilitiesLine(`sys/leases/lookup/${prefix}`),
    errors,
    folders.length
      ? h("ul", { class: "listing" }, folders.map((f) => h("li", {}, h("a", { href: route(prefix + f) },
        h("span", { class: "icon", "aria-hidden": "true" }, "▸"), f))))
      : null,
    rows.length ? table(["Lease", "TTL", "Expires", "Actions"], rows, { class: "leases" }) : null,
    !keys.length ? h("p", {}, "No leases here.") : null);
}
