// Charts drawn by the site itself (inline SVG, no library and no CDN): line, bar, horizontal bar, and the
// skill map (a grid of tiles). Each chart comes from the analytics API's contract (sidecar/analytics):
// {id, title, kind, x, series: [{key, label}], columns: [{key, label}], rows: [{key: value}]}.
// A chart is an image with a name and a one-line summary (role="img"); its values are in the table that
// chartTable() builds from the same rows, which the dashboards offer beside each chart.
import { el } from "./ui.js";
import { formatDate, formatDay } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 640;
const SERIES_STYLES = 6; // .drona-chart__s0 … s5 in charts.css
const NUMBER = new Intl.NumberFormat("en", { maximumFractionDigits: 2 });
const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T/;

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c !== null && c !== undefined) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** A value as a person reads it: numbers rounded, ISO days and times as dates, nothing as "—". */
export function formatCell(value) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "number") return Number.isFinite(value) ? NUMBER.format(value) : "—";
  if (typeof value === "boolean") return value ? "yes" : "no";
  const text = String(value);
  if (ISO_DAY.test(text)) return formatDay(text, { year: "numeric", month: "short", day: "numeric" });
  if (ISO_TIME.test(text)) return formatDate(text) || text;
  return text;
}

/** A category on an axis: shorter than in the table (a day without its year). */
function axisLabel(value) {
  const text = String(value == null ? "" : value);
  if (ISO_DAY.test(text)) return formatDay(text);
  if (ISO_TIME.test(text)) return formatDay(text.slice(0, 10));
  return formatCell(value);
}

function numeric(value) {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** The top of the value axis and its step: 1, 2, 2.5 or 5 times a power of ten, about four steps. */
export function niceScale(max) {
  if (!(max > 0)) return { top: 1, step: 0.25 };
  const rough = max / 4;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= rough) || rough;
  return { top: Math.ceil(max / step - 1e-9) * step, step };
}

function valueRange(chart) {
  let max = 0;
  for (const row of chart.rows) {
    for (const s of chart.series) {
      const v = numeric(row[s.key]);
      if (v !== null && v > max) max = v;
    }
  }
  return niceScale(max);
}

