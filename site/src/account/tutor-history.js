// Tutor history: the learner's conversations with the AI tutor (GET /api/ai/sessions), newest first.
// Each one opens (a disclosure) to show its messages as the tutor panel shows them (learner text as
// text, tutor replies as escaped Markdown with their agent label and sources); Delete removes one
// conversation, "Delete all my tutor history" every one (DELETE /api/ai/sessions[/{id}]), after a
// confirm. Focus goes to the next conversation (or the heading) after a delete, and a role=status
// line says what happened.
import { el, uniqueId } from "../ui.js";
import { icon } from "../icons.js";
import { api, ApiError, ServerUnavailable } from "../api.js";
import { formatDateTime, siteUrl } from "../format.js";
import { learnerBubble, TutorBubble } from "../tutor-bubbles.js";
import { focusHeading, loading, needsServer, needsSignIn, requireUser, showError } from "./forms.js";

const WHAT = "see your tutor history";

function lessonsById(catalog) {
  const lessons = new Map();
  for (const track of catalog.tracks || []) {
    for (const course of track.courses || []) {
      for (const module of course.modules || []) {
        for (const lesson of module.lessons || []) lessons.set(lesson.id, lesson);
      }
    }
  }
  return lessons;
}

function messageNode(message) {
  if (message.role === "learner") {
    const node = learnerBubble(message.content || "");
    node.dataset.messageId = message.id;
    return node;
  }
  const bubble = new TutorBubble({ typing: false });
  bubble.finish(message);
  return bubble.element;
}

class TutorHistory {
  constructor(root) {
    this.root = root;
    this.items = new Map(); // session id -> {session, node, toggle, panel, loaded}
    this.load();
  }

  dispose() {
    this.root = null;
  }

  async load() {
    const root = this.root;
    loading(root, "Loading your tutor history…");
    const user = await requireUser(root, WHAT);
    if (!user) return;
    let sessions;
    let catalog;
    try {
      [sessions, catalog] = await Promise.all([
        api.get("ai/sessions"),
        api.get("catalog").catch(() => ({ tracks: [] })),
      ]);
    } catch (err) {
      this.fail(err);
      return;
    }
    if (!this.root) return;
    this.lessons = lessonsById(catalog);
    this.render(Array.isArray(sessions) ? sessions : []);
  }

  /** An error outside any one action: the whole app says so. */
  fail(err) {
    if (!this.root) return;
    if (err instanceof ServerUnavailable) {
      needsServer(this.root);
    } else if (err instanceof ApiError && err.status === 401) {
      needsSignIn(this.root, WHAT);
    } else {
      this.root.replaceChildren(el("p", { class: "drona-notice drona-notice--error", role: "alert" }, err.message));
      this.root.dataset.state = "error";
    }
  }

  render(sessions) {
    const headingId = uniqueId("drona-history-h");
    this.heading = el("h2", { id: headingId }, "Your conversations");
    this.status = el("p", { class: "drona-history__status", role: "status", "aria-live": "polite",
      "data-drona-history-status": "" });
    this.summary = el("div", { class: "drona-form__summary", role: "alert", tabindex: "-1", hidden: true });
    this.list = el("ul", { class: "drona-history", "aria-labelledby": headingId });
    this.empty = el("p", { class: "drona-history__empty", "data-drona-history-empty": "", hidden: true },
      "You have no conversations with the tutor. When you ask the tutor for help beside an exercise, the " +
      "conversation is kept here so you can read it again.");
    this.clearAll = el("button", { type: "button", class: "drona-btn drona-btn--danger",
      "data-drona-history-delete-all": "" }, "Delete all my tutor history");
    this.clearAll.addEventListener("click", () => this.deleteAll());
    const dangerId = uniqueId("drona-history-all");
    this.danger = el("section", { class: "drona-card-section drona-history__danger", "aria-labelledby": dangerId },
      el("h2", { id: dangerId }, "Delete everything"),
      el("p", {}, "This deletes every conversation you have had with the tutor, on every lesson. " +
        "It cannot be undone. Your progress and XP stay as they are."),
      el("div", { class: "drona-form__actions" }, this.clearAll));
    for (const session of sessions) this.list.append(this.item(session));
    this.root.replaceChildren(
      el("p", { class: "drona-history__intro" },
        "Your conversations with the tutor, most recent first. Open one to read it again, or delete what you " +
        "no longer want kept."),
      this.summary,
      this.status,
      el("section", { class: "drona-card-section", "aria-labelledby": headingId }, this.heading, this.list, this.empty),
      this.danger,
    );
    this.updateEmpty();
    this.root.dataset.state = "ready";
  }

