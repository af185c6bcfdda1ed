// OIDC in the browser, both ends, on Vault's UI paths. As a relying party: a JWT/OIDC auth mount's login
// starts at auth/<mount>/oidc/auth_url with the redirect_uri <origin>/ui/vault/auth/<mount>/oidc/callback,
// and that callback page trades the code for a token. As the identity provider: the authorization_endpoint
// of identity/oidc/provider/<name> is /ui/vault/identity/oidc/provider/<name>/authorize, a page that asks
// the logged-in user before it hands the application a code.
// The state and the client nonce wait in this tab's sessionStorage; each page is replaced in the history as
// it goes, so no code, state or nonce stays there, and no token is ever in a URL.
import { api } from "../api.js";
import { alertBox, h } from "../dom.js";
import * as session from "../session.js";
import { mountPath } from "./parts.js";

const STARTED = "strongroom.oidc";

/** The redirect_uri of an OIDC login at `mount` (what the role's allowed_redirect_uris must list). */
export function callbackUri(mount) {
  return `${location.origin}/ui/vault/auth/${mount}/oidc/callback`;
}

function nonce() {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Ask the mount for the provider's address and go there; an Error with a plain message when it cannot. */
export async function startOidcLogin(mount, role) {
  const redirect = callbackUri(mount);
  const clientNonce = nonce();
  const body = { redirect_uri: redirect, client_nonce: clientNonce };
  if (role) body.role = role;
  const answer = await api("POST", `auth/${mountPath(mount)}/oidc/auth_url`, body, { token: null });
  const url = answer?.data?.auth_url;
  if (!url) {
    // Vault answers an empty auth_url when the redirect_uri is not allowed, so say which one to allow.
    throw new Error(`The server gave no sign-in address: the role's allowed_redirect_uris must include ${redirect}`);
  }
  const state = new URL(url).searchParams.get("state");
  sessionStorage.setItem(STARTED, JSON.stringify({ state, nonce: clientNonce, mount }));
  location.replace(url);
}

function failed(message) {
  return h("section", { class: "card narrow" }, h("h1", {}, "Sign-in failed"), alertBox(message),
    h("p", {}, h("a", { href: "#/login" }, "Back to the login")));
}

/** The callback page: check the state this tab started with, trade the code for a token, go on. */
export async function oidcCallback(mount) {
  const query = new URLSearchParams(location.search);
  // The code and state leave the address bar and the history before anything else happens.
  history.replaceState(null, "", "/ui/");
  const started = JSON.parse(sessionStorage.getItem(STARTED) || "null");
  sessionStorage.removeItem(STARTED);
  if (query.get("error")) {
    return failed(`The identity provider refused: ${query.get("error_description") || query.get("error")}.`);
  }
  if (!started || started.mount !== mount || !query.get("state") || started.state !== query.get("state")) {
    return failed("This sign-in was not started in this tab, or it was used already: start again.");
  }
  const params = new URLSearchParams({ state: started.state, code: query.get("code") || "", client_nonce: started.nonce });
  try {
    const answer = await api("GET", `auth/${mountPath(mount)}/oidc/callback?${params}`, undefined, { token: null });
    session.save(answer.auth.client_token, answer.auth.lease_duration);
  } catch (error) {
    return failed(`The server refused the sign-in: ${error.message}`);
  }
  location.replace("#/secrets");
  return null;
}

/** The provider's authorize page for a logged-in user: which application asks, and a choice. */
export function providerAuthorize(name) {
  const query = new URLSearchParams(location.search);
  const redirect = query.get("redirect_uri") || "";
  let target;
  try {
    target = new URL(redirect);
  } catch {
    return failed("The application sent no valid redirect_uri.");
  }
  const errors = h("div");
  const go = (params) => {
    Object.entries(params).forEach(([k, v]) => { if (v) target.searchParams.set(k, v); });
    // Replaced, not pushed: the authorize request (with its state and nonce) leaves the history.
    location.replace(target.toString());
  };
  const allow = async () => {
    errors.replaceChildren();
    try {
      const answer = await api("GET", `identity/oidc/provider/${encodeURIComponent(name)}/authorize?${query}`);
      go({ code: answer.code, state: answer.state });
    } catch (error) {
      errors.replaceChildren(alertBox(`The provider refused: ${error.message}`));
    }
  };
  return h("section", { class: "card narrow", "aria-labelledby": "authorize-title" },
    h("h1", { id: "authorize-title" }, "Sign in to an application"),
    h("p", {}, "The application ", h("code", {}, query.get("client_id") || "?"), " at ", h("strong", {}, target.origin),
      " asks the identity provider ", h("code", {}, name), " who you are."),
    errors,
    h("div", { class: "actions" },
      h("button", { type: "button", onclick: allow }, "Continue"),
      h("button", { type: "button", class: "secondary",
        onclick: () => go({ error: "access_denied", state: query.get("state") }) }, "Cancel")));
}
