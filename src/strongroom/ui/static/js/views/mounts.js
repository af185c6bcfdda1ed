// The secrets engines this token can see (sys/internal/ui/mounts answers only those), each with Tune and
// Disable, and the way to enable one.
import { api } from "../api.js";
import { h } from "../dom.js";
import { engineActions } from "./engines.js";

export async function mountsView() {
  const answer = await api("GET", "sys/internal/ui/mounts");
  const mounts = Object.entries(answer.data.secret || {}).sort(([a], [b]) => a.localeCompare(b));
  const errors = h("div");
  const rows = mounts.map(([path, mount], index) => {
    const name = path.replace(/\/$/, "");
    const version = mount.type === "kv" ? (mount.options?.version === "2" ? "2" : "1") : "";
    const prefix = version === "2" ? "kv" : version === "1" || mount.type === "cubbyhole" ? "kv1" : "";
    return h("tr", { "data-path": path },
      h("td", { id: `engine-${index}` }, prefix ? h("a", { href: `#/${prefix}/${encodeURIComponent(name)}/list/` }, path) : path),
      h("td", {}, version ? `kv (version ${version})` : mount.type),
      h("td", {}, mount.description || ""),
      engineActions(path, mount.type, `engine-${index}`, errors));
  });
  return h("section", {},
    h("div", { class: "heading" }, h("h1", {}, "Secrets engines"),
      h("a", { class: "button", href: "#/engines/enable" }, "Enable engine")),
    errors,
    mounts.length
      ? h("div", { class: "scroll" }, h("table", {},
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Path"), h("th", { scope: "col" }, "Type"),
          h("th", { scope: "col" }, "Description"), h("th", { scope: "col" }, "Actions"))),
        h("tbody", {}, rows)))
      : h("p", {}, "This token can see no secrets engine."),
    h("p", { class: "muted" }, "KV and cubbyhole engines can be browsed here; the others can be tuned and disabled only."));
}
