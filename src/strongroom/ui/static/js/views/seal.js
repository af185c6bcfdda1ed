// The screens of a server that cannot serve secrets yet: uninitialized (init) and sealed (unseal).
import { api, ApiError } from "../api.js";
import { alertBox, field, h } from "../dom.js";

/** Initialize the server: choose shares and threshold, then show the keys and root token once. */
export function initView(done) {
  const errors = h("div");
  const shares = field("Key shares", { type: "number", name: "shares", min: 1, max: 255, value: 5, required: true },
    "How many unseal keys to create.");
  const threshold = field("Key threshold", { type: "number", name: "threshold", min: 1, max: 255, value: 3, required: true },
    "How many of them unseal the server.");
  const form = h("form", { class: "card", "aria-labelledby": "init-title" },
    h("h1", { id: "init-title" }, "Initialize strongroom"),
    h("p", {}, "This server has no data yet. Initializing creates its encryption keys, split into unseal keys, and a root token."),
    errors, shares, threshold,
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Initialize")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.replaceChildren();
    try {
      const answer = await api("PUT", "sys/init", {
        secret_shares: Number(form.elements.shares.value),
        secret_threshold: Number(form.elements.threshold.value),
      });
      form.replaceWith(initialized(answer, done));
    } catch (error) {
      errors.replaceChildren(alertBox(error.message));
    }
  });
  return form;
}

function initialized(answer, done) {
  return h("section", { class: "card" },
    h("h1", {}, "strongroom is initialized"),
    alertBox("Save these now: they are shown only once. Give each unseal key to a different person.", "warning"),
    h("h2", {}, "Unseal keys"),
    h("ol", { class: "keys" }, answer.keys_base64.map((key) => h("li", {}, h("code", {}, key)))),
    h("h2", {}, "Root token"),
    h("p", {}, h("code", { class: "root-token" }, answer.root_token)),
    h("div", { class: "actions" }, h("button", { type: "button", onclick: done }, "Continue to unseal")));
}

/** Unseal with key shares, one at a time: progress of the threshold, and a reset. */
export function unsealView(status, done) {
  const errors = h("div");
  const meter = h("progress", { max: status.t, value: status.progress, "aria-labelledby": "unseal-progress" });
  const counter = h("p", { id: "unseal-progress" });
  const show = (progress) => {
    meter.value = progress;
    counter.textContent = `Unseal progress: ${progress} of ${status.t} keys`;
  };
  show(status.progress);
  const form = h("form", { class: "card", "aria-labelledby": "unseal-title" },
    h("h1", { id: "unseal-title" }, "strongroom is sealed"),
    h("p", {}, `Enter ${status.t} of the ${status.n} unseal keys. Each key holder can enter theirs here.`),
    counter, meter, errors,
    field("Unseal key", { type: "password", name: "key", autocomplete: "off", required: true, spellcheck: "false" }),
    h("div", { class: "actions" },
      h("button", { type: "submit" }, "Unseal"),
      h("button", { type: "button", class: "secondary", onclick: reset }, "Reset")));
  async function reset() {
    errors.replaceChildren();
    const answer = await api("PUT", "sys/unseal", { reset: true });
    show(answer.progress);
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.replaceChildren();
    // The key leaves the page at once, before the answer: the next holder may already be typing theirs.
    const key = form.elements.key.value.trim();
    form.elements.key.value = "";
    try {
      const answer = await api("PUT", "sys/unseal", { key });
      if (!answer.sealed) {
        done();
        return;
      }
      show(answer.progress);
    } catch (error) {
      errors.replaceChildren(alertBox(error instanceof ApiError ? error.message : String(error)));
    }
  });
  return form;
}