function shorten(text, max) {
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

function seriesClass(i) {
  return `drona-chart__s${i % SERIES_STYLES}`;
}

function legend(chart) {
  if (chart.series.length < 2) return null;
  return el("ul", { class: "drona-chart__legend" }, ...chart.series.map((s, i) => el("li", {},
    el("span", { class: `drona-chart__swatch ${seriesClass(i)}`, "aria-hidden": "true" }), s.label)));
}

/** Horizontal grid lines with their values, for a plot from y0 (value 0) up to y1 (the top). */
function valueAxis(group, { top, step }, { left, right, y0, y1 }) {
  for (let v = 0; v <= top + step / 2; v += step) {
    const y = y0 - ((y0 - y1) * v) / top;
    group.append(svg("line", { class: "drona-chart__grid", x1: left, x2: right, y1: y, y2: y }));
    group.append(svg("text", { class: "drona-chart__tick", x: left - 6, y: y + 4, "text-anchor": "end" },
      NUMBER.format(v)));
  }
}

function categoryLabels(group, labels, xOf, y) {
  const every = Math.max(1, Math.ceil(labels.length / 8));
  labels.forEach((label, i) => {
    if (i % every !== 0 && i !== labels.length - 1) return;
    group.append(svg("text", { class: "drona-chart__tick", x: xOf(i), y, "text-anchor": "middle" },
      shorten(label, 14)));
  });
}

function frame(chart, height, summary) {
  return svg("svg", { class: "drona-chart__svg", viewBox: `0 0 ${WIDTH} ${height}`, role: "img",
    "aria-label": `${chart.title}. ${summary}`, focusable: "false" });
}

function summaryOf(chart, what) {
  const names = chart.series.map((s) => s.label).join(", ");
  return `${what} of ${names}, ${chart.rows.length} ${chart.rows.length === 1 ? "entry" : "entries"}. `
    + "The table view lists every value.";
}

// A chart with categories along x and values up y (line and bar): its frame, value axis and labels.
// `place(box, n)` gives the x of the i-th category.
function columnFrame(chart, kind, place) {
  const height = 260;
  const box = { left: 48, right: WIDTH - 12, y0: height - 34, y1: 12 };
  const scale = valueRange(chart);
  const labels = chart.rows.map((r) => axisLabel(r[chart.x]));
  const xOf = place(box, chart.rows.length);
  const root = frame(chart, height, summaryOf(chart, kind));
  const axes = svg("g", { "aria-hidden": "true" });
  valueAxis(axes, scale, box);
  categoryLabels(axes, labels, xOf, height - 12);
  root.append(axes);
  return { box, scale, labels, xOf, root };
}

function lineChart(chart) {
  const { box, scale, labels, xOf, root } = columnFrame(chart, "Line chart", (b, n) => (i) => (n === 1
    ? (b.left + b.right) / 2 : b.left + ((b.right - b.left) * i) / (n - 1)));
  const yOf = (v) => box.y0 - ((box.y0 - box.y1) * v) / scale.top;
  chart.series.forEach((s, si) => {
    const group = svg("g", { class: seriesClass(si), "data-series": s.key });
    let d = "";
    let pen = false;
    chart.rows.forEach((row, i) => {
      const v = numeric(row[s.key]);
      if (v === null) {
        pen = false;
        return;
      }
      d += `${pen ? "L" : "M"}${xOf(i).toFixed(1)} ${yOf(v).toFixed(1)} `;
      pen = true;
      group.append(svg("circle", { class: "drona-chart__dot", cx: xOf(i).toFixed(1), cy: yOf(v).toFixed(1), r: 3.5 },
        svg("title", {}, `${labels[i]}: ${s.label} ${formatCell(v)}`)));
    });
    if (d) group.prepend(svg("path", { class: "drona-chart__line", d: d.trim() }));
    root.append(group);
  });
  return root;
}

function barChart(chart) {
  const slotOf = (b, n) => (b.right - b.left) / Math.max(1, n);
  const { box, scale, labels, xOf, root } = columnFrame(chart, "Bar chart",
    (b, n) => (i) => b.left + slotOf(b, n) * (i + 0.5));
  const barWidth = Math.min(48, (slotOf(box, chart.rows.length) * 0.8) / chart.series.length);
  chart.series.forEach((s, si) => {
    const group = svg("g", { class: seriesClass(si), "data-series": s.key });
    chart.rows.forEach((row, i) => {
      const v = numeric(row[s.key]);
      if (v === null) return;
      const h = ((box.y0 - box.y1) * v) / scale.top;
      const x = xOf(i) - (barWidth * chart.series.length) / 2 + barWidth * si;
      group.append(svg("rect", { class: "drona-chart__bar", x: x.toFixed(1), y: (box.y0 - h).toFixed(1),
        width: Math.max(1, barWidth - 2).toFixed(1), height: Math.max(0, h).toFixed(1) },
      svg("title", {}, `${labels[i]}: ${s.label} ${formatCell(v)}`)));
    });
    root.append(group);
  });
  return root;
}

function hbarChart(chart) {
  const rowHeight = 14 + 12 * chart.series.length;
  const labelWidth = 170;
  const height = 12 + rowHeight * Math.max(1, chart.rows.length) + 26;
  const box = { left: labelWidth, right: WIDTH - 48, top: 12, bottom: height - 26 };
  const scale = valueRange(chart);
  const xOf = (v) => box.left + ((box.right - box.left) * v) / scale.top;
  const labels = chart.rows.map((r) => formatCell(r[chart.x]));
  const root = frame(chart, height, summaryOf(chart, "Horizontal bar chart"));
  const axes = svg("g", { "aria-hidden": "true" });
  for (let v = 0; v <= scale.top + scale.step / 2; v += scale.step) {
    axes.append(svg("line", { class: "drona-chart__grid", x1: xOf(v), x2: xOf(v), y1: box.top, y2: box.bottom }));
    axes.append(svg("text", { class: "drona-chart__tick", x: xOf(v), y: height - 8, "text-anchor": "middle" },
      NUMBER.format(v)));
  }
  labels.forEach((label, i) => {
    axes.append(svg("text", { class: "drona-chart__label", x: box.left - 8, y: box.top + rowHeight * i + rowHeight / 2 + 4,
      "text-anchor": "end" }, shorten(label, 24)));
  });
  root.append(axes);
  chart.series.forEach((s, si) => {
    const group = svg("g", { class: seriesClass(si), "data-series": s.key });
    chart.rows.forEach((row, i) => {
      const v = numeric(row[s.key]);
      if (v === null) return;
      const y = box.top + rowHeight * i + 7 + 12 * si;
      group.append(svg("rect", { class: "drona-chart__bar", x: box.left, y, width: Math.max(1, xOf(v) - box.left).toFixed(1),
        height: 10 }, svg("title", {}, `${labels[i]}: ${s.label} ${formatCell(v)}`)));
      group.append(svg("text", { class: "drona-chart__value", x: (xOf(v) + 4).toFixed(1), y: y + 9, "aria-hidden": "true" },
        formatCell(v)));
    });
    root.append(group);
  });
  return root;
}

const STATUS_NAMES = { mastered: "Mastered", learning: "Learning", fading: "Fading: time to review",
  wheel_spinning: "Stuck: many attempts without mastery", new: "New", strong: "Strong" };
const LEVELS = [[0.95, "mastered"], [0.6, "strong"], [0.3, "learning"], [0, "new"]];

/** The skill map: one tile per skill, its mastery as a number, a bar and a word (never colour alone). */
function skillMap(chart) {
  const tiles = chart.rows.map((row) => {
    const mastery = numeric(row.mastery);
    const risk = numeric(row.decay_risk);
    const pct = mastery === null ? null : Math.round(Math.max(0, Math.min(1, mastery)) * 100);
    const level = mastery === null ? "new" : LEVELS.find(([at]) => mastery >= at)[1];
    const status = row.status ? String(row.status) : level;
    return el("li", { class: `drona-skillmap__tile is-${level}`, "data-drona-skill": row.skill, "data-status": status },
      el("span", { class: "drona-skillmap__label" }, row.label || row.skill),
      el("span", { class: "drona-skillmap__value", "data-drona-mastery": pct === null ? "" : String(pct) },
        pct === null ? "Not started" : `${pct}% mastery`),
      el("span", { class: "drona-skillmap__bar", "aria-hidden": "true" },
        el("span", { class: "drona-skillmap__fill", style: `width: ${pct || 0}%` })),
      el("span", { class: "drona-skillmap__status" }, STATUS_NAMES[status] || status.replace(/_/g, " ")),
      risk === null ? null : el("span", { class: "drona-skillmap__risk" }, `Forgetting risk ${Math.round(risk * 100)}%`));
  });
  return el("ul", { class: "drona-skillmap", "aria-label": chart.title }, ...tiles);
}

const DRAW = { line: lineChart, bar: barChart, hbar: hbarChart };

/** The chart as an element: an SVG image with its legend, or the skill map's tiles. */
export function drawChart(chart) {
  if (chart.kind === "skillmap") return skillMap(chart);
  const draw = DRAW[chart.kind] || barChart;
  return el("div", { class: `drona-chart__plot drona-chart__plot--${chart.kind}` }, draw(chart), legend(chart));
}

/** The chart's rows as an accessible table: a caption, column headers, the x column as row headers (each a
 * link where linkOf(row) gives an address). */
export function chartTable(chart, { linkOf } = {}) {
  const head = chart.columns.map((c) => el("th", { scope: "col" }, c.label));
  const rowHead = (row, c) => {
    const href = linkOf ? linkOf(row) : null;
    return el("th", { scope: "row" }, href ? el("a", { href }, formatCell(row[c.key])) : formatCell(row[c.key]));
  };
  const rows = chart.rows.map((row) => el("tr", {}, ...chart.columns.map((c) => (c.key === chart.x
    ? rowHead(row, c) : el("td", {}, formatCell(row[c.key]))))));
  return el("div", { class: "drona-chart__scroll", tabindex: "0", role: "region", "aria-label": `${chart.title}: table` },
    el("table", {}, // no class: Material styles it as a Markdown table
      el("caption", { class: "drona-visually-hidden" }, chart.title),
      el("thead", {}, el("tr", {}, ...head)),
      el("tbody", {}, ...rows)));
}
