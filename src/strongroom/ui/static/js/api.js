// The only way the UI talks to the server: the public /v1 API, as any client does.
import * as session from "./session.js";

export class ApiError extends Error {
  constructor(status, errors, body) {
    super(errors.length ? errors.join("; ") : `the server answered ${status}`);
    this.status = status;
    this.errors = errors;
    this.body = body;
  }

  get forbidden() {
    return this.status === 403;
  }
}

/** Send one request to /v1/`path`; the parsed JSON answer (null for none), or an ApiError. With `text`, the
 * answer's text as it came (sys/metrics in the Prometheus format is not JSON). */
export async function api(method, path, body, { token = session.token(), text: raw = false } = {}) {
  const headers = { "X-Vault-Request": "true" };
  if (token) headers["X-Vault-Token"] = token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`/v1/${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
    credentials: "omit",
    redirect: "error",
  });
  const text = await response.text();
  if (raw && response.ok) return text;
  let parsed = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  if (!response.ok) throw new ApiError(response.status, parsed?.errors ?? [], parsed);
  return parsed;
}

/** LIST as a GET with ?list=true (fetch sends any method, but some proxies refuse LIST). */
export async function list(path) {
  try {
    return (await api("GET", `${path}?list=true`)).data.keys;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return [];
    throw error;
  }
}

/** Each segment of a path made safe for a URL, the slashes kept. */
export function encodePath(path) {
  return path.split("/").map(encodeURIComponent).join("/");
}
