// Form building blocks for the account apps: labelled fields, an error summary that maps the
// API's 422 details onto fields, busy buttons and the "needs the server" notice.
import { el, uniqueId } from "../ui.js";
import { ApiError, ServerUnavailable } from "../api.js";
import { signinUrl, signupUrl } from "../format.js";
import { currentUser, isServerUnavailable } from "../session.js";

/** A labelled input: returns {wrap, input, error}. */
export function field({ label, name, type = "text", value = "", autocomplete, required = false, hint,
  minlength, maxlength, min, max, inputmode, placeholder }) {
  const id = uniqueId(`drona-f-${name}`);
  const hintId = hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  const input = el("input", {
    id, name, type, autocomplete, required, minlength, maxlength, min, max, inputmode, placeholder,
    class: "drona-input",
    "aria-describedby": hintId || null,
  });
  input.value = value == null ? "" : String(value);
  const error = el("p", { id: errorId, class: "drona-field__error", hidden: true });
  const wrap = el("div", { class: "drona-field", "data-field": name },
    el("label", { for: id, class: "drona-field__label" }, label),
    hint ? el("p", { id: hintId, class: "drona-field__hint" }, hint) : null,
    input, error);
  return { wrap, input, error };
}

/** A <select>: options as [value, text] pairs or {group: [[value, text]…]} objects. */
export function selectField({ label, name, options, value, hint }) {
  const id = uniqueId(`drona-f-${name}`);
  const hintId = hint ? `${id}-hint` : null;
  const select = el("select", { id, name, class: "drona-input", "aria-describedby": hintId });
  for (const option of options) {
    if (Array.isArray(option)) {
      select.append(el("option", { value: option[0] }, option[1]));
    } else {
      for (const [group, items] of Object.entries(option)) {
        const og = el("optgroup", { label: group });
        items.forEach(([v, t]) => og.append(el("option", { value: v }, t)));
        select.append(og);
      }
    }
  }
  if (value != null) select.value = value;
  const error = el("p", { id: `${id}-error`, class: "drona-field__error", hidden: true });
  const wrap = el("div", { class: "drona-field", "data-field": name },
    el("label", { for: id, class: "drona-field__label" }, label),
    hint ? el("p", { id: hintId, class: "drona-field__hint" }, hint) : null,
    select, error);
  return { wrap, input: select, error };
}

/** A group of radio buttons with descriptions: options are {value, label, description}. */
export function radioGroup({ legend, name, options, value, hint, required = true }) {
  const fieldset = el("fieldset", { class: "drona-choices", "data-field": name },
    el("legend", { class: "drona-field__label" }, legend),
    hint ? el("p", { class: "drona-field__hint" }, hint) : null);
  const inputs = options.map((option) => {
    const id = uniqueId(`drona-r-${name}`);
    const descId = option.description ? `${id}-desc` : null;
    const input = el("input", { type: "radio", id, name, value: option.value, required,
      "aria-describedby": descId });
    if (value != null && String(value) === String(option.value)) input.checked = true;
    fieldset.append(el("label", { class: "drona-choice-card", for: id }, input,
      el("span", { class: "drona-choice-card__text" },
        el("span", { class: "drona-choice-card__title" }, option.label),
        option.description ? el("span", { id: descId, class: "drona-choice-card__desc" }, option.description) : null)));
    return input;
  });
  const error = el("p", { class: "drona-field__error", hidden: true });
  fieldset.append(error);
  return {
    wrap: fieldset,
    inputs,
    error,
    get value() {
      const checked = inputs.find((i) => i.checked);
      return checked ? checked.value : null;
    },
  };
}

/** A form with an error summary on top; onSubmit(form) may throw ApiError/ServerUnavailable. */
export function form({ label, className = "", children, submitLabel, onSubmit, extra }) {
  const summary = el("div", { class: "drona-form__summary", role: "alert", tabindex: "-1", hidden: true });
  const submit = el("button", { type: "submit", class: "drona-btn drona-btn--primary" }, submitLabel);
  const status = el("p", { class: "drona-form__status", role: "status", "aria-live": "polite" });
  const node = el("form", { class: `drona-form ${className}`.trim(), "aria-label": label, novalidate: true },
    summary, ...children,
    el("div", { class: "drona-form__actions" }, submit, extra || null),
    status);
  const api = { node, summary, submit, status };
  node.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submit.getAttribute("aria-disabled") === "true") return;
    clearErrors(node);
    status.textContent = "";
    if (!node.checkValidity()) {
      showInvalid(node);
      return;
    }
    submit.setAttribute("aria-disabled", "true");
    node.setAttribute("aria-busy", "true");
    try {
      await onSubmit(api);
    } catch (err) {
      status.textContent = "";
      showError(node, err);
    } finally {
      submit.setAttribute("aria-disabled", "false");
      node.removeAttribute("aria-busy");
    }
  });
  return api;
}

