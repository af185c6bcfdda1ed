// Compare two versions of a KV version 2 secret: which keys were added, removed or changed. Values stay
// masked until the reader asks to see them.
import { api } from "../api.js";
import { alertBox, h } from "../dom.js";

const MASK = "••••••••";

/** The changes from `older` to `newer` (maps of key to value), unchanged keys included, sorted by key. */
export function changes(older, newer) {
  const keys = [...new Set([...Object.keys(older), ...Object.keys(newer)])].sort();
  return keys.map((key) => {
    const before = key in older ? JSON.stringify(older[key]) : undefined;
    const after = key in newer ? JSON.stringify(newer[key]) : undefined;
    const change = before === undefined ? "added" : after === undefined ? "removed" : before === after ? "unchanged" : "changed";
    return { key, change, before: older[key], after: newer[key] };
  });
}

function shown(value, reveal) {
  if (value === undefined) return "";
  return reveal ? (typeof value === "string" ? value : JSON.stringify(value)) : MASK;
}

/** The compare form for the readable `versions` (numbers, newest first) of the secret at `dataPath`. */
export function compareForm(dataPath, versions) {
  if (versions.length < 2) return null;
  const pick = (id, label, selected) => h("div", { class: "field" },
    h("label", { for: id }, label),
    h("select", { id }, versions.map((v) => h("option", { value: v, selected: v === selected }, `Version ${v}`))));
  const result = h("div", { "aria-live": "polite" });
  const reveal = h("input", { type: "checkbox", id: "diff-reveal" });
  let last = null;
  const draw = () => {
    if (!last) return;
    const rows = last.map((c) => h("tr", { class: `diff-${c.change}` },
      h("th", { scope: "row" }, c.key), h("td", {}, c.change),
      h("td", {}, h("code", {}, shown(c.before, reveal.checked))),
      h("td", {}, h("code", {}, shown(c.after, reveal.checked)))));
    result.replaceChildren(h("div", { class: "scroll" }, h("table", { class: "diff" },
      h("thead", {}, h("tr", {}, ["Key", "Change", "Before", "After"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows))));
  };
  reveal.addEventListener("change", draw);
  const form = h("form", { class: "card compare", "aria-labelledby": "compare-title" },
    h("h2", { id: "compare-title" }, "Compare versions"),
    h("div", { class: "pair" }, pick("diff-from", "From", versions[1]), pick("diff-to", "To", versions[0])),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Compare"),
      h("label", { class: "inline" }, reveal, " Show values")),
    result);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const read = async (id) => {
      const version = Number(form.querySelector(`#${id}`).value);
      return (await api("GET", `${dataPath}?version=${version}`)).data.data || {};
    };
    try {
      last = changes(await read("diff-from"), await read("diff-to"));
      draw();
    } catch (error) {
      last = null;
      result.replaceChildren(alertBox(error.message));
    }
  });
  return form;
}
