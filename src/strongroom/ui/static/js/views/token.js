// The token of this tab: its own lookup (policies, TTL, expiry, entity) and renewal. The token itself is
// never shown; its accessor names it.
import { api } from "../api.js";
import { field, h, notify, when } from "../dom.js";
import * as session from "../session.js";
import { duration, facts, redraw, refusal } from "./parts.js";

export async function tokenView() {
  const token = (await api("GET", "auth/token/lookup-self")).data;
  const errors = h("div");
  const form = h("form", { class: "card spaced", "aria-labelledby": "renew-title" },
    h("h2", { id: "renew-title" }, "Renew"),
    errors,
    field("Increment", { type: "text", name: "increment", autocomplete: "off", spellcheck: "false" },
      "Such as 1h; empty asks for the token's own TTL again."),
    h("div", { class: "actions" }, h("button", { type: "submit", disabled: !token.renewable }, "Renew token")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.replaceChildren();
    const increment = form.elements.increment.value.trim();
    try {
      const answer = await api("POST", "auth/token/renew-self", increment ? { increment } : {});
      // The tab forgets the token when the server would: the new TTL replaces the old expiry.
      session.save(session.token(), answer.auth.lease_duration);
      notify(`Renewed: the token now expires in ${duration(answer.auth.lease_duration)}.`);
      redraw();
    } catch (error) {
      errors.replaceChildren(refusal(error, "renewing it"));
    }
  });
  return h("section", {},
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/operations" }, "Operations"), " / ",
      h("span", {}, "This token")),
    h("h1", {}, "This token"),
    facts([
      ["Display name", token.display_name],
      ["Policies", (token.policies || []).join(", ")],
      ["Type", token.type],
      ["TTL", token.ttl ? h("span", { class: "token-ttl" }, duration(token.ttl)) : "never expires"],
      ["Expires", token.expire_time ? when(token.expire_time) : "never"],
      ["Renewable", token.renewable ? "yes" : "no"],
      ["Entity", token.entity_id || "none"],
      ["Accessor", h("code", {}, token.accessor)],
      ["Created by", token.path],
      ["Uses left", token.num_uses ? String(token.num_uses) : "unlimited"],
    ]),
    token.renewable ? form : h("p", { class: "muted" }, "This token cannot be renewed."));
}