export function clearErrors(node) {
  const summary = node.querySelector(".drona-form__summary");
  if (summary) {
    summary.hidden = true;
    summary.replaceChildren();
  }
  node.querySelectorAll(".drona-field__error").forEach((e) => {
    e.hidden = true;
    e.textContent = "";
  });
  node.querySelectorAll("[aria-invalid]").forEach((i) => {
    i.removeAttribute("aria-invalid");
    const described = (i.getAttribute("aria-describedby") || "").split(" ").filter((x) => x && !x.endsWith("-error"));
    if (described.length) i.setAttribute("aria-describedby", described.join(" "));
    else i.removeAttribute("aria-describedby");
  });
}

function markField(node, name, message) {
  const wrap = node.querySelector(`[data-field="${CSS.escape(name)}"]`);
  if (!wrap) return null;
  const input = wrap.querySelector("input, select, textarea");
  const error = wrap.querySelector(".drona-field__error");
  if (error) {
    error.textContent = message;
    error.hidden = false;
  }
  if (input) {
    input.setAttribute("aria-invalid", "true");
    if (error) {
      const ids = new Set((input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean));
      ids.add(error.id);
      input.setAttribute("aria-describedby", Array.from(ids).join(" "));
    }
  }
  return input;
}

function describeValidity(input) {
  const v = input.validity;
  if (v.valueMissing) return input.type === "radio" ? "Choose one of these." : "This is required.";
  if (v.typeMismatch && input.type === "email") return "Enter an email address, like name@example.com.";
  if (v.tooShort) return `Use at least ${input.minLength} characters.`;
  if (v.rangeUnderflow || v.rangeOverflow) return `Enter a number from ${input.min} to ${input.max}.`;
  return input.validationMessage || "Check this field.";
}

function showInvalid(node) {
  let first = null;
  for (const input of node.querySelectorAll("input, select, textarea")) {
    if (input.checkValidity()) continue;
    const wrap = input.closest("[data-field]");
    const name = wrap ? wrap.dataset.field : input.name;
    const target = markField(node, name, describeValidity(input));
    first = first || target || input;
  }
  if (first) first.focus();
}

/** Show an API error: field messages from 422 details, else one message in the summary. */
export function showError(node, err) {
  const summary = node.querySelector(".drona-form__summary");
  let message;
  let first = null;
  if (err instanceof ApiError) {
    if (err.status === 422 && Array.isArray(err.details)) {
      for (const d of err.details) {
        const loc = Array.isArray(d.loc) ? d.loc : [];
        const name = loc[loc.length - 1];
        const target = typeof name === "string" ? markField(node, name, cleanMessage(d.message)) : null;
        first = first || target;
      }
    }
    message = err.message;
    if (err.status === 429) {
      const wait = err.retryAfter || (err.details && err.details.retry_after_seconds);
      if (wait) message += ` Try again in ${wait >= 120 ? Math.ceil(wait / 60) + " minutes" : wait + " seconds"}.`;
    }
  } else if (err instanceof ServerUnavailable) {
    message = "The Dronacharya server did not answer. Check your connection and try again.";
  } else {
    message = "Something went wrong. Please try again.";
    console.error("drona:", err);
  }
  if (summary) {
    summary.textContent = message;
    summary.hidden = false;
  }
  (first || summary).focus();
}

function cleanMessage(text) {
  const t = String(text || "").replace(/^Value error, /, "");
  return t.charAt(0).toUpperCase() + t.slice(1) + (/[.!?]$/.test(t) ? "" : ".");
}

/** The notice shown instead of an app when no server answers. */
export function needsServer(root) {
  root.replaceChildren(el("div", { class: "drona-notice drona-notice--warning", role: "status" },
    el("strong", {}, "This page needs the Dronacharya server. "),
    "It is not reachable: you may be offline, or this copy of the site is served without it ",
    "(open it through ", el("code", {}, "drona serve"), ")."));
  root.dataset.state = "unavailable";
}

/** The notice shown instead of an app that needs a signed-in learner. */
export function needsSignIn(root, what) {
  root.replaceChildren(el("div", { class: "drona-notice", role: "status" },
    el("p", {}, `Sign in to ${what}.`),
    el("p", { class: "drona-notice__actions" },
      el("a", { class: "drona-btn drona-btn--primary", href: signinUrl() }, "Sign in"),
      el("a", { class: "drona-btn drona-btn--secondary", href: signupUrl() }, "Create an account"))));
  root.dataset.state = "signed-out";
}

export function loading(root, text = "Loading…") {
  root.replaceChildren(el("p", { class: "drona-app__loading", role: "status" }, text));
  root.dataset.state = "loading";
}

/** Move focus to a heading (tabindex=-1) after a view change, for keyboard and screen readers. */
export function focusHeading(node) {
  if (!node) return;
  if (!node.hasAttribute("tabindex")) node.setAttribute("tabindex", "-1");
  node.focus({ preventScroll: false });
}

/** The signed-in user (asked afresh), or null after showing why the app cannot be used. */
export async function requireUser(root, what) {
  const user = await currentUser({ refresh: true });
  if (!root.isConnected) return null;
  if (!user && isServerUnavailable()) {
    needsServer(root);
    return null;
  }
  if (!user) {
    needsSignIn(root, what);
    return null;
  }
  return user;
}
