// Log in with a token or a userpass user; the token is then kept in this tab only.
import { api } from "../api.js";
import { alertBox, field, h } from "../dom.js";
import * as session from "../session.js";

export function loginView(notice) {
  const errors = h("div", {}, notice ? alertBox(notice, "warning") : null);
  const tokenFields = h("div", {},
    field("Token", { type: "password", name: "token", autocomplete: "off", spellcheck: "false" }));
  const userpassFields = h("div", { hidden: true },
    field("Username", { type: "text", name: "username", autocomplete: "username" }),
    field("Password", { type: "password", name: "password", autocomplete: "current-password" }),
    field("Mount path", { type: "text", name: "mount", value: "userpass" }, "Where the userpass method is enabled."));
  const method = h("select", { id: "login-method", name: "method" },
    h("option", { value: "token" }, "Token"), h("option", { value: "userpass" }, "Username and password"));
  method.addEventListener("change", () => {
    tokenFields.hidden = method.value !== "token";
    userpassFields.hidden = method.value !== "userpass";
  });
  const form = h("form", { class: "card narrow", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, "Log in to strongroom"), errors,
    h("div", { class: "field" }, h("label", { for: "login-method" }, "Method"), method),
    tokenFields, userpassFields,
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Log in")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.replaceChildren();
    const f = form.elements;
    try {
      if (method.value === "token") {
        const lookup = await api("GET", "auth/token/lookup-self", undefined, { token: f.token.value.trim() });
        session.save(f.token.value.trim(), lookup.data.ttl);
      } else {
        const mount = f.mount.value.trim().replace(/^\/+|\/+$/g, "") || "userpass";
        const answer = await api("POST", `auth/${mount}/login/${encodeURIComponent(f.username.value.trim())}`,
          { password: f.password.value }, { token: null });
        session.save(answer.auth.client_token, answer.auth.lease_duration);
      }
      form.reset();
      // A page asked for before logging in (a link someone shared) is drawn now; otherwise the engines.
      if (!location.hash || location.hash === "#/login") location.hash = "#/secrets";
      else window.dispatchEvent(new HashChangeEvent("hashchange"));
    } catch (error) {
      errors.replaceChildren(alertBox(error.status === 403 || error.status === 400
        ? "Login failed: check what you entered." : error.message));
    }
  });
  return form;
}
