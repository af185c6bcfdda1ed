// The Access and Operations index pages: what each screen under them is for.
import { h } from "../dom.js";
import { indexEntry } from "./parts.js";

export function accessView() {
  return h("section", {},
    h("h1", {}, "Access"),
    h("ul", { class: "index" },
      indexEntry("#/policies", "ACL policies", "what each policy allows; write them with the server checking them"),
      indexEntry("#/auth", "Auth methods", "how people and machines log in; enable, tune, disable; AppRole roles and userpass users"),
      indexEntry("#/identity/entity", "Entities", "the people and machines behind tokens: policies, aliases, groups"),
      indexEntry("#/identity/group", "Groups", "entities and groups gathered to share policies")));
}

export function operationsView() {
  return h("section", {},
    h("h1", {}, "Operations"),
    h("ul", { class: "index" },
      indexEntry("#/token", "This token", "its policies and expiry; renew it"),
      indexEntry("#/leases/", "Leases", "by prefix; renew, revoke one or all under a prefix"),
      indexEntry("#/audit", "Audit devices", "where requests are recorded, and whether that works"),
      indexEntry("#/status", "Seal status", "and sealing the server"),
      indexEntry("#/metrics", "Metrics", "requests, errors, tokens and leases at a glance"),
      indexEntry("#/docker-secrets", "Docker secrets", "the store behind strongroom secret ls, create and rm")));
}
