// The conversation with the AI tutor for signed-in learners (the server's /api/ai/*).
//
// Every turn is POST /api/ai/chat, answered as Server-Sent Events: `start` {session_id, agent, mode},
// `token` {text} (appended and re-rendered as Markdown), maybe `replace` {text, reason} (the answer
// guard replaced the reply), then `done` (the stored reply: agent, mode, citations, hint) or `error`.
// The lesson's latest conversation is restored on load, so it survives reloads; Clear deletes it.
// A turn carries a fresh client_id; a retry after a network failure reuses it (answered once).
//
// The server keeps one conversation per lesson: when a lesson has several exercises, their panels
// share it, and a turn (or Clear) in one panel shows in the others at once.
import { api, ApiError, ServerUnavailable } from "./api.js";
import { readEventStream } from "./sse.js";
import { signinUrl } from "./format.js";
import { newSubmissionId as newClientId } from "./grading.js";
import { TutorBubble, escapeText, learnerBubble } from "./tutor-bubbles.js";
import { button } from "./ui.js";

/** What a quick action says in the learner's name (the server's words for it too). */
export const QUICK_ACTIONS = { hint: "Hint, please.", explain: "Can you explain?", example: "Show me an example." };

const lessons = new EventTarget(); // "turn" and "clear" of any panel, for the other panels of its lesson

class StreamError extends Error {
  constructor(error) {
    super((error && error.message) || "The tutor could not answer.");
    this.code = (error && error.code) || "error";
  }
}

/** The panel header's words for GET /api/ai/status. */
export function modeText(status) {
  if (status && status.mode === "llm") {
    const models = status.models || {};
    const model = models.tutor || Object.values(models)[0];
    return model ? `AI tutor (${model})` : "AI tutor";
  }
  return "Offline tutor (built-in teaching policy)";
}

export class TutorChat {
  /** panel: the Tutor; context: {lessonId, exerciseId, getCode()}. */
  constructor(panel, context) {
    this.panel = panel;
    this.context = context;
    this.sessionId = null;
    this.busy = false;
    this.errorNote = null;
    this.onTurn = (event) => this.mirrorTurn(event.detail);
    this.onClear = (event) => this.mirrorClear(event.detail);
    lessons.addEventListener("turn", this.onTurn);
    lessons.addEventListener("clear", this.onClear);
  }

  dispose() {
    lessons.removeEventListener("turn", this.onTurn);
    lessons.removeEventListener("clear", this.onClear);
  }

  sameLesson(detail) {
    return detail.source !== this && !!this.context.lessonId && detail.lessonId === this.context.lessonId;
  }

  /** Another panel of this lesson finished a turn: show it here too. */
  mirrorTurn(detail) {
    if (!this.sameLesson(detail)) return;
    this.sessionId = detail.sessionId;
    this.panel.append(learnerBubble(detail.message));
    const bubble = new TutorBubble({ typing: false });
    bubble.finish(detail.reply);
    this.panel.append(bubble.element);
  }

  mirrorClear(detail) {
    if (!this.sameLesson(detail)) return;
    this.sessionId = null;
    this.panel.cleared();
  }

  /** GET /api/ai/status; throws ServerUnavailable when the server has no tutor. */
  async status() {
    return api.get("ai/status");
  }

  /** The lesson's latest conversation, shown in the log; returns how many messages it had. */
  async restore() {
    if (!this.context.lessonId) return 0;
    const sessions = await api.get(`ai/sessions?lesson_id=${encodeURIComponent(this.context.lessonId)}`);
    if (!Array.isArray(sessions) || !sessions.length) return 0;
    const detail = await api.get(`ai/sessions/${encodeURIComponent(sessions[0].id)}`);
    this.sessionId = detail.id;
    const messages = detail.messages || [];
    for (const message of messages) {
      if (message.role === "learner") {
        this.panel.append(learnerBubble(message.content));
      } else {
        const bubble = new TutorBubble({ typing: false });
        bubble.finish(message);
        this.panel.append(bubble.element);
      }
    }
    return messages.length;
  }

  /** A quick action (hint, explain, example) or typed text (intent chat). */
  send(intent, typed = "") {
    if (this.busy) return false;
    const message = intent === "chat" ? typed.trim() : QUICK_ACTIONS[intent];
    if (!message) return false;
    this.run({ intent, message, typed: intent === "chat", clientId: newClientId() });
    return true;
  }

  setBusy(busy) {
    this.busy = busy;
    this.panel.setBusy(busy);
  }

