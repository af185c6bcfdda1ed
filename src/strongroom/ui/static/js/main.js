// The shell: which screen the server's state and the hash route call for. Routes carry mount and secret
// paths only, never a value or a token.
import { api, ApiError } from "./api.js";
import { alertBox, h } from "./dom.js";
import * as session from "./session.js";
import { initView, unsealView } from "./views/seal.js";
import { loginView } from "./views/login.js";
import { oidcCallback, providerAuthorize } from "./views/oidc.js";
import { mountsView } from "./views/mounts.js";
import { kvEdit, kvList, kvShow, kvStore, kvVersions } from "./views/kv.js";
import { kvMetadata } from "./views/kvmeta.js";
import { redraw, withCapabilities } from "./views/parts.js";
import { ADMIN_NAV, ADMIN_ROUTES } from "./admin.js";

const segment = "([^/?]+)";
// "kv" routes are KV version 2 mounts; "kv1" routes KV version 1 and cubbyhole (no versions).
const kv = "(kv1?)";
const store = (kind, mount) => kvStore(mount, kind === "kv");
// The API path a KV screen stands on, for its "what can I do here" line.
const kvPath = (kind, mount, path, part) => (kind === "kv" ? `${mount}/${part}/${path}` : `${mount}/${path}`);
const ROUTES = [
  [new RegExp("^/secrets$"), () => mountsView()],
  [new RegExp(`^/${kv}/${segment}/list/(.*)$`),
    (k, m, p) => withCapabilities(kvList(store(k, m), p), kvPath(k, m, p, "metadata"))],
  [new RegExp(`^/${kv}/${segment}/show/(.+)$`),
    (k, m, p, q) => withCapabilities(kvShow(store(k, m), p, q.get("version")), kvPath(k, m, p, "data"))],
  [new RegExp(`^/${kv}/${segment}/edit/(.+)$`), (k, m, p) => kvEdit(store(k, m), p, false)],
  [new RegExp(`^/${kv}/${segment}/create/(.*)$`), (k, m, p) => kvEdit(store(k, m), p, true)],
  [new RegExp(`^/kv/${segment}/versions/(.+)$`), (m, p) => kvVersions(kvStore(m, true), p)],
  [new RegExp(`^/kv/${segment}/metadata/(.+)$`),
    (m, p) => withCapabilities(kvMetadata(kvStore(m, true), p), `${m}/metadata/${p}`)],
  ...ADMIN_ROUTES,
];

// Vault's path routes, which other parties link to: the OIDC login's callback and the OIDC provider's
// authorize page (it asks a stranger to log in first). Neither shows the navigation.
const PATH_ROUTES = [
  [/^\/ui\/vault\/auth\/(.+)\/oidc\/callback$/, (mount) => oidcCallback(mount)],
  [/^\/ui\/vault\/identity\/oidc\/provider\/([^/]+)\/authorize$/,
    (name) => (session.token() ? providerAuthorize(name) : loginView("Log in to the identity provider to go on.", redraw))],
];

const main = document.getElementById("main");
let rendering = 0;

function navigation(loggedIn) {
  const nav = document.getElementById("nav");
  if (!loggedIn) {
    nav.replaceChildren();
    return;
  }
  nav.replaceChildren(
    h("a", { href: "#/secrets" }, "Secrets"),
    ...ADMIN_NAV.map(([href, label]) => h("a", { href }, label)),
    h("button", { type: "button", class: "link", onclick: logout }, "Log out"),
  );
}

function logout(reason = "") {
  // As Vault's UI: the token is forgotten, not revoked (it may be a token the user pasted and still needs).
  session.clear();
  sessionStorage.setItem("strongroom.notice", typeof reason === "string" ? reason : "");
  if (location.hash === "#/login") render();
  else location.hash = "#/login";
}

async function screen(route, query) {
  const status = await api("GET", "sys/seal-status");
  if (!status.initialized) return [false, initView(render)];
  if (status.sealed) return [false, unsealView(status, render)];
  for (const [pattern, view] of PATH_ROUTES) {
    const match = pattern.exec(location.pathname);
    if (match) return [false, await view(decodeURIComponent(match[1]))];
  }
  if (session.held() && session.expired()) {
    session.clear();
    sessionStorage.setItem("strongroom.notice", "Your token expired: log in again.");
  }
  if (!session.token()) {
    const notice = sessionStorage.getItem("strongroom.notice") || "";
    sessionStorage.removeItem("strongroom.notice");
    return [false, loginView(notice)];
  }
  if (route === "/login") {
    location.replace("#/secrets");
    return [true, null];
  }
  for (const [pattern, view] of ROUTES) {
    const match = pattern.exec(route);
    if (match) {
      const args = match.slice(1).map(decodeURIComponent);
      return [true, await view(...args, query)];
    }
  }
  location.replace("#/secrets");
  return [true, null];
}

async function tokenValid() {
  try {
    await api("GET", "auth/token/lookup-self");
    return true;
  } catch (error) {
    return !(error instanceof ApiError && error.forbidden);
  }
}

/** Draw the screen for the current hash; a later call wins over one still waiting for the server. After a
 * navigation the new heading takes the focus, so a screen reader announces the page. */
async function render(event) {
  const mine = ++rendering;
  const [route, rawQuery = ""] = location.hash.replace(/^#/, "").split("?");
  let loggedIn = false;
  let content;
  try {
    [loggedIn, content] = await screen(route || "/secrets", new URLSearchParams(rawQuery));
  } catch (error) {
    if (error instanceof ApiError && error.forbidden && !(await tokenValid())) {
      logout("The token is no longer valid: log in again.");
      return;
    }
    if (error instanceof ApiError && error.forbidden) {
      loggedIn = true;
      content = h("section", {},
        h("h1", {}, "Not allowed"),
        alertBox("This token's policies do not allow this page (permission denied)."),
        h("p", {}, h("a", { href: "#/secrets" }, "Back to the secrets engines")));
    } else {
      loggedIn = session.token() !== null;
      content = h("section", {}, h("h1", {}, "Something went wrong"), alertBox(String(error.message)));
    }
  }
  if (mine !== rendering || content === null) return;
  navigation(loggedIn);
  main.replaceChildren(content);
  const heading = main.querySelector("h1");
  document.title = heading ? `${heading.textContent} · strongroom` : "strongroom";
  if (heading && event instanceof HashChangeEvent) {
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }
}

// A token that runs out logs the tab out, even when nobody clicks.
setInterval(() => {
  if (session.held() && session.expired()) logout("Your token expired: log in again.");
}, 1000);

window.addEventListener("hashchange", render);
render();
