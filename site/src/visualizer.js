// The Visualization canvas (design §7.2): a step-through view of a traced program.
//
// The trace comes from the worker (runner.trace → assets/drona/tracer.py): one step per line,
// call, return and exception, each with the call stack (frames and their variables) and the heap
// objects those reach. This module only draws it: the code with the current line, the frames,
// objects as boxes, references as arrows (so two names on one list show one box, two arrows), and
// the output printed so far. Scrubbing redraws one step; nothing runs again.
import { el, button, setEnabled, uniqueId } from "./ui.js";

const SVG = "http://www.w3.org/2000/svg";

function valueNode(value, objects) {
  if (value && typeof value.r === "number") {
    const target = objects[String(value.r)];
    const kind = target ? target.t === "object" ? target.class : target.t : "object";
    return el("span", {
      class: "drona-viz__ref",
      "data-ref": String(value.r),
      role: "img",
      "aria-label": `points to ${kind} #${value.r}`,
      title: `${kind} #${value.r}`,
    });
  }
  return el("code", { class: "drona-viz__scalar", text: value ? value.p : "?" });
}

function objectNode(id, obj, objects) {
  const kind = obj.t === "object" || obj.t === "other" ? obj.class : obj.t;
  const box = el("div", { class: `drona-viz__obj drona-viz__obj--${obj.t}`, "data-obj": id },
    el("span", { class: "drona-viz__obj-type", text: `${kind} #${id}` }));
  const more = obj.more ? el("span", { class: "drona-viz__more", text: `… ${obj.more} more` }) : null;
  if (obj.items) {
    const cells = el("ol", { class: "drona-viz__cells", start: "0" });
    obj.items.forEach((item, index) => {
      cells.append(el("li", { class: "drona-viz__cell" },
        obj.t === "list" || obj.t === "tuple" ? el("span", { class: "drona-viz__index", text: String(index) }) : null,
        valueNode(item, objects)));
    });
    if (!obj.items.length) cells.append(el("li", { class: "drona-viz__empty", text: "empty" }));
    box.append(cells, more);
  } else if (obj.entries || obj.attrs) {
    const rows = el("table", { class: "drona-viz__pairs" });
    for (const [key, value] of obj.entries || obj.attrs) {
      const keyNode = obj.attrs ? el("code", { text: key }) : valueNode(key, objects);
      rows.append(el("tr", {}, el("th", { scope: "row" }, keyNode), el("td", {}, valueNode(value, objects))));
    }
    if (!(obj.entries || obj.attrs).length) rows.append(el("tr", {}, el("td", { class: "drona-viz__empty", text: "empty" })));
    box.append(rows, more);
  } else {
    box.append(el("code", { class: "drona-viz__name", text: obj.name || obj.repr || "" }));
  }
  return box;
}

function frameNode(frame, index, last, objects) {
  const rows = el("table", { class: "drona-viz__vars" });
  for (const [name, value] of frame.vars) {
    rows.append(el("tr", {}, el("th", { scope: "row" }, el("code", { text: name })), el("td", {}, valueNode(value, objects))));
  }
  if (frame.ret) {
    rows.append(el("tr", { class: "drona-viz__return" }, el("th", { scope: "row", text: "returns" }),
      el("td", {}, valueNode(frame.ret, objects))));
  }
  if (!rows.rows.length) rows.append(el("tr", {}, el("td", { class: "drona-viz__empty", text: "no variables yet" })));
  const title = frame.name === "<module>" ? "Global frame" : `${frame.name}()`;
  return el("div", { class: `drona-viz__frame${last ? " drona-viz__frame--current" : ""}`, "data-frame": String(index) },
    el("h4", { class: "drona-viz__frame-title", text: title }), rows);
}

