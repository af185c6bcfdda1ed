// Building the page from elements and text nodes only: no HTML strings, so nothing the server returns can
// become markup (the CSP's require-trusted-types-for 'script' refuses innerHTML anyway).

/** An element with attributes, event handlers ("on" + event) and children (nodes or text). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

let fieldCount = 0;

/** A labelled input: the label names the control for screen readers. */
export function field(label, attrs = {}, hint = "") {
  const id = attrs.id || `f${++fieldCount}`;
  const control = h(attrs.multiline ? "textarea" : "input", { ...attrs, multiline: null, id });
  return h("div", { class: "field" },
    h("label", { for: id }, label), control, hint ? h("small", { class: "muted" }, hint) : null);
}

/** An alert box; role=alert makes screen readers announce it. */
export function alertBox(message, kind = "error") {
  return h("div", { class: `alert ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
}

/** A short-lived message at the bottom of the screen. */
export function notify(message) {
  const box = document.getElementById("notice");
  box.replaceChildren(h("p", {}, message));
  clearTimeout(notify.timer);
  notify.timer = setTimeout(() => box.replaceChildren(), 4000);
}

/** Ask before an action that cannot be taken back; resolves to true when confirmed. */
export function confirmAction(question, actionLabel) {
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "confirm", "aria-labelledby": "confirm-q" },
      h("p", { id: "confirm-q" }, question),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "secondary", onclick: () => dialog.close("cancel") }, "Cancel"),
        h("button", { type: "button", class: "danger", onclick: () => dialog.close("ok") }, actionLabel)));
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "ok");
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A date as the reader's locale writes it ("" for none). */
export function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}
