// A tiny, safe Markdown renderer for texts from the API (skill-check prompts, the tutor's replies):
// paragraphs, fenced code, `code`, **strong**, *emphasis*, [links](url), "- " and "1. " lists and
// "#" headings (shown as strong paragraphs). Everything else is escaped text: no raw HTML passes.
//
// Links open only site-absolute paths ("/python-developer/…/", resolved under the site's root, as
// the API gives lesson URLs), relative paths, #anchors, http(s) and mailto: URLs; any other link
// (javascript:, data:, vbscript:, …) stays text. The target is checked the way the browser will read
// it (see safeHref), so characters the browser strips or ignores cannot smuggle a scheme past it.
//
// Code spans follow CommonMark: a run of N backticks opens a span that only a run of exactly N
// closes, so quoted code holding backticks (the Code Reviewer uses a longer fence then) cannot
// end its span early and turn the rest into live Markdown.
import { siteUrl } from "./format.js";

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

const LINK = /\[([^\]\n]+)\]\(([^)\s]+)\)/g;

const ALLOWED_SCHEMES = new Set(["http:", "https:", "mailto:"]);
// What the URL parser does to a target before it reads the scheme (WHATWG URL): leading and
// trailing C0 controls and spaces are stripped, tabs and newlines anywhere are removed, and in
// http(s) URLs a backslash is a slash. So "\u0001javascript:…" and "java\tscript:…" are
// javascript: URLs to the browser; they must be to this check too.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const EDGE_CONTROLS = /^[\u0000-\u0020]+|[\u0000-\u0020]+$/g;
const TAB_OR_NEWLINE = /[\t\n\r]/g;

/** A target as the browser's URL parser will read it (see above). */
export function normalizeTarget(target) {
  return String(target ?? "").replace(EDGE_CONTROLS, "").replace(TAB_OR_NEWLINE, "").replace(/\\/g, "/");
}

/** The href for a Markdown link target, or null when it is not one we open. */
export function safeHref(target) {
  const url = normalizeTarget(target);
  if (!url || url.startsWith("//")) return null; // another host without a scheme: not ours to open
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(url)) return null; // controls left inside: nothing legitimate has them
  let parsed;
  try {
    // The browser's own parser decides the scheme; relative targets resolve against a base of ours.
    parsed = new URL(url, "https://drona.invalid/");
  } catch (_err) {
    return null;
  }
  if (!ALLOWED_SCHEMES.has(parsed.protocol)) return null;
  if (url.startsWith("/")) return siteUrl(url);
  return url; // http(s)/mailto URL, relative path or #anchor
}

function emphasis(escaped) {
  return escaped
    .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
    .replace(/(^|[^*\w])\*([^*\s][^*]*)\*/g, "$1<em>$2</em>");
}

function text(raw) {
  let out = "";
  let last = 0;
  for (const match of raw.matchAll(LINK)) {
    const href = safeHref(match[2]);
    if (href === null) continue;
    out += emphasis(escapeHtml(raw.slice(last, match.index)));
    out += `<a href="${escapeHtml(href)}">${emphasis(escapeHtml(match[1]))}</a>`;
    last = match.index + match[0].length;
  }
  return out + emphasis(escapeHtml(raw.slice(last)));
}

/** Code spans (CommonMark): a run of N backticks up to the next run of exactly N; text around them. */
function inline(source) {
  const raw = String(source);
  const runs = [...raw.matchAll(/`+/g)];
  const byLength = new Map(); // run length -> indices into runs, in order
  runs.forEach((run, k) => {
    if (!byLength.has(run[0].length)) byLength.set(run[0].length, []);
    byLength.get(run[0].length).push(k);
  });
  const cursor = new Map(); // per length, the first candidate not yet passed (runs are visited in order)
  let out = "";
  let last = 0;
  for (let i = 0; i < runs.length; i += 1) {
    const open = runs[i];
    const same = byLength.get(open[0].length);
    let c = cursor.get(open[0].length) || 0;
    while (c < same.length && same[c] <= i) c += 1;
    cursor.set(open[0].length, c);
    if (c >= same.length) continue; // no later run of the same length: these backticks are plain text
    const close = runs[same[c]];
    let code = raw.slice(open.index + open[0].length, close.index);
    if (code.startsWith(" ") && code.endsWith(" ") && code.trim()) code = code.slice(1, -1);
    out += text(raw.slice(last, open.index)) + `<code>${escapeHtml(code)}</code>`;
    last = close.index + close[0].length;
    i = same[c];
  }
  return out + text(raw.slice(last));
}

const BULLET = /^\s*[-*+]\s+(.*)$/;
const NUMBERED = /^\s*(\d{1,9})[.)]\s+(.*)$/;
const HEADING = /^\s*#{1,6}\s+(.*?)\s*#*\s*$/;

/** Markdown → HTML (a small, escaped subset). */
export function renderMarkdown(source) {
  const out = [];
  const lines = String(source || "").replace(/\r\n?/g, "\n").split("\n");
  let para = [];
  let list = null; // {tag, items: [[line, …]]}
  const flushPara = () => {
    if (para.length) out.push(`<p>${inline(para.join(" "))}</p>`);
    para = [];
  };
  const flushList = () => {
    if (list) {
      const start = list.tag === "ol" && list.start !== 1 ? ` start="${list.start}"` : "";
      out.push(`<${list.tag}${start}>${list.items.map((item) => `<li>${inline(item.join(" "))}</li>`).join("")}</${list.tag}>`);
    }
    list = null;
  };
  const flush = () => {
    flushPara();
    flushList();
  };
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i];
    const fence = /^\s*(```|~~~)/.exec(line);
    let m;
    if (fence) {
      flush();
      const code = [];
      for (i += 1; i < lines.length && !lines[i].trim().startsWith(fence[1]); i += 1) code.push(lines[i]);
      out.push(`<pre><code>${escapeHtml(code.join("\n"))}</code></pre>`);
    } else if (!line.trim()) {
      flush();
    } else if ((m = BULLET.exec(line)) || (m = NUMBERED.exec(line))) {
      const tag = m.length === 3 ? "ol" : "ul";
      flushPara();
      if (list && list.tag !== tag) flushList();
      if (!list) list = { tag, start: tag === "ol" ? Number(m[1]) : 1, items: [] };
      list.items.push([m[m.length - 1].trim()]);
    } else if ((m = HEADING.exec(line))) {
      flush();
      out.push(`<p><strong>${inline(m[1])}</strong></p>`);
    } else if (list && /^\s/.test(line)) {
      list.items[list.items.length - 1].push(line.trim()); // an indented continuation of the item
    } else {
      flushList();
      para.push(line.trim());
    }
  }
  flush();
  return out.join("");
}
