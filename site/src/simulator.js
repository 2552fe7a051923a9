// The Simulation canvas (issue #15): a scenario model runs in the worker beside the learner's code
// (runner.simulate → sidecar/courseware/simulation.py) and every request it records is drawn here
// as it arrives, on the scenario's virtual time axis.
//
// - kind "web-api": one row per request, in the order they arrived; the bar spans the time the client
//   waited, coloured by what came back (200, 404, 429 + its Retry-After window, 503, a timeout), and the
//   gaps between bars are the client's own waits (backoff), labelled with their length;
// - kind "event-loop": one lane per asyncio task; each bar is an await in flight, so bars that overlap
//   in time are tasks running concurrently.
//
// The table below the picture lists the same events as text (the canvas's text alternative). Nothing
// here grades: the verdict comes from the trusted judge replaying the same record (simulation.replay).
import { el, button } from "./ui.js";

const SVG = "http://www.w3.org/2000/svg";
const ROW = 22;
const LEFT = 120;
const WIDTH = 640;
const PLAYBACK_MS = 2400; // the whole virtual timeline, replayed in at most this long

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function seconds(value) {
  return `${Number(value).toFixed(2)} s`;
}

/** What came back, in words (the same words in the picture's labels and in the table). */
export function outcomeText(entry) {
  if (entry.outcome === "timeout") return `timed out after ${seconds(entry.timeout)}`;
  if (entry.outcome === "cancelled") return "cancelled";
  const names = { 200: "200 OK", 404: "404 Not Found", 429: "429 Too Many Requests", 503: "503 Service Unavailable" };
  const text = names[entry.status] || String(entry.status);
  return entry.retry_after !== null && entry.retry_after !== undefined ? `${text} (Retry-After ${entry.retry_after} s)` : text;
}