export class Visualizer {
  constructor({ onClose } = {}) {
    this.trace = null;
    this.index = 0;
    this.onClose = onClose;
    const sliderId = uniqueId("drona-viz-step");
    this.firstBtn = button("First", { kind: "link", onClick: () => this.go(0) });
    this.backBtn = button("Back", { kind: "secondary", onClick: () => this.go(this.index - 1) });
    this.nextBtn = button("Forward", { kind: "secondary", onClick: () => this.go(this.index + 1) });
    this.lastBtn = button("Last", { kind: "link", onClick: () => this.go(this.trace.steps.length - 1) });
    this.backBtn.setAttribute("aria-keyshortcuts", "ArrowLeft");
    this.nextBtn.setAttribute("aria-keyshortcuts", "ArrowRight");
    this.slider = el("input", { type: "range", id: sliderId, class: "drona-viz__slider", min: "0", max: "0", value: "0" });
    this.slider.addEventListener("input", () => this.go(Number(this.slider.value)));
    this.position = el("span", { class: "drona-viz__position", role: "status", "aria-live": "polite" });
    this.closeBtn = button("Close", { kind: "link", onClick: () => this.hide() });
    // Scrollable panels take focus (tabindex), so keyboard users can scroll them too.
    this.code = el("ol", { class: "drona-viz__code", "aria-label": "Program", tabindex: "0" });
    this.frames = el("div", { class: "drona-viz__frames", role: "group", "aria-label": "Frames" });
    this.heap = el("div", { class: "drona-viz__heap", role: "group", "aria-label": "Objects" });
    this.arrows = document.createElementNS(SVG, "svg");
    this.arrows.setAttribute("class", "drona-viz__arrows");
    this.arrows.setAttribute("aria-hidden", "true");
    this.memory = el("div", { class: "drona-viz__memory", role: "group", "aria-label": "Memory", tabindex: "0" },
      this.frames, this.heap);
    this.memory.append(this.arrows);
    const outputId = uniqueId("drona-viz-output");
    this.output = el("pre", { class: "drona-viz__output", id: outputId, tabindex: "0" });
    this.note = el("p", { class: "drona-viz__note", hidden: true });
    this.element = el("section", { class: "drona-viz", hidden: true, "aria-label": "Step-through visualization" },
      el("div", { class: "drona-viz__controls", role: "group", "aria-label": "Steps" },
        this.firstBtn, this.backBtn, this.nextBtn, this.lastBtn,
        el("label", { class: "drona-visually-hidden", for: sliderId, text: "Step" }), this.slider,
        this.position, el("span", { class: "drona-toolbar__spacer" }), this.closeBtn),
      this.note,
      el("div", { class: "drona-viz__body" }, this.code, this.memory),
      el("p", { class: "drona-viz__label", id: `${outputId}-label`, text: "Output so far" }),
      el("div", { role: "region", "aria-labelledby": `${outputId}-label` }, this.output));
    this.element.addEventListener("keydown", (event) => {
      if (!this.trace || event.target === this.slider) return; // the slider has its own arrows
      if (event.key === "ArrowLeft") this.go(this.index - 1);
      else if (event.key === "ArrowRight") this.go(this.index + 1);
      else return;
      event.preventDefault();
    });
    this._resize = () => this.drawArrows();
    this.markerId = uniqueId("drona-viz-head");
  }

  /** Show a trace from runner.trace, at its first step. */
  show(trace) {
    this.trace = trace;
    const steps = trace.steps || [];
    this.element.hidden = false;
    this.slider.max = String(Math.max(0, steps.length - 1));
    this.code.replaceChildren(...String(trace.code || "").replace(/\n$/, "").split("\n").map((text, i) =>
      el("li", { class: "drona-viz__line", "data-line": String(i + 1) }, el("code", { text: text || " " }))));
    const notes = [];
    if (trace.truncated) notes.push(`The program ran past ${trace.max_steps} steps: these are the first ${steps.length}.`);
    if (trace.error) notes.push(`It stopped with an error: ${trace.error.split("\n").pop()}`);
    if (!steps.length && !trace.error) notes.push("The program has no steps to show.");
    this.note.hidden = !notes.length;
    this.note.textContent = notes.join(" ");
    window.addEventListener("resize", this._resize);
    this.go(0);
  }

  hide() {
    this.element.hidden = true;
    window.removeEventListener("resize", this._resize);
    if (this.onClose) this.onClose();
  }

