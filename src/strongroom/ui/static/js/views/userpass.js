// Userpass users of one mount: list, create, edit (policies, TTLs, a new password) and delete. A password
// goes to the server in a request body only, and the field is emptied once it is sent.
import { api, list } from "../api.js";
import { alertBox, confirmAction, field, h, notify } from "../dom.js";
import { capabilitiesLine, duration, exists, mountPath, refusal, words } from "./parts.js";

const route = (mount, kind = "", name = "") =>
  `#/userpass/${encodeURIComponent(mount)}${kind ? `/${kind}` : ""}${name ? `/${encodeURIComponent(name)}` : ""}`;

function crumbs(mount, current) {
  return h("nav", { class: "crumbs", "aria-label": "Breadcrumb" },
    h("a", { href: "#/auth" }, "Auth methods"), " / ", h("a", { href: route(mount) }, `${mount}/ users`),
    current ? [" / ", h("span", {}, current)] : null);
}

export async function userpassList(mount) {
  const names = (await list(`auth/${mountPath(mount)}/users`)).sort();
  return h("section", {},
    crumbs(mount, ""),
    h("div", { class: "heading" }, h("h1", {}, `Users of ${mount}/`),
      h("a", { class: "button", href: route(mount, "create") }, "Create user")),
    await capabilitiesLine(`auth/${mount}/users`),
    names.length
      ? h("ul", { class: "listing" }, names.map((name) => h("li", {}, h("a", { href: route(mount, "edit", name) }, name))))
      : h("p", {}, "No users yet."));
}

/** Create a user (`name` empty) or edit one. */
export async function userpassEdit(mount, name) {
  const creating = !name;
  const base = `auth/${mountPath(mount)}/users`;
  const user = creating ? {} : (await api("GET", `${base}/${encodeURIComponent(name)}`)).data;
  const errors = h("div");
  async function remove() {
    if (!(await confirmAction(`Delete the user ${name}? They can no longer log in.`, "Delete user"))) return;
    try {
      await api("DELETE", `${base}/${encodeURIComponent(name)}`);
      notify(`Deleted the user ${name}.`);
      location.hash = route(mount);
    } catch (error) {
      errors.replaceChildren(refusal(error, "deleting this user"));
    }
  }
  const form = h("form", { class: "card", "aria-labelledby": "user-title" },
    crumbs(mount, name),
    h("div", { class: "heading" }, h("h1", { id: "user-title" }, creating ? "Create user" : `User ${name}`),
      creating ? null : h("button", { type: "button", class: "danger", onclick: remove }, "Delete user")),
    creating ? null : await capabilitiesLine(`${base}/${name}`),
    errors,
    creating ? field("Username", { type: "text", name: "name", required: true, autocomplete: "off", spellcheck: "false" }) : null,
    field(creating ? "Password" : "New password", { type: "password", name: "password", required: creating,
      autocomplete: "new-password" }, creating ? "" : "Leave empty to keep the current password."),
    field("Token policies", { type: "text", name: "token_policies", value: (user.token_policies || []).join(", "),
      autocomplete: "off", spellcheck: "false" }, "Comma-separated policy names."),
    h("div", { class: "row" },
      field("Token TTL", { type: "text", name: "token_ttl", value: duration(user.token_ttl), autocomplete: "off" },
        "0s uses the mount's default."),
      field("Token max TTL", { type: "text", name: "token_max_ttl", value: duration(user.token_max_ttl), autocomplete: "off" })),
    h("div", { class: "actions" },
      h("button", { type: "submit" }, creating ? "Create user" : "Save user"),
      h("a", { class: "button secondary", href: route(mount) }, "Cancel")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.replaceChildren();
    const f = form.elements;
    const target = creating ? f.name.value.trim() : name;
    const password = f.password.value;
    f.password.value = "";
    const body = {
      token_policies: words(f.token_policies.value),
      token_ttl: f.token_ttl.value.trim() || "0s",
      token_max_ttl: f.token_max_ttl.value.trim() || "0s",
    };
    try {
      if (creating && (await exists(`${base}/${encodeURIComponent(target)}`))) {
        return errors.replaceChildren(alertBox(`A user named ${target} exists already.`));
      }
      if (creating) {
        await api("POST", `${base}/${encodeURIComponent(target)}`, { ...body, password });
      } else {
        await api("POST", `${base}/${encodeURIComponent(target)}`, body);
        if (password) await api("POST", `${base}/${encodeURIComponent(target)}/password`, { password });
      }
      notify(creating ? `Created the user ${target}.` : `Saved the user ${target}.`);
      location.hash = route(mount, "edit", target);
      if (!creating) window.dispatchEvent(new Event("hashchange"));
    } catch (error) {
      errors.replaceChildren(refusal(error, "writing this user"));
    }
  });
  return form;
}
