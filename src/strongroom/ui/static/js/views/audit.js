// Audit devices and their health: sys/audit for what is enabled, sys/audit-status for whether each one is
// recording (writes, failures, the last failure).
import { api, ApiError } from "../api.js";
import { h, when } from "../dom.js";
import { capabilitiesLine, table } from "./parts.js";

async function health() {
  try {
    return (await api("GET", "sys/audit-status")).data.devices || {};
  } catch (error) {
    // A server without sys/audit-status (OpenBao has none) still lists its devices.
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

export async function auditView() {
  const [devices, status] = await Promise.all([api("GET", "sys/audit"), health()]);
  const entries = Object.entries(devices.data || {}).sort(([a], [b]) => a.localeCompare(b));
  const rows = entries.map(([path, device]) => {
    const state = status?.[path];
    const healthy = state ? (state.healthy ? "healthy" : "failing") : "unknown";
    return h("tr", { "data-path": path },
      h("td", {}, h("code", {}, path)),
      h("td", {}, device.type),
      h("td", {}, device.options?.file_path || device.description || ""),
      h("td", {}, h("span", { class: `state ${healthy}` }, healthy)),
      h("td", {}, state ? `${state.writes} writes, ${state.failures} failures` : ""),
      h("td", {}, state?.last_failure ? `${state.last_failure} (${when(state.last_failure_time)})` : ""));
  });
  return h("section", {},
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/operations" }, "Operations"), " / ",
      h("span", {}, "Audit devices")),
    h("h1", {}, "Audit devices"),
    await capabilitiesLine("sys/audit"),
    status === null ? h("p", { class: "muted" }, "This server does not report the devices' health (no sys/audit-status).") : null,
    rows.length
      ? table(["Path", "Type", "Target", "Health", "Since unseal", "Last failure"], rows, { class: "audit" })
      : h("p", {}, "No audit device is enabled: requests are not being recorded."));
}
