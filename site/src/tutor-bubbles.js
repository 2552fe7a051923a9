// The messages in the tutor panel's log. Learner text is always text; tutor replies are Markdown
// rendered by markdown.js (escaped, links limited to the site and http(s)); authored notes are the
// compiler's HTML from the page.
import { el } from "./ui.js";
import { renderMarkdown, safeHref } from "./markdown.js";

export function escapeText(text) {
  const div = document.createElement("div");
  div.textContent = text;
  return div.innerHTML;
}

// What a learner sees above a reply: the plain role of a helper that is not the ordinary tutor, and
// nothing for the ordinary tutor. Teaching modes (Socratic, Adaptive, Scaffolded) are the policy's
// business, not the learner's: they stay in data-mode for tests and styling, never in the text.
const ROLES = {
  reviewer: "Code review",
  quiz_generator: "Practice question",
  mentor: "Mentor",
  project_guide: "Project guide",
};

/** "" for the ordinary tutor; "Code review", "Practice question", "Mentor", "Project guide",
 * "Challenge helper" (the assessor in a timed challenge; out of one it checks a practice answer). */
export function agentLabel(agent, mode) {
  if (!agent || agent === "tutor") return "";
  if (agent === "assessor") return mode === "minimal" ? "Challenge helper" : "Practice question";
  return ROLES[agent] || agent.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
}

/** "Hint 2 of 4", "Hint 4 of 4 — the answer"; "" when the reply is not a hint rung. */
export function hintLabel(hint) {
  if (!hint || !hint.rung) return "";
  const total = hint.total || hint.rung;
  return hint.bottom_out ? `Hint ${hint.rung} of ${total} — the answer` : `Hint ${hint.rung} of ${total}`;
}

// A hint reply starts with its label in bold ("**Hint 2 of 4**"); the bubble shows it as its label.
function withoutHintLabel(text, hint) {
  if (!hint) return text;
  return String(text || "").replace(/^\s*\*\*Hint \d+ of \d+[^*\n]*\*\*[ \t]*(?:\n+|$)/, "");
}

/** A note or authored text: {from: tutor|learner, label, tone}; html is trusted (escape first). */
export function noteBubble(html, { from = "tutor", label = "", tone = "" } = {}) {
  return el(
    "div",
    { class: `drona-msg drona-msg--${from}`, dataset: { tone } },
    el("span", { class: "drona-visually-hidden", text: from === "tutor" ? "Tutor: " : "You: " }),
    label ? el("p", { class: "drona-msg__label", text: label }) : null,
    el("div", { class: "drona-msg__body", html }),
  );
}

/** The learner's turn in a conversation: plain text, never HTML. */
export function learnerBubble(text) {
  return el(
    "div",
    { class: "drona-msg drona-msg--learner", dataset: { role: "learner" } },
    el("span", { class: "drona-visually-hidden", text: "You: " }),
    el("div", { class: "drona-msg__body drona-msg__text", text }),
  );
}

/** A tutor reply: typing indicator, streamed Markdown, then role (not for the ordinary tutor), hint label
 * and sources. */
export class TutorBubble {
  constructor({ typing = true } = {}) {
    this.text = "";
    this.agent = el("p", { class: "drona-msg__agent", hidden: true });
    this.label = el("p", { class: "drona-msg__label", hidden: true });
    this.body = el("div", { class: "drona-msg__body" });
    this.note = el("p", { class: "drona-msg__note", hidden: true });
    this.sources = el("div", { class: "drona-msg__sources", hidden: true });
    this.element = el(
      "div",
      { class: "drona-msg drona-msg--tutor", dataset: { role: "tutor", state: typing ? "typing" : "done" } },
      el("span", { class: "drona-visually-hidden", text: "Tutor: " }),
      this.agent,
      this.label,
      this.body,
      this.note,
      this.sources,
    );
    if (typing) {
      this.body.append(
        el(
          "span",
          { class: "drona-typing" },
          el("span", { class: "drona-typing__dot", "aria-hidden": "true" }),
          el("span", { class: "drona-typing__dot", "aria-hidden": "true" }),
          el("span", { class: "drona-typing__dot", "aria-hidden": "true" }),
          el("span", { class: "drona-visually-hidden", text: "The tutor is typing…" }),
        ),
      );
    }
  }

  meta(agent, mode) {
    if (agent) this.element.dataset.agent = agent;
    if (mode) this.element.dataset.mode = mode;
    const label = agentLabel(agent, mode);
    this.agent.textContent = label;
    this.agent.hidden = !label;
  }

  render(text) {
    this.body.innerHTML = renderMarkdown(text);
  }

  /** A streamed piece of the reply. */
  append(piece) {
    this.text += piece || "";
    this.element.dataset.state = "streaming";
    this.render(this.text);
  }

  /** The guard replaced what was streamed. */
  replace(text, reason) {
    this.text = text || "";
    this.render(this.text);
    this.note.textContent = reason || "";
    this.note.hidden = !reason;
    this.element.dataset.guarded = "true";
  }

  /** The stored reply (a `done` event or a message of a restored conversation). */
  finish(reply) {
    this.meta(reply.agent, reply.mode);
    if (reply.message_id || reply.id) this.element.dataset.messageId = reply.message_id || reply.id;
    const label = hintLabel(reply.hint);
    this.label.textContent = label;
    this.label.hidden = !label;
    if (label) this.element.dataset.tone = reply.hint.bottom_out ? "bottom-out" : "hint";
    if (reply.guarded) this.element.dataset.guarded = "true";
    this.text = reply.text !== undefined ? reply.text : reply.content || "";
    this.render(withoutHintLabel(this.text, reply.hint));
    this.showSources(reply.citations || []);
    this.element.dataset.state = "done";
  }

  showSources(citations) {
    const links = citations
      .map((c) => ({ href: safeHref(c.url), title: c.title || c.url }))
      .filter((c) => c.href)
      .map((c) => el("li", {}, el("a", { href: c.href, text: c.title })));
    this.sources.replaceChildren();
    if (!links.length) {
      this.sources.hidden = true;
      return;
    }
    this.sources.append(
      el("span", { class: "drona-msg__sources-title", text: "Sources" }),
      el("ul", { class: "drona-msg__sources-list" }, links),
    );
    this.sources.hidden = false;
  }
}
