// Identity entities and groups: listed, read (policies, aliases, groups, members), created, edited and deleted
// after a confirmation. Routes and forms name entities and groups by name; the API's IDs are looked up.
import { api, ApiError } from "../api.js";
import { alertBox, confirmAction, field, h, notify } from "../dom.js";
import { capabilitiesLine, exists, facts, refusal, table, words } from "./parts.js";

const KINDS = {
  entity: { title: "Entities", one: "entity", Title: "Entity", a: "An entity" },
  group: { title: "Groups", one: "group", Title: "Group", a: "A group" },
};
const route = (kind, action = "", name = "") =>
  `#/identity/${kind}${action ? `/${action}` : ""}${name ? `/${encodeURIComponent(name)}` : ""}`;
const byName = (kind, name) => `identity/${kind}/name/${encodeURIComponent(name)}`;

function crumbs(kind, current) {
  return h("nav", { class: "crumbs", "aria-label": "Breadcrumb" },
    h("a", { href: "#/access" }, "Access"), " / ",
    current ? [h("a", { href: route(kind) }, KINDS[kind].title), " / ", h("span", {}, current)]
      : h("span", {}, KINDS[kind].title));
}

/** The entities or groups by ID, each with its listing facts (name, counts); empty when there are none, and,
 * with `quiet`, when the token may not list them (a page that only names them then shows IDs). */
async function directory(kind, quiet = false) {
  try {
    return (await api("GET", `identity/${kind}/id?list=true`)).data.key_info || {};
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || (quiet && error.forbidden))) return {};
    throw error;
  }
}

/** Links to the entities or groups with these IDs, by name (an ID the directory does not know stays an ID). */
function links(kind, ids, known) {
  if (!ids?.length) return "none";
  return ids.flatMap((id, index) => [index ? ", " : "",
    known[id] ? h("a", { href: route(kind, "show", known[id].name) }, known[id].name) : h("code", {}, id)]);
}

export async function identityList(kind) {
  const known = await directory(kind);
  const rows = Object.entries(known).sort(([, a], [, b]) => a.name.localeCompare(b.name)).map(([id, info]) =>
    h("tr", {},
      h("td", {}, h("a", { href: route(kind, "show", info.name) }, info.name)),
      h("td", {}, kind === "entity" ? String(info.aliases?.length ?? 0) : String(info.num_member_entities ?? 0)),
      h("td", {}, h("code", {}, id))));
  return h("section", {},
    crumbs(kind, ""),
    h("div", { class: "heading" }, h("h1", {}, KINDS[kind].title),
      h("a", { class: "button", href: route(kind, "create") }, `Create ${KINDS[kind].one}`)),
    await capabilitiesLine(`identity/${kind}/name`),
    rows.length
      ? table(["Name", kind === "entity" ? "Aliases" : "Member entities", "ID"], rows, { class: "identities" })
      : h("p", {}, `No ${KINDS[kind].title.toLowerCase()} yet.`));
}

export async function identityShow(kind, name) {
  const [record, entities, groups] = await Promise.all([
    api("GET", byName(kind, name)).then((answer) => answer.data), directory("entity", true), directory("group", true)]);
  const errors = h("div");
  async function remove() {
    if (!(await confirmAction(`Delete the ${kind} ${name}? Its policies stop applying to the tokens it stands behind.`,
      `Delete ${kind}`))) return;
    try {
      await api("DELETE", byName(kind, name));
      notify(`Deleted the ${kind} ${name}.`);
      location.hash = route(kind);
    } catch (error) {
      errors.replaceChildren(refusal(error, `deleting this ${kind}`));
    }
  }
  const policies = record.policies?.length ? record.policies.join(", ") : "none";
  const pairs = kind === "entity"
    ? [["ID", h("code", {}, record.id)], ["Policies", policies], ["Disabled", record.disabled ? "yes" : "no"],
      ["Groups", links("group", record.direct_group_ids, groups)],
      ["Inherited groups", links("group", record.inherited_group_ids, groups)]]
    : [["ID", h("code", {}, record.id)], ["Type", record.type], ["Policies", policies],
      ["Member entities", links("entity", record.member_entity_ids, entities)],
      ["Member groups", links("group", record.member_group_ids, groups)],
      ["Parent groups", links("group", record.parent_group_ids, groups)]];
  const aliases = kind === "entity" ? record.aliases || [] : record.alias?.name ? [record.alias] : [];
  return h("section", {},
    crumbs(kind, name),
    h("div", { class: "heading" }, h("h1", {}, `${KINDS[kind].Title} ${name}`),
      h("div", { class: "actions" },
        h("a", { class: "button", href: route(kind, "edit", name) }, "Edit"),
        h("button", { type: "button", class: "danger", onclick: remove }, "Delete"))),
    await capabilitiesLine(`identity/${kind}/name/${name}`),
    errors,
    facts(pairs),
    h("h2", {}, "Aliases"),
    aliases.length
      ? table(["Name", "Auth mount", "Type"], aliases.map((alias) => h("tr", {},
        h("td", {}, alias.name), h("td", {}, h("code", {}, alias.mount_path || alias.mount_accessor)),
        h("td", {}, alias.mount_type || ""))), { class: "aliases" })
      : h("p", { class: "muted" }, "No aliases: no login method maps to it yet."));
}

