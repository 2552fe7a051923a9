// A tiny, safe Markdown renderer for short texts from the API (skill-check prompts): paragraphs,
// fenced code, `code`, **strong** and *emphasis*. Everything else is escaped text.

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function inline(text) {
  const parts = String(text).split("`");
  return parts
    .map((part, i) => {
      if (i % 2 === 1 && i < parts.length - 1) return `<code>${escapeHtml(part)}</code>`;
      const raw = i % 2 === 1 ? "`" + part : part; // an unmatched tick stays a tick
      return escapeHtml(raw)
        .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
        .replace(/(^|[^*])\*([^*\s][^*]*)\*/g, "$1<em>$2</em>");
    })
    .join("");
}

/** Markdown → HTML (a small, escaped subset). */
export function renderMarkdown(source) {
  const out = [];
  const lines = String(source || "").replace(/\r\n?/g, "\n").split("\n");
  let para = [];
  const flush = () => {
    if (para.length) out.push(`<p>${inline(para.join(" "))}</p>`);
    para = [];
  };
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i];
    const fence = /^\s*(```|~~~)/.exec(line);
    if (fence) {
      flush();
      const code = [];
      for (i += 1; i < lines.length && !lines[i].trim().startsWith(fence[1]); i += 1) code.push(lines[i]);
      out.push(`<pre><code>${escapeHtml(code.join("\n"))}</code></pre>`);
    } else if (!line.trim()) {
      flush();
    } else {
      para.push(line.trim());
    }
  }
  flush();
  return out.join("");
}
