// Log in with a token, a userpass user, a pasted JWT (a jwt mount's login with a role), or single sign-on through a JWT/OIDC mount (the provider's page, then
// back to the callback); the token is then kept in this tab only.
import { api } from "../api.js";
import { alertBox, field, h } from "../dom.js";
import * as session from "../session.js";
import { mountPath } from "./parts.js";
import { callbackUri, startOidcLogin } from "./oidc.js";

/** The JWT/OIDC auth mounts listed for strangers (listing_visibility "unauth"), as [path, description]. */
async function ssoMounts() {
  try {
    const answer = await api("GET", "sys/internal/ui/mounts", undefined, { token: null });
    return Object.entries(answer?.data?.auth || {})
      .filter(([, mount]) => mount.type === "oidc" || mount.type === "jwt")
      .map(([path, mount]) => [path.replace(/\/+$/, ""), mount.description || ""]);
  } catch {
    return [];
  }
}

/** The login form; `after` runs once logged in (by default the page asked for, or the engines). */
export function loginView(notice, after = null) {
  const errors = h("div", {}, notice ? alertBox(notice, "warning") : null);
  const tokenFields = h("div", {},
    field("Token", { type: "password", name: "token", autocomplete: "off", spellcheck: "false" }));
  const userpassFields = h("div", { hidden: true },
    field("Username", { type: "text", name: "username", autocomplete: "username" }),
    field("Password", { type: "password", name: "password", autocomplete: "current-password" }),
    field("Mount path", { type: "text", name: "mount", value: "userpass" }, "Where the userpass method is enabled."));
  const redirectHint = h("small", { class: "muted" });
  const oidcFields = h("div", { hidden: true },
    field("Single sign-on mount", { type: "text", name: "oidcMount", value: "oidc", autocomplete: "off", spellcheck: "false" }),
    field("Role", { type: "text", name: "role", autocomplete: "off", spellcheck: "false" }, "Empty for the mount's default role."),
    redirectHint);
  const jwtFields = h("div", { hidden: true },
    field("JWT", { type: "password", name: "jwt", autocomplete: "off", spellcheck: "false" },
      "A signed token from your identity provider; it is sent once, in the request body."),
    field("JWT role", { type: "text", name: "jwtRole", autocomplete: "off", spellcheck: "false" }, "Empty for the mount's default role."),
    field("JWT mount", { type: "text", name: "jwtMount", value: "jwt", autocomplete: "off", spellcheck: "false" }));
  const method = h("select", { id: "login-method", name: "method" },
    h("option", { value: "token" }, "Token"), h("option", { value: "userpass" }, "Username and password"),
    h("option", { value: "oidc" }, "OIDC single sign-on (enter the mount)"), h("option", { value: "jwt" }, "JWT (paste a token)"));
  const showRedirect = () => {
    redirectHint.textContent = `Redirect URI to allow: ${callbackUri(oidcFields.querySelector("[name=oidcMount]").value.trim())}`;
  };
  oidcFields.addEventListener("input", showRedirect);
  method.addEventListener("change", () => {
    const sso = method.value.startsWith("oidc");
    tokenFields.hidden = method.value !== "token";
    userpassFields.hidden = method.value !== "userpass";
    jwtFields.hidden = method.value !== "jwt";
    oidcFields.hidden = !sso;
    if (method.value.startsWith("oidc:")) oidcFields.querySelector("[name=oidcMount]").value = method.value.slice(5);
    showRedirect();
  });
  ssoMounts().then((mounts) => {
    // Listed before the generic entry, so a listed mount is one choice away.
    const generic = method.querySelector("option[value=oidc]");
    mounts.forEach(([path, description]) => generic.before(
      h("option", { value: `oidc:${path}` }, `Single sign-on: ${description || path}`)));
  });
  const submit = h("button", { type: "submit" }, "Log in");
  method.addEventListener("change", () => {
    submit.textContent = method.value.startsWith("oidc") ? "Sign in with OIDC" : "Log in";
  });
  const form = h("form", { class: "card narrow", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, "Log in to strongroom"), errors,
    h("div", { class: "field" }, h("label", { for: "login-method" }, "Method"), method),
    tokenFields, userpassFields, jwtFields, oidcFields,
    h("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.replaceChildren();
    const f = form.elements;
    try {
      if (method.value.startsWith("oidc")) {
        const mount = f.oidcMount.value.trim().replace(/^\/+|\/+$/g, "") || "oidc";
        await startOidcLogin(mount, f.role.value.trim());
        return;
      }
      if (method.value === "token") {
        const lookup = await api("GET", "auth/token/lookup-self", undefined, { token: f.token.value.trim() });
        session.save(f.token.value.trim(), lookup.data.ttl);
      } else if (method.value === "jwt") {
        const mount = f.jwtMount.value.trim().replace(/^\/+|\/+$/g, "") || "jwt";
        const body = { jwt: f.jwt.value.trim() };
        if (f.jwtRole.value.trim()) body.role = f.jwtRole.value.trim();
        const answer = await api("POST", `auth/${mountPath(mount)}/login`, body, { token: null });
        session.save(answer.auth.client_token, answer.auth.lease_duration);
      } else {
        const mount = f.mount.value.trim().replace(/^\/+|\/+$/g, "") || "userpass";
        const answer = await api("POST", `auth/${mount}/login/${encodeURIComponent(f.username.value.trim())}`,
          { password: f.password.value }, { token: null });
        session.save(answer.auth.client_token, answer.auth.lease_duration);
      }
      form.reset();
      if (after) after();
      // A page asked for before logging in (a link someone shared) is drawn now; otherwise the engines.
      else if (!location.hash || location.hash === "#/login") location.hash = "#/secrets";
      else window.dispatchEvent(new HashChangeEvent("hashchange"));
    } catch (error) {
      const sso = method.value.startsWith("oidc");
      const refused = error.status === 403 || error.status === 400;
      // The jwt mount says what it disliked about the token (expired, wrong audience), which the holder can fix.
      errors.replaceChildren(alertBox(method.value === "jwt" && refused ? `Login failed: ${error.message}`
        : !sso && refused ? "Login failed: check what you entered." : error.message));
    }
  });
  return form;
}
