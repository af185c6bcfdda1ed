// The seal status, and sealing the server for a token allowed to (sudo on sys/seal), after a confirmation.
import { api } from "../api.js";
import { confirmAction, h } from "../dom.js";
import { facts, redraw, refusal } from "./parts.js";

export async function statusView() {
  const seal = await api("GET", "sys/seal-status");
  // Whether to offer the seal button; a token that may not ask is simply not offered it.
  const caps = await api("POST", "sys/capabilities-self", { paths: ["sys/seal"] })
    .then((answer) => answer.data?.["sys/seal"] ?? [], () => []);
  const mayseal = caps.includes("root") || (caps.includes("sudo") && caps.includes("update"));
  const errors = h("div");
  async function sealNow() {
    if (!(await confirmAction("Seal the server? Nothing can be read or written until enough key holders unseal it.",
      "Seal server"))) return;
    try {
      await api("PUT", "sys/seal");
      redraw();
    } catch (error) {
      errors.replaceChildren(refusal(error, "sealing the server"));
    }
  }
  return h("section", {},
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/operations" }, "Operations"), " / ",
      h("span", {}, "Seal status")),
    h("h1", {}, "Seal status"),
    facts([
      ["State", seal.sealed ? "sealed" : "unsealed"],
      ["Seal type", seal.type],
      ["Unseal keys", `${seal.t} of ${seal.n} needed`],
      ["Storage", seal.storage_type],
      ["Version", seal.version],
      ["Cluster", seal.cluster_name],
    ]),
    errors,
    mayseal
      ? h("div", { class: "actions" }, h("button", { type: "button", class: "danger", onclick: sealNow }, "Seal server"))
      : h("p", { class: "muted" }, "Sealing needs sudo on sys/seal, which this token does not have."));
}