  item(session) {
    const panelId = uniqueId("drona-history-msgs");
    const title = session.title || "Conversation with the tutor";
    const toggle = el("button", { type: "button", class: "drona-history__toggle", "aria-expanded": "false",
      "aria-controls": panelId }, icon("chevron-down"), el("span", {}, title));
    const lesson = session.lesson_id ? this.lessons.get(session.lesson_id) : null;
    const updated = session.updated_at || session.created_at;
    const meta = el("p", { class: "drona-history__meta" },
      lesson && lesson.url ? el("span", {}, "Lesson: ",
        el("a", { href: siteUrl(lesson.url), "data-drona-history-lesson": "" }, lesson.title || title)) : null,
      updated ? el("span", {}, "Last updated ", el("time", { datetime: updated }, formatDateTime(updated))) : null);
    const remove = el("button", { type: "button", class: "drona-btn drona-btn--danger drona-history__delete",
      "data-drona-history-delete": "" }, "Delete",
    el("span", { class: "drona-visually-hidden" }, ` the conversation “${title}”`));
    const panel = el("div", { id: panelId, class: "drona-history__messages", hidden: true });
    const node = el("li", { class: "drona-history__item", "data-session-id": session.id },
      el("div", { class: "drona-history__head" },
        el("div", { class: "drona-history__main" },
          el("h3", { class: "drona-history__title" }, toggle),
          meta),
        remove),
      panel);
    const entry = { session, title, node, toggle, remove, panel, loaded: false };
    this.items.set(session.id, entry);
    toggle.addEventListener("click", () => this.toggle(entry));
    remove.addEventListener("click", () => this.deleteOne(entry));
    return node;
  }

  toggle(entry) {
    const open = entry.toggle.getAttribute("aria-expanded") !== "true";
    entry.toggle.setAttribute("aria-expanded", String(open));
    entry.node.classList.toggle("is-open", open);
    entry.panel.hidden = !open;
    if (open && !entry.loaded) this.loadMessages(entry);
  }

  async loadMessages(entry) {
    entry.loaded = true;
    entry.panel.dataset.state = "loading";
    entry.panel.replaceChildren(el("p", { class: "drona-app__loading", role: "status" }, "Loading the conversation…"));
    let detail;
    try {
      detail = await api.get(`ai/sessions/${encodeURIComponent(entry.session.id)}`);
    } catch (err) {
      entry.loaded = false; // opening it again tries again
      entry.panel.dataset.state = "error";
      let message = err.message;
      if (err instanceof ServerUnavailable) message = "The Dronacharya server did not answer. Close and open the " +
        "conversation to try again.";
      else if (err instanceof ApiError && err.status === 404) message = "This conversation no longer exists.";
      else if (err instanceof ApiError && err.status === 401) return this.fail(err);
      entry.panel.replaceChildren(el("p", { class: "drona-notice drona-notice--error", role: "alert" }, message));
      return;
    }
    const messages = detail.messages || [];
    entry.panel.replaceChildren(messages.length
      ? el("div", { class: "drona-history__log", role: "log", "aria-label": `Messages of “${entry.title}”` },
        ...messages.map(messageNode))
      : el("p", { class: "drona-history__none" }, "This conversation has no messages."));
    entry.panel.dataset.state = "ready";
  }

  async deleteOne(entry) {
    if (entry.remove.getAttribute("aria-disabled") === "true") return;
    // eslint-disable-next-line no-alert -- a plain confirmation before an action that cannot be undone
    if (!window.confirm(`Delete the conversation “${entry.title}”? It cannot be undone.`)) return;
    this.clearMessages();
    entry.remove.setAttribute("aria-disabled", "true");
    entry.node.setAttribute("aria-busy", "true");
    try {
      await api.delete(`ai/sessions/${encodeURIComponent(entry.session.id)}`);
    } catch (err) {
      // A conversation that is already gone (deleted in another tab) is what the learner wanted.
      if (!(err instanceof ApiError && err.status === 404)) {
        entry.remove.setAttribute("aria-disabled", "false");
        entry.node.removeAttribute("aria-busy");
        this.error(err);
        return;
      }
    }
    const items = Array.from(this.items.values());
    const index = items.indexOf(entry);
    const next = items[index + 1] || items[index - 1] || null;
    entry.node.remove();
    this.items.delete(entry.session.id);
    this.updateEmpty();
    this.status.textContent = `Deleted the conversation “${entry.title}”.`;
    if (next) next.toggle.focus();
    else focusHeading(this.heading);
  }

  async deleteAll() {
    if (this.clearAll.getAttribute("aria-disabled") === "true") return;
    // eslint-disable-next-line no-alert -- a plain confirmation before an action that cannot be undone
    if (!window.confirm("Delete all your conversations with the tutor? It cannot be undone.")) return;
    this.clearMessages();
    this.clearAll.setAttribute("aria-disabled", "true");
    try {
      await api.delete("ai/sessions");
    } catch (err) {
      this.clearAll.setAttribute("aria-disabled", "false");
      this.error(err);
      return;
    }
    this.clearAll.setAttribute("aria-disabled", "false");
    this.items.clear();
    this.list.replaceChildren();
    this.updateEmpty();
    this.status.textContent = "Deleted all your tutor history.";
    focusHeading(this.heading);
  }

  clearMessages() {
    this.status.textContent = "";
    this.summary.hidden = true;
    this.summary.replaceChildren();
  }

  error(err) {
    if (!this.root) return;
    if (err instanceof ApiError && err.status === 401) {
      this.fail(err);
      return;
    }
    showError(this.root, err); // the summary (role=alert) gets the message and focus
  }

  updateEmpty() {
    const none = this.items.size === 0;
    this.list.hidden = none;
    this.empty.hidden = !none;
    this.danger.hidden = none;
    this.root.dataset.count = String(this.items.size);
  }
}

export function mountTutorHistory(root) {
  return new TutorHistory(root);
}