  clearError() {
    if (this.errorNote) this.errorNote.remove();
    this.errorNote = null;
  }

  async run(turn, { sessionRetried = false } = {}) {
    this.clearError();
    this.setBusy(true);
    const learner = learnerBubble(turn.message);
    const reply = new TutorBubble();
    this.panel.append(learner);
    this.panel.append(reply.element);
    const code = this.context.getCode();
    const body = {
      message: turn.message,
      intent: turn.intent,
      client_id: turn.clientId,
      lesson_id: this.context.lessonId || null,
      exercise_id: this.context.exerciseId || null,
      code: code ? code.slice(0, 50_000) : null,
      session_id: this.sessionId,
    };
    let done = null;
    let handedOver = false; // to a second try of the same turn
    try {
      const response = await api.stream("ai/chat", body);
      await readEventStream(response, (type, data) => {
        if (type === "start") {
          if (data.session_id) this.sessionId = data.session_id;
          reply.meta(data.agent, data.mode);
        } else if (type === "token") {
          reply.append(data.text);
          this.panel.scroll();
        } else if (type === "replace") {
          reply.replace(data.text, data.reason);
        } else if (type === "done") {
          done = data;
        } else if (type === "error") {
          throw new StreamError(data.error);
        }
      });
      if (!done) throw new ServerUnavailable("the reply stopped before it was complete");
      if (done.session_id) this.sessionId = done.session_id;
      reply.finish(done);
      this.panel.scroll();
      lessons.dispatchEvent(new CustomEvent("turn", {
        detail: { source: this, lessonId: this.context.lessonId, sessionId: this.sessionId, message: turn.message,
          reply: done },
      }));
    } catch (err) {
      learner.remove();
      reply.element.remove();
      if (err instanceof ApiError && err.status === 404 && this.sessionId && !sessionRetried) {
        // The conversation was deleted elsewhere: start a new one with the same turn.
        this.sessionId = null;
        handedOver = true;
        this.run(turn, { sessionRetried: true });
        return;
      }
      this.failed(turn, err);
    } finally {
      if (!handedOver) this.setBusy(false);
    }
  }

  /** Say what went wrong, keep the learner's words (back in the input) and, when it helps, offer Retry. */
  failed(turn, err) {
    if (turn.typed) this.panel.restoreInput(turn.message);
    let html;
    let retry = false;
    if (err instanceof ApiError && err.status === 429) {
      const wait = err.retryAfter ? `in ${Math.ceil(err.retryAfter)} s` : "in a minute";
      html = `You've asked a lot in the last minute; try again ${wait}.`;
    } else if (err instanceof ApiError && err.status === 401) {
      html = "Your session has ended. <a data-signin>Sign in</a> to keep talking with the tutor.";
    } else if (err instanceof ApiError) {
      html = escapeText(err.message || "The tutor could not answer that.");
    } else {
      // No answer, a broken stream, or the server failed after it began: the same turn can be sent again.
      const why = err instanceof StreamError ? err.message : "The tutor could not be reached.";
      html = `${escapeText(why)} Your message is kept: try again.`;
      retry = true;
    }
    const note = this.panel.say(html, { tone: "gate" });
    if (err instanceof ApiError) note.dataset.error = String(err.status);
    else note.dataset.error = err instanceof StreamError ? "stream" : "network";
    const signin = note.querySelector("a[data-signin]");
    if (signin) signin.href = signinUrl();
    if (retry) {
      const again = button("Retry", {
        kind: "chip",
        onClick: () => {
          if (this.busy) return;
          if (turn.typed) this.panel.takeInput(turn.message);
          this.run(turn); // the same client_id: the server answers a turn once
        },
      });
      note.querySelector(".drona-msg__body").append(" ", again);
    }
    this.errorNote = note;
  }

  /** Delete the conversation on the server and empty the log. */
  async clear() {
    if (this.busy) return false;
    if (this.sessionId) {
      try {
        await api.delete(`ai/sessions/${encodeURIComponent(this.sessionId)}`);
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 404)) {
          this.clearError();
          this.errorNote = this.panel.say(
            `The conversation could not be deleted (${escapeText(err.message || "no connection")}). Try again.`,
            { tone: "gate" },
          );
          return false;
        }
      }
    }
    this.sessionId = null;
    this.errorNote = null;
    lessons.dispatchEvent(new CustomEvent("clear", { detail: { source: this, lessonId: this.context.lessonId } }));
    return true;
  }
}