/** A value as it crossed the boundary (harness.encode's tagged JSON), written the way Python prints it. */
export function pythonRepr(value) {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number") return String(value); // JSON keeps no float/int difference for 3.0
  if (typeof value === "string") {
    const inner = JSON.stringify(value).slice(1, -1).replace(/\\"/g, '"');
    return value.includes("'") && !value.includes('"') ? `"${inner}"` : `'${inner.replace(/'/g, "\\'")}'`;
  }
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(", ")}]`;
  if (value.$tuple) return value.$tuple.length === 1 ? `(${pythonRepr(value.$tuple[0])},)` : `(${value.$tuple.map(pythonRepr).join(", ")})`;
  if (value.$dict) return `{${value.$dict.map(([k, v]) => `${pythonRepr(k)}: ${pythonRepr(v)}`).join(", ")}}`;
  if (value.$set) return value.$set.length ? `{${value.$set.map(pythonRepr).join(", ")}}` : "set()";
  if (value.$frozenset) return `frozenset({${value.$frozenset.map(pythonRepr).join(", ")}})`;
  if (value.$float) return `float('${value.$float}')`;
  if (typeof value.$object === "number") return `<${value.type} object>`;
  return JSON.stringify(value);
}

function tone(entry) {
  if (entry.outcome === "timeout") return "timeout";
  if (entry.outcome === "cancelled") return "cancelled";
  return { 200: "ok", 404: "missing", 429: "limited", 503: "failed" }[entry.status] || "failed";
}

function ending(entry) {
  return entry.outcome === "cancelled" && typeof entry.cancelled_at === "number" ? entry.cancelled_at : entry.end;
}

export class Simulator {
  constructor() {
    this.kind = "web-api";
    this.events = [];
    this.timers = [];
    this.drawPending = null;
    this.status = el("p", { class: "drona-sim__status", role: "status", "aria-live": "polite" });
    this.picture = el("div", { class: "drona-sim__picture" });
    this.table = el("table", { class: "drona-sim__table" });
    this.taskTable = el("table", { class: "drona-sim__table drona-sim__tasks", hidden: true });
    this.tasks = [];
    this.summary = el("p", { class: "drona-sim__summary" });
    this.closeBtn = button("Close", { kind: "link", onClick: () => this.hide() });
    this.element = el("section", { class: "drona-sim", hidden: true, "aria-label": "Simulation" },
      el("div", { class: "drona-sim__head" }, el("h4", { class: "drona-sim__title", text: "Simulation" }), this.closeBtn),
      this.status, this.picture, this.summary,
      el("details", { class: "drona-sim__details", open: true },
        el("summary", { text: "Every request, as text" }), this.table, this.taskTable));
  }

  get visible() {
    return !this.element.hidden;
  }

  hide() {
    this.clearTimers();
    this.element.hidden = true;
  }

  clearTimers() {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers = [];
    clearTimeout(this.drawPending);
    this.drawPending = null;
  }

  /** A new run: empty picture, live from here on. */
  begin(kind) {
    this.clearTimers();
    this.kind = kind === "event-loop" ? "event-loop" : "web-api";
    this.events = [];
    this.tasks = [];
    this.element.hidden = false;
    this.element.dataset.kind = this.kind;
    this.element.dataset.state = "running";
    this.summary.textContent = "";
    this.status.textContent = "Simulating…";
    this.render();
  }

  /** One recorded request (sent again when it changes, e.g. an await cancelled later). */
  add(entry) {
    const index = this.events.findIndex((e) => e.n === entry.n);
    if (index >= 0) this.events[index] = entry;
    else this.events.push(entry);
    // Redrawn at most every 50 ms: a retry loop gone wrong may send thousands of requests.
    if (!this.drawPending) {
      this.drawPending = setTimeout(() => {
        this.drawPending = null;
        if (this.element.dataset.state === "running") this.render();
      }, 50);
    }
  }

  /** The run ended: its final record, replayed on the time axis. */
  finish(simulation) {
    this.events = Array.isArray(simulation.transcript) ? simulation.transcript : this.events;
    // The event loop's own record (harness.set_loop_recorder): every task, requests or not.
    this.tasks = this.kind === "event-loop" && Array.isArray(simulation.tasks) ? simulation.tasks : [];
    this.element.dataset.state = "done";
    const answer = simulation.answer || {};
    let result = "";
    if (answer.kind === "value") result = `Your function returned ${pythonRepr(answer.value)}.`;
    else if (answer.kind === "error" && answer.error) result = `Your function raised ${answer.error.type}${answer.error.message ? `: ${answer.error.message}` : ""}.`;
    else if (answer.kind === "unplain") result = "Your function returned a value that is not plain data.";
    const count = this.events.length;
    const end = count ? Math.max(...this.events.map(ending)) : 0;
    this.status.textContent = `${count} request${count === 1 ? "" : "s"} in ${seconds(end)} of simulated time.`;
    this.summary.textContent = result;
    this.render(true);
  }

  fail() {
    this.element.dataset.state = "error";
    this.status.textContent = "The simulation stopped: see the output above.";
    this.render();
  }

  lanes() {
    if (this.kind === "event-loop" && this.tasks.length) {
      return this.tasks.map((task, index) => {
        const entries = this.events.filter((e) => e.task === task.name);
        const what = entries.length ? entries.map((e) => e.path).join(" ") : index === 0 ? "(main)" : "";
        return { label: `${task.name} ${what}`.trim(), entries, task };
      });
    }
    if (this.kind === "event-loop") {
      const names = [];
      for (const entry of this.events) {
        const name = entry.task || "main";
        if (!names.includes(name)) names.push(name);
      }
      return names.map((name) => {
        const entries = this.events.filter((e) => (e.task || "main") === name);
        return { label: `${name} ${entries.map((e) => e.path).join(" ")}`, entries };
      });
    }
    return this.events.map((entry) => ({ label: `#${entry.n + 1} ${entry.path}`, entries: [entry] }));
  }

  render(replay = false) {
    this.clearTimers();
    const lanes = this.lanes();
    const end = Math.max(1, ...this.events.map((e) => Math.max(ending(e), e.retry_after ? e.end + e.retry_after : 0)),
      ...this.tasks.map((task) => task.done || 0));
    const scale = (WIDTH - LEFT - 20) / end;
    const height = Math.max(1, lanes.length) * ROW + 34;
    const root = svg("svg", { class: "drona-sim__svg", viewBox: `0 0 ${WIDTH} ${height}`, role: "img",
      "aria-label": this.kind === "event-loop"
        ? `Timeline of ${lanes.length} task${lanes.length === 1 ? "" : "s"}: the table below lists every await`
        : `Timeline of ${this.events.length} request${this.events.length === 1 ? "" : "s"}: the table below lists them` });
    // The time axis, in whole (or tenth) seconds.
    const axisY = lanes.length * ROW + 10;
    root.append(svg("line", { class: "drona-sim__axis", x1: LEFT, x2: WIDTH - 10, y1: axisY, y2: axisY }));
    const step = end > 8 ? Math.ceil(end / 8) : end > 2 ? 1 : 0.5;
    for (let t = 0; t <= end + 1e-9; t += step) {
      const x = LEFT + t * scale;
      root.append(svg("line", { class: "drona-sim__tick", x1: x, x2: x, y1: 0, y2: axisY + 4 }),
        svg("text", { class: "drona-sim__tick-label", x, y: axisY + 16, "text-anchor": "middle" }, `${Number(t.toFixed(2))} s`));
    }
    const reduced = typeof matchMedia === "function" && matchMedia("(prefers-reduced-motion: reduce)").matches;
    const playback = replay && !reduced ? Math.min(PLAYBACK_MS / end, 1000) : 0;
    let previous = null;
    lanes.forEach((lane, row) => {
      const y = row * ROW + 4;
      root.append(svg("text", { class: "drona-sim__lane-label", x: LEFT - 6, y: y + 13, "text-anchor": "end" }, lane.label));
      if (lane.task) {
        // The task's life (a thin line from created to done) and its awaits (pale spans behind the requests).
        const task = lane.task;
        const done = task.done === null || task.done === undefined ? end : task.done;
        root.append(svg("line", { class: "drona-sim__life", x1: LEFT + task.created * scale, x2: LEFT + done * scale,
          y1: y + 7, y2: y + 7 }));
        for (const [from, to] of task.awaits) {
          const until = to === null ? done : to;
          if (until - from <= 0) continue;
          const span = svg("rect", { class: "drona-sim__await", x: LEFT + from * scale, y: y + 1,
            width: (until - from) * scale, height: ROW - 10, rx: 2 });
          span.append(svg("title", {}, `${task.name} awaiting from ${seconds(from)} to ${seconds(until)}`));
          root.append(span);
        }
      }
      for (const entry of lane.entries) {
        const group = svg("g", { class: `drona-sim__req drona-sim__req--${tone(entry)}`, "data-n": entry.n });
        const x1 = LEFT + entry.start * scale;
        const width = Math.max(2, (ending(entry) - entry.start) * scale);
        group.append(svg("rect", { class: "drona-sim__bar", x: x1, y, width, height: ROW - 8, rx: 3 }));
        if (entry.status === 429 && entry.retry_after) {
          group.append(svg("rect", { class: "drona-sim__window", x: x1 + width, y: y + 3, width: entry.retry_after * scale,
            height: ROW - 14 }));
        }
        group.append(svg("title", {}, `${entry.path} at ${seconds(entry.start)}: ${outcomeText(entry)}`));
        if (this.kind === "web-api" && previous && entry.start - previous.end > 0.0005) {
          // The client's own wait between two requests (backoff, Retry-After).
          const gap = entry.start - previous.end;
          const gx = LEFT + previous.end * scale;
          group.append(svg("line", { class: "drona-sim__wait", x1: gx, x2: x1, y1: y + 7, y2: y + 7 }),
            svg("text", { class: "drona-sim__wait-label", x: (gx + x1) / 2, y: y + 4, "text-anchor": "middle" },
              `wait ${seconds(gap)}`));
        }
        previous = entry;
        if (playback) {
          group.classList.add("drona-sim__req--pending");
          this.timers.push(setTimeout(() => group.classList.remove("drona-sim__req--pending"), entry.start * playback));
        }
        root.append(group);
      }
    });
    this.picture.replaceChildren(root);
    this.renderTable();
    this.renderTasks();
  }

  renderTasks() {
    this.taskTable.hidden = !this.tasks.length;
    if (!this.tasks.length) return;
    const rows = this.tasks.map((task) => {
      const waited = task.awaits.reduce((sum, [from, to]) => sum + ((to === null ? task.done || from : to) - from), 0);
      return el("tr", {}, el("td", { text: task.name }), el("td", { text: seconds(task.created) }),
        el("td", { text: task.done === null ? "not finished" : seconds(task.done) }),
        el("td", { text: `${task.awaits.length} (${seconds(waited)})` }));
    });
    this.taskTable.replaceChildren(
      el("caption", { text: "Tasks on the event loop" }),
      el("thead", {}, el("tr", {}, ...["Task", "Created at", "Finished at", "Awaits (time suspended)"]
        .map((text) => el("th", { scope: "col", text })))),
      el("tbody", {}, ...rows));
  }

  renderTable() {
    const head = el("tr", {}, ...["#", this.kind === "event-loop" ? "Task" : null, "Request", "Sent at", "Answered at", "Result"]
      .filter(Boolean).map((text) => el("th", { scope: "col", text })));
    const rows = this.events.map((entry) => el("tr", { "data-tone": tone(entry) },
      el("td", { text: String(entry.n + 1) }),
      this.kind === "event-loop" ? el("td", { text: entry.task || "main" }) : null,
      el("td", {}, el("code", { text: `GET ${entry.path}${entry.timeout ? ` (timeout ${entry.timeout} s)` : ""}` })),
      el("td", { text: seconds(entry.start) }),
      el("td", { text: seconds(ending(entry)) }),
      el("td", { text: outcomeText(entry) })));
    this.table.replaceChildren(
      el("caption", { text: this.kind === "event-loop" ? "Awaits, in the order they started" : "Requests, in the order they were sent" }),
      el("thead", {}, head),
      el("tbody", {}, ...(rows.length ? rows : [el("tr", {}, el("td", { colspan: "6", text: "No requests yet." }))])));
  }
}
