// A tiny, safe Markdown renderer for texts from the API (skill-check prompts, the tutor's replies):
// paragraphs, fenced code, `code`, **strong**, *emphasis*, [links](url), "- " and "1. " lists and
// "#" headings (shown as strong paragraphs). Everything else is escaped text: no raw HTML passes.
//
// Links open only site-absolute paths ("/python-developer/…/", resolved under the site's root, as
// the API gives lesson URLs), relative paths, #anchors and http(s) URLs; any other link
// (javascript:, data:, …) stays text.
import { siteUrl } from "./format.js";

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

const LINK = /\[([^\]\n]+)\]\(([^)\s]+)\)/g;

/** The href for a Markdown link target, or null when it is not one we open. */
export function safeHref(target) {
  const url = String(target || "").trim();
  if (url.startsWith("/") && !url.startsWith("//")) return siteUrl(url);
  if (/^https?:\/\//i.test(url)) return url;
  if (url.startsWith("#")) return url;
  if (!/^[a-z][a-z0-9+.-]*:/i.test(url) && !url.startsWith("//")) return url; // relative path
  return null;
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

function inline(source) {
  const parts = String(source).split("`");
  return parts
    .map((part, i) => {
      if (i % 2 === 1 && i < parts.length - 1) return `<code>${escapeHtml(part)}</code>`;
      return text(i % 2 === 1 ? "`" + part : part); // an unmatched tick stays a tick
    })
    .join("");
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