/** The IDs for names (or IDs) typed in a form, or the first that nobody has. A token that may not list them
 * (`known` empty) sends what was typed: it can only have come as IDs, and the server checks them. */
function idsOf(names, known) {
  const ids = Object.fromEntries(Object.entries(known).map(([id, info]) => [info.name, id]));
  const idOf = (n) => ids[n] ?? (n in known || !Object.keys(known).length ? n : undefined);
  const missing = names.find((n) => idOf(n) === undefined);
  return missing === undefined ? { ids: names.map(idOf) } : { missing };
}

/** Create an entity or group (`name` empty) or edit one. */
export async function identityEdit(kind, name) {
  const creating = !name;
  const [record, entities, groups] = await Promise.all([
    creating ? {} : api("GET", byName(kind, name)).then((answer) => answer.data),
    kind === "group" ? directory("entity", true) : {}, kind === "group" ? directory("group", true) : {}]);
  const errors = h("div");
  const text = (label, fieldName, value, hint = "") =>
    field(label, { type: "text", name: fieldName, value, autocomplete: "off", spellcheck: "false" }, hint);
  const nameOf = (known) => (id) => known[id]?.name ?? id;
  const type = h("select", { id: "group-type", name: "type", disabled: !creating },
    ["internal", "external"].map((t) => h("option", { value: t, selected: record.type === t }, t)));
  const members = h("div", { hidden: record.type === "external" },
    text("Member entities", "members", (record.member_entity_ids || []).map(nameOf(entities)).join(", "),
      "Comma-separated entity names."),
    text("Member groups", "subgroups", (record.member_group_ids || []).map(nameOf(groups)).join(", "),
      "Comma-separated group names."));
  type.addEventListener("change", () => {
    members.hidden = type.value === "external";
  });
  const disabled = h("input", { type: "checkbox", id: "entity-disabled", name: "disabled", checked: Boolean(record.disabled) });
  const form = h("form", { class: "card", "aria-labelledby": "identity-title" },
    crumbs(kind, name),
    h("h1", { id: "identity-title" }, creating ? `Create ${kind}` : `Edit ${kind} ${name}`),
    errors,
    creating ? text("Name", "name", "") : null,
    text("Policies", "policies", (record.policies || []).join(", "), "Comma-separated policy names."),
    kind === "entity"
      ? h("label", { class: "inline" }, disabled, " Disabled (its tokens are refused)")
      : [h("div", { class: "field" }, h("label", { for: "group-type" }, "Type"), type,
        h("small", { class: "muted" }, "An external group takes its members from an auth method's group alias.")), members],
    h("div", { class: "actions" },
      h("button", { type: "submit" }, creating ? `Create ${kind}` : `Save ${kind}`),
      h("a", { class: "button secondary", href: creating ? route(kind) : route(kind, "show", name) }, "Cancel")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.replaceChildren();
    const f = form.elements;
    const target = creating ? f.name.value.trim() : name;
    if (!target) return errors.replaceChildren(alertBox("A name is needed."));
    const body = { policies: words(f.policies.value) };
    if (kind === "entity") body.disabled = disabled.checked;
    else {
      if (creating) body.type = type.value;
      if (type.value === "internal") {
        const found = idsOf(words(f.members.value), entities);
        const nested = idsOf(words(f.subgroups.value), groups);
        if (found.missing !== undefined) return errors.replaceChildren(alertBox(`No entity is named ${found.missing}.`));
        if (nested.missing !== undefined) return errors.replaceChildren(alertBox(`No group is named ${nested.missing}.`));
        body.member_entity_ids = found.ids;
        body.member_group_ids = nested.ids;
      }
    }
    try {
      if (creating && (await exists(byName(kind, target)))) {
        return errors.replaceChildren(alertBox(`${KINDS[kind].a} named ${target} exists already.`));
      }
      await api("POST", byName(kind, target), body);
      notify(creating ? `Created the ${kind} ${target}.` : `Saved the ${kind} ${target}.`);
      location.hash = route(kind, "show", target);
    } catch (error) {
      errors.replaceChildren(refusal(error, `writing this ${kind}`));
    }
  });
  return form;
}
