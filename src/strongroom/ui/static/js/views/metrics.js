// Metrics at a glance: requests per second, error rate, tokens and leases, polled from sys/metrics in the
// Prometheus format (or strongroom's JSON summary, cumulative as well, when a server has Prometheus off) and
// drawn as small line charts (inline SVG made element by element: no library, no markup strings, no inline
// styles; colours come from the stylesheet).
import { api, ApiError } from "../api.js";
import { alertBox, h } from "../dom.js";

const SVG = "http://www.w3.org/2000/svg";
const POLL_MS = 2000;
const POINTS = 30;
const WIDTH = 240;
const HEIGHT = 64;

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  el.append(...children);
  return el;
}

/** The Prometheus text's samples summed by metric name, with request counts also split by status class. */
export function parsePrometheus(text) {
  const totals = { requests: 0, errors: 0, tokens: 0, leases: 0 };
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const [, name, labels = "", raw] = match;
    const value = Number(raw);
    if (!Number.isFinite(value)) continue;
    if (name === "vault_core_handle_request_count") {
      totals.requests += value;
      if (/status_class="[45]xx"/.test(labels)) totals.errors += value;
    } else if (name === "vault_token_count") totals.tokens += value;
    else if (name === "vault_expire_num_leases") totals.leases += value;
  }
  return totals;
}

/** The same totals from the JSON summary: request counts are its handle_request samples' counts. */
export function parseSummary(summary) {
  const totals = { requests: 0, errors: 0, tokens: 0, leases: 0 };
  for (const sample of summary.Samples || []) {
    if (sample.Name !== "vault.core.handle_request") continue;
    totals.requests += sample.Count;
    if (/^[45]xx$/.test(sample.Labels?.status_class || "")) totals.errors += sample.Count;
  }
  for (const gauge of summary.Gauges || []) {
    if (gauge.Name === "vault.token.count") totals.tokens += gauge.Value;
    else if (gauge.Name === "vault.expire.num_leases") totals.leases += gauge.Value;
  }
  return totals;
}

/** One reading of the totals, in the format the server offers (Prometheus is off when its retention is 0). */
async function read(format) {
  if (format.json) return parseSummary(await api("GET", "sys/metrics"));
  try {
    return parsePrometheus(await api("GET", "sys/metrics?format=prometheus", undefined, { text: true }));
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 400)) throw error;
    format.json = true;
    return read(format);
  }
}

const CHARTS = [
  ["requests", "Requests per second", (v) => v.toFixed(1)],
  ["errorRate", "Error rate (4xx and 5xx)", (v) => `${v.toFixed(1)} %`],
  ["tokens", "Tokens", (v) => String(Math.round(v))],
  ["leases", "Leases", (v) => String(Math.round(v))],
];

function chart(key, title) {
  const line = svg("polyline", { class: "series", points: "", fill: "none" });
  // The latest sample as a mark of its own, so a single sample already shows.
  const now = svg("line", { class: "now", x1: WIDTH - 1, x2: WIDTH - 1, y1: HEIGHT - 2, y2: HEIGHT - 2 });
  const drawing = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, preserveAspectRatio: "none", role: "img",
    "aria-label": title, class: "spark" },
  svg("line", { class: "axis", x1: 0, y1: HEIGHT - 1, x2: WIDTH, y2: HEIGHT - 1 }), line, now);
  const value = h("span", { class: "value" }, "…");
  const peak = h("span", { class: "peak muted" });
  const figure = h("figure", { class: "chart", "data-chart": key },
    h("figcaption", {}, title, ": ", value, peak), drawing);
  return { figure, line, now, value, peak, drawing, title };
}

function draw(view, series, format) {
  const top = Math.max(1, ...series) * 1.1;
  const step = WIDTH / (POINTS - 1);
  const start = POINTS - series.length;
  const y = (v) => (HEIGHT - 2 - (v / top) * (HEIGHT - 4)).toFixed(1);
  view.line.setAttribute("points", series.map((v, i) => `${((start + i) * step).toFixed(1)},${y(v)}`).join(" "));
  if (series.length) {
    view.now.setAttribute("y1", y(series[series.length - 1]));
    view.now.setAttribute("y2", y(series[series.length - 1]));
    view.peak.textContent = `peak ${format(Math.max(...series))} in the last ${series.length} samples`;
  }
  const last = series.length ? format(series[series.length - 1]) : "…";
  view.value.textContent = last;
  view.drawing.setAttribute("aria-label", `${view.title}: now ${last}, over the last ${series.length} samples`);
}

export async function metricsView() {
  const format = { json: false };
  const first = await read(format);
  const views = Object.fromEntries(CHARTS.map(([key, title]) => [key, chart(key, title)]));
  const series = Object.fromEntries(CHARTS.map(([key]) => [key, []]));
  const problem = h("div");
  let previous = { totals: first, at: performance.now() };
  const push = (key, value) => {
    series[key].push(value);
    if (series[key].length > POINTS) series[key].shift();
  };
  function sample(totals, at) {
    const seconds = Math.max(0.001, (at - previous.at) / 1000);
    const requests = Math.max(0, totals.requests - previous.totals.requests);
    const errors = Math.max(0, totals.errors - previous.totals.errors);
    push("requests", requests / seconds);
    push("errorRate", requests ? (100 * errors) / requests : 0);
    push("tokens", totals.tokens);
    push("leases", totals.leases);
    previous = { totals, at };
    for (const [key, , format] of CHARTS) draw(views[key], series[key], format);
  }
  push("tokens", previous.totals.tokens);
  push("leases", previous.totals.leases);
  for (const [key, , format] of CHARTS) draw(views[key], series[key], format);
  const section = h("section", {},
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/operations" }, "Operations"), " / ",
      h("span", {}, "Metrics")),
    h("h1", {}, "Metrics"),
    h("p", { class: "muted" },
      `From sys/metrics (${format.json ? "JSON" : "Prometheus format"}) every ${POLL_MS / 1000} s while this page is open.`),
    problem,
    h("div", { class: "charts" }, CHARTS.map(([key]) => views[key].figure)));
  const timer = setInterval(async () => {
    // The page was left: stop asking.
    if (!section.isConnected) return clearInterval(timer);
    try {
      const totals = await read(format);
      problem.replaceChildren();
      sample(totals, performance.now());
    } catch (error) {
      problem.replaceChildren(alertBox(`Metrics could not be read: ${error.message}`, "warning"));
    }
  }, POLL_MS);
  return section;
}
