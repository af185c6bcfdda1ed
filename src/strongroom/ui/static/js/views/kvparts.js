// What the KV screens share: a mount as they need it, their routes, the breadcrumb, how a value is shown.
import { encodePath } from "../api.js";
import { h } from "../dom.js";

/** A KV mount as the views need it: where its listings and values are, and its routes. */
export function kvStore(mount, versioned) {
  const base = encodePath(mount);
  return {
    mount,
    versioned,
    prefix: versioned ? "kv" : "kv1",
    listPath: (path) => (versioned ? `${base}/metadata/${encodePath(path)}` : `${base}/${encodePath(path)}`),
    dataPath: (path) => (versioned ? `${base}/data/${encodePath(path)}` : `${base}/${encodePath(path)}`),
  };
}

export const route = (kind, store, path = "") =>
  `#/${store.prefix}/${encodeURIComponent(store.mount)}/${kind}/${encodePath(path)}`;

export function crumbs(store, path) {
  const parts = path.split("/").filter(Boolean);
  const links = [h("a", { href: route("list", store) }, `${store.mount}/`)];
  let folder = "";
  parts.forEach((part, index) => {
    const last = index === parts.length - 1 && !path.endsWith("/");
    folder += part + (last ? "" : "/");
    links.push(last ? h("span", {}, part) : h("a", { href: route("list", store, folder) }, `${part}/`));
  });
  return h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/secrets" }, "Secrets"), " / ", links);
}

/** A value as text: strings as they are, anything else as JSON. */
export function valueText(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}
