// The token of this tab: in sessionStorage only (gone when the tab closes), never in a URL or a cookie.

const TOKEN = "strongroom.token";
const EXPIRES = "strongroom.expires";

/** The token, or null when there is none or it has expired (the shell removes an expired one and says so). */
export function token() {
  return expired() ? null : sessionStorage.getItem(TOKEN);
}

/** Whether this tab holds a token, expired or not. */
export function held() {
  return sessionStorage.getItem(TOKEN) !== null;
}

/** Whether the stored token's TTL has run out (a token with no TTL never expires). */
export function expired() {
  const at = Number(sessionStorage.getItem(EXPIRES) || 0);
  return at > 0 && Date.now() >= at;
}

/** Keep `value` for this tab; `ttlSeconds` 0 means it does not expire. */
export function save(value, ttlSeconds) {
  sessionStorage.setItem(TOKEN, value);
  if (ttlSeconds > 0) sessionStorage.setItem(EXPIRES, String(Date.now() + ttlSeconds * 1000));
  else sessionStorage.removeItem(EXPIRES);
}

export function clear() {
  sessionStorage.removeItem(TOKEN);
  sessionStorage.removeItem(EXPIRES);
}
