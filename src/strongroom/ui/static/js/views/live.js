// Live updates: the secret on screen follows the server's KV events (sys/events/subscribe over a WebSocket).
// A browser cannot set headers on a WebSocket and a token must never ride in a URL, so the token is offered
// as a subprotocol, which the server reads as it reads X-Vault-Token. Events carry paths and versions,
// never values: the screen reads the secret again through the API.
import { api } from "../api.js";
import { alertBox, h } from "../dom.js";
import * as session from "../session.js";

const PATTERN = "kv*";
const MARKER = "vault-events.v1";
let socket = null;
// Bumped by every stop, so a watch still asking about capabilities knows it was called off meanwhile.
let generation = 0;
// What the last change was, for the screen drawn again because of it.
let pending = "";

function base64url(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  bytes.forEach((b) => { binary += String.fromCharCode(b); });
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Stop following the server (the next screen, or a watch started again, opens a new stream). */
export function unwatch() {
  generation += 1;
  const ws = socket;
  socket = null;
  if (!ws) return;
  // Closing one still connecting makes Chromium log a warning: it is closed once open instead.
  if (ws.readyState === WebSocket.CONNECTING) ws.addEventListener("open", () => ws.close(1000));
  else ws.close(1000);
}

// A new screen stops the watch of the one before (the new one starts its own).
window.addEventListener("hashchange", unwatch);

/** The API paths whose events change the secret at `path` of `store`. */
function watchedPaths(store, path) {
  if (!store.versioned) return [`${store.mount}/${path}`];
  return ["data", "delete", "undelete", "destroy", "metadata"].map((family) => `${store.mount}/${family}/${path}`);
}

/** What changed, in the words of the notice. */
function describe(type, metadata) {
  if (metadata.current_version) return `Updated on the server to version ${metadata.current_version}.`;
  const words = { "kv-v2/delete": "a version was deleted", "kv-v2/undelete": "a version was undeleted",
    "kv-v2/destroy": "a version was destroyed", "kv-v2/metadata-write": "its settings were changed",
    "kv-v2/metadata-patch": "its settings were changed", "kv-v2/metadata-delete": "it was deleted",
    "kv-v2/data-delete": "its latest version was deleted", "kv-v1/delete": "it was deleted" };
  return words[type] ? `Changed on the server: ${words[type]}.` : "Updated on the server.";
}

/** Watch the secret at `path`; `changed(text)` is called with the notice for each change, and `slot` is
 * marked data-following once the stream is open. Opens nothing when this token may not subscribe (the screen
 * then simply does not follow the server). */
export async function watchSecret(store, path, slot, changed) {
  unwatch();
  const mine = generation;
  const token = session.token();
  const probe = `sys/events/subscribe/${PATTERN}`;
  let capabilities = [];
  try {
    const answer = await api("POST", "sys/capabilities-self", { paths: [probe] });
    capabilities = answer.data?.[probe] ?? answer.capabilities ?? [];
  } catch {
    return;
  }
  if (!token || mine !== generation || !capabilities.some((c) => c === "subscribe" || c === "root")) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const watched = new Set(watchedPaths(store, path));
  const ws = new WebSocket(`${scheme}://${location.host}/v1/sys/events/subscribe/${PATTERN}?json=true`,
    [MARKER, `vault-token.b64url.${base64url(token)}`]);
  ws.addEventListener("open", () => { slot.dataset.following = "true"; });
  ws.addEventListener("message", (message) => {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    const metadata = event?.data?.event?.metadata || {};
    if (watched.has(metadata.path) || watched.has(metadata.data_path)) {
      changed(describe(event.data.event_type, metadata));
    }
  });
  socket = ws;
}

/** Remember `text` for the screen about to be drawn again. */
export function carry(text) {
  pending = text;
}

/** The notice a redraw carried over (once), as a status box, or null. */
export function carried() {
  const text = pending;
  pending = "";
  return text ? liveNotice(text) : null;
}

/** A notice of a change on the server, with an optional action button. */
export function liveNotice(text, action = null) {
  const box = alertBox(text, "warning");
  box.classList.add("live-notice");
  box.setAttribute("role", "status");
  if (action) box.append(" ", action);
  return box;
}
