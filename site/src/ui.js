// Small DOM helpers and the output panel shared by the exercise and playground widgets.
import { icon } from "./icons.js";

/** el("div", {class: "x", onclick: fn}, child, "text") */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "html") node.innerHTML = value;
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

let uid = 0;
export function uniqueId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

export function readConfig(node) {
  try {
    return JSON.parse(node.dataset.config || "{}") || {};
  } catch (err) {
    console.error("drona: bad data-config", node, err);
    return {};
  }
}

/** A button that stays focusable while unavailable (aria-disabled), so focus is never lost. */
export function button(label, { kind = "secondary", onClick, title, keyshortcuts, iconName } = {}) {
  const b = el("button", {
    type: "button",
    class: `drona-btn drona-btn--${kind}`,
    title,
    "aria-keyshortcuts": keyshortcuts,
  });
  if (iconName) b.append(icon(iconName));
  b.append(label);
  b.addEventListener("click", (event) => {
    if (b.getAttribute("aria-disabled") === "true") {
      event.preventDefault();
      return;
    }
    if (onClick) onClick(event);
  });
  return b;
}

export function setEnabled(b, enabled) {
  b.setAttribute("aria-disabled", enabled ? "false" : "true");
}

export const storage = {
  get(key) {
    try {
      return window.localStorage.getItem(key);
    } catch (_err) {
      return null;
    }
  },
  set(key, value) {
    try {
      window.localStorage.setItem(key, value);
    } catch (_err) {
      /* private mode or full: the code just is not kept */
    }
  },
  remove(key) {
    try {
      window.localStorage.removeItem(key);
    } catch (_err) {
      /* ignore */
    }
  },
};

const MAX_OUTPUT = 200_000;

/** The program output: stdout, stderr, tracebacks, notes and the inline input() field. */
export class OutputPanel {
  constructor() {
    this.log = el("div", {
      class: "drona-output__log",
      role: "log",
      "aria-live": "polite",
      "aria-label": "Program output",
      tabindex: "0",
    });
    this.placeholder = el("p", { class: "drona-output__empty", text: "Run your program to see its output here." });
    this.log.append(this.placeholder);
    this.element = el(
      "section",
      { class: "drona-output", "aria-label": "Output" },
      el("div", { class: "drona-panel-title", "aria-hidden": "true", text: "Output" }),
      this.log,
    );
    this.size = 0;
    this.truncated = false;
    this.lastChunk = null;
    this.pendingInput = null;
  }

  clear() {
    this.cancelInput();
    this.log.replaceChildren();
    this.size = 0;
    this.truncated = false;
    this.lastChunk = null;
  }

  write(kind, text) {
    if (!text) return;
    if (this.size >= MAX_OUTPUT) {
      if (!this.truncated) {
        this.truncated = true;
        this.note("Output truncated: your program printed more than 200,000 characters.", "warning");
      }
      return;
    }
    if (this.size + text.length > MAX_OUTPUT) text = text.slice(0, MAX_OUTPUT - this.size);
    this.size += text.length;
    if (this.lastChunk && this.lastChunk.dataset.kind === kind) {
      this.lastChunk.append(text);
    } else {
      this.lastChunk = el("span", { class: `drona-out drona-out--${kind}`, dataset: { kind } }, text);
      this.log.append(this.lastChunk);
    }
    this.scroll();
  }

  traceback(text, lead) {
    this.lastChunk = null;
    const block = el(
      "div",
      { class: "drona-traceback" },
      lead ? el("p", { class: "drona-traceback__lead", text: lead }) : null,
      el("pre", {}, text),
    );
    this.log.append(block);
    this.scroll();
    return block;
  }

  note(text, tone = "info") {
    this.lastChunk = null;
    const node = el("p", { class: `drona-note drona-note--${tone}` }, text);
    this.log.append(node);
    this.scroll();
    return node;
  }

  /** Show an inline field for input(); calls onSubmit(line) on Enter. */
  askInput(onSubmit) {
    this.cancelInput();
    const id = uniqueId("drona-input");
    const field = el("input", {
      id,
      class: "drona-stdin-line__field",
      type: "text",
      autocomplete: "off",
      autocapitalize: "off",
      spellcheck: "false",
      enterkeyhint: "send",
    });
    const row = el(
      "form",
      { class: "drona-stdin-line" },
      el("label", { for: id, class: "drona-visually-hidden", text: "Program input (press Enter to send)" }),
      el("span", { class: "drona-stdin-line__caret", "aria-hidden": "true", text: "›" }),
      field,
    );
    row.addEventListener("submit", (event) => {
      event.preventDefault();
      const line = field.value;
      row.remove();
      this.pendingInput = null;
      this.write("stdin", line + "\n");
      onSubmit(line);
    });
    this.lastChunk = null;
    this.log.append(row);
    this.pendingInput = row;
    this.scroll();
    field.focus({ preventScroll: false });
    return field;
  }

  cancelInput() {
    if (this.pendingInput) this.pendingInput.remove();
    this.pendingInput = null;
  }

  scroll() {
    this.log.scrollTop = this.log.scrollHeight;
  }
}

/** Lines of a Python regex that JS understands: leading inline flags become JS flags. */
export function compilePattern(source) {
  if (!source) return null;
  let flags = "";
  let body = source;
  const m = /^\(\?([aiLmsux]+)\)/.exec(body);
  if (m) {
    body = body.slice(m[0].length);
    if (m[1].includes("i")) flags += "i";
    if (m[1].includes("m")) flags += "m";
    if (m[1].includes("s")) flags += "s";
  }
  try {
    return new RegExp(body, flags);
  } catch (_err) {
    return null;
  }
}

export function stopMessage(seconds, testName) {
  const where = testName ? ` in the test “${testName}”` : "";
  return `Stopped: your program ran longer than ${seconds} s${where}. Look for a loop that never ends.`;
}