  get visible() {
    return !this.element.hidden;
  }

  /** Draw step `index` (clamped): the work of one scrub frame. */
  go(index) {
    const steps = (this.trace && this.trace.steps) || [];
    if (!steps.length) {
      this.position.textContent = "No steps";
      [this.firstBtn, this.backBtn, this.nextBtn, this.lastBtn].forEach((b) => setEnabled(b, false));
      this.output.textContent = this.trace ? this.trace.output || "" : "";
      return;
    }
    this.index = Math.max(0, Math.min(steps.length - 1, index));
    const step = steps[this.index];
    const previous = this.index > 0 ? steps[this.index - 1] : null;
    this.slider.value = String(this.index);
    const verb = { call: "calls", return: "returns from", exception: "raises at" }[step.event];
    this.position.textContent = `Step ${this.index + 1} of ${steps.length} · ${verb ? `${verb} ` : ""}line ${step.line}`;
    setEnabled(this.firstBtn, this.index > 0);
    setEnabled(this.backBtn, this.index > 0);
    setEnabled(this.nextBtn, this.index < steps.length - 1);
    setEnabled(this.lastBtn, this.index < steps.length - 1);
    for (const line of this.code.children) {
      const number = Number(line.dataset.line);
      line.classList.toggle("drona-viz__line--current", number === step.line);
      line.classList.toggle("drona-viz__line--previous", !!previous && number === previous.line && number !== step.line);
      if (number === step.line) line.setAttribute("aria-current", "step");
      else line.removeAttribute("aria-current");
    }
    const objects = step.heap || {};
    this.frames.replaceChildren(...step.frames.map((frame, i) => frameNode(frame, i, i === step.frames.length - 1, objects)));
    const boxes = Object.keys(objects).map((id) => objectNode(id, objects[id], objects));
    if (step.omitted) boxes.push(el("p", { class: "drona-viz__more", text: `${step.omitted} more objects not shown` }));
    this.heap.replaceChildren(...boxes);
    this.output.textContent = String(this.trace.output || "").slice(0, step.out);
    this.element.dataset.step = String(this.index);
    this.drawArrows();
  }

  /** An arrow from every reference dot to its object's box, in the memory panel's coordinates. */
  drawArrows() {
    if (!this.visible) return;
    const origin = this.memory.getBoundingClientRect();
    this.arrows.setAttribute("width", String(this.memory.scrollWidth));
    this.arrows.setAttribute("height", String(this.memory.scrollHeight));
    const boxes = new Map();
    for (const box of this.heap.querySelectorAll("[data-obj]")) boxes.set(box.dataset.obj, box.getBoundingClientRect());
    const paths = [];
    for (const dot of this.memory.querySelectorAll(".drona-viz__ref")) {
      const target = boxes.get(dot.dataset.ref);
      if (!target) continue;
      const from = dot.getBoundingClientRect();
      const x1 = from.left + from.width / 2 - origin.left;
      const y1 = from.top + from.height / 2 - origin.top;
      const x2 = target.left - origin.left;
      const y2 = target.top + Math.min(12, target.height / 2) - origin.top;
      const bend = Math.max(24, Math.abs(x2 - x1) / 2);
      const path = document.createElementNS(SVG, "path");
      path.setAttribute("d", `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`);
      path.setAttribute("data-ref", dot.dataset.ref);
      path.setAttribute("marker-end", `url(#${this.markerId})`);
      paths.push(path);
    }
    const defs = document.createElementNS(SVG, "defs");
    const marker = document.createElementNS(SVG, "marker");
    marker.setAttribute("id", this.markerId);
    for (const [name, value] of [["viewBox", "0 0 10 10"], ["refX", "9"], ["refY", "5"], ["markerWidth", "7"],
      ["markerHeight", "7"], ["orient", "auto-start-reverse"]]) marker.setAttribute(name, value);
    const head = document.createElementNS(SVG, "path");
    head.setAttribute("d", "M0,0 L10,5 L0,10 z");
    marker.append(head);
    defs.append(marker);
    this.arrows.replaceChildren(defs, ...paths);
  }
}
