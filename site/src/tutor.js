// The tutor panel beside an exercise.
//
// Signed in (and with a server), every question and quick action goes to the AI tutor through
// /api/ai (tutor-chat.js): replies stream in, carry their agent, mode and sources, and the lesson's
// conversation is kept on the server (restored on load, deleted by "Clear conversation"). The
// header says which tutor answers: the offline teaching policy or a model.
//
// Signed out, the panel answers only from the notes the course authors wrote (tutor-notes.js) and
// invites the learner to sign in; the page holds only the first hint rung, so more hints need a
// sign-in. Signed in on a server without the AI tutor, the notes fetch each rung from the server. In a timed challenge the tutor gives minimal help: Hint only,
// after a warning that it cancels the no-hints bonus (the server enforces minimal help too).
import { el, button, uniqueId, setEnabled } from "./ui.js";
import { icon } from "./icons.js";
import { currentUser, isServerUnavailable } from "./session.js";
import { signinUrl } from "./format.js";
import { AuthoredNotes } from "./tutor-notes.js";
import { TutorChat, modeText } from "./tutor-chat.js";
import { noteBubble } from "./tutor-bubbles.js";

export class Tutor {
  /**
   * material: {hints: [{html, bottomOut}] (the page's: the first rung), hintCount, misconceptions: [{pattern, html}],
   *            exampleHtml,
   *            objectives: [string], getCode(), getChecks(), getLastCheck(),
   *            exerciseId, lessonId, challenge (minimal help)}
   */
  constructor(material) {
    this.m = material;
    this.challenge = !!material.challenge;
    this.bonusWarned = false;
    this.notes = new AuthoredNotes(this, material);
    this.chat = null; // set once the learner is known to be signed in
    this.busy = false;
    this.disposed = false;

    this.log = el("div", {
      class: "drona-chat__log",
      role: "log",
      "aria-live": "polite",
      "aria-label": "Tutor conversation",
      tabindex: "0",
    });
    this.hintBtn = button("Hint", { kind: "chip", iconName: "hint", onClick: () => this.action("hint") });
    this.explainBtn = button("Explain", { kind: "chip", iconName: "explain", onClick: () => this.action("explain") });
    this.exampleBtn = button("Example", { kind: "chip", iconName: "example", onClick: () => this.action("example") });
    this.clearBtn = button("Clear conversation", { kind: "link", onClick: () => this.clear() });
    this.clearBtn.hidden = true;
    const inputId = uniqueId("drona-chat-input");
    this.input = el("input", {
      id: inputId,
      class: "drona-chat__field",
      type: "text",
      autocomplete: "off",
      maxlength: "4000",
      placeholder: "Ask the tutor…",
      enterkeyhint: "send",
    });
    this.sendBtn = el(
      "button",
      { type: "submit", class: "drona-btn drona-btn--primary drona-chat__send" },
      icon("send"),
      "Send",
    );
    const form = el(
      "form",
      { class: "drona-chat__form" },
      el("label", { for: inputId, class: "drona-visually-hidden", text: "Message to the tutor" }),
      this.input,
      this.sendBtn,
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.ask();
    });
    this.modeLine = el("p", { class: "drona-tutor__mode", "aria-live": "polite" });

    this.element = el(
      "aside",
      { class: "drona-tutor", "aria-label": "Tutor", dataset: { state: "loading" } },
      el(
        "div",
        { class: "drona-tutor__head" },
        el("span", { class: "drona-tutor__avatar", "aria-hidden": "true" }, icon("tutor")),
        el("div", { class: "drona-tutor__title" }, el("span", { class: "drona-panel-title", text: "Tutor" }), this.modeLine),
        this.clearBtn,
      ),
      el("div", { class: "drona-tutor__actions", role: "group", "aria-label": "Ask for help" }, this.hintBtn, this.explainBtn, this.exampleBtn),
      this.log,
      form,
    );
    if (this.challenge) {
      this.explainBtn.hidden = true;
      this.exampleBtn.hidden = true;
      this.hintBtn.title = "A hint cancels the no-hints bonus";
    }
    if (this.challenge) this.intro(); // at once: the warning about the bonus comes first
    this.setBusy(true); // until we know who is learning
    this.ready = this.start();
  }

  async start() {
    const user = await currentUser();
    if (this.disposed) return;
    let status = null;
    if (user && !user.stale && !isServerUnavailable()) {
      const chat = new TutorChat(this, { lessonId: this.m.lessonId, exerciseId: this.m.exerciseId, getCode: this.m.getCode });
      try {
        status = await chat.status();
        this.chat = chat;
      } catch (_err) {
        chat.dispose(); // no AI tutor on this server: the authored notes
      }
    }
    if (this.disposed) {
      if (this.chat) this.chat.dispose();
      return;
    }
    if (!this.chat) {
      this.startNotes(user);
      return;
    }
    this.element.dataset.mode = status.mode === "llm" ? "llm" : "offline";
    this.modeLine.textContent = modeText(status);
    this.clearBtn.hidden = false;
    let restored = 0;
    try {
      restored = await this.chat.restore();
    } catch (_err) {
      this.say("Your earlier conversation could not be loaded. You can still ask.", { tone: "gate" });
    }
    if (this.disposed) return;
    if (!restored && !this.challenge) this.intro();
    this.element.dataset.state = "ready";
    this.setBusy(false);
  }

  startNotes(user) {
    this.element.dataset.state = "notes";
    this.notes.setLearner({ signedIn: !!user && !user.stale && !isServerUnavailable(), offline: isServerUnavailable() });
    this.modeLine.replaceChildren();
    if (!user) {
      this.modeLine.append(el("a", { href: signinUrl(), text: "Sign in" }), " to talk with the tutor");
    } else {
      this.modeLine.textContent = "The tutor needs the Dronacharya server: notes from the course only";
    }
    if (!this.challenge) this.intro();
    this.setBusy(false);
  }

  intro() {
    if (this.challenge) {
      this.say(
        "This is a timed challenge, so I help only a little: <strong>Explain</strong> and " +
          "<strong>Example</strong> are off until you are done. <strong>Hint</strong> still works, but " +
          "using any hint cancels the no-hints bonus (double XP).",
        { tone: "intro" },
      );
    } else if (this.chat) {
      this.say(
        "Stuck? Ask me anything about this exercise, or use <strong>Hint</strong> (one small step at a time), " +
          "<strong>Explain</strong> or <strong>Example</strong>. I read your code in the editor, and I won't " +
          "hand you the answer before you've had a real go.",
        { tone: "intro" },
      );
    } else {
      this.notes.intro();
    }
  }

  /** Append a note (trusted HTML) to the log; returns the message element. */
  say(html, options) {
    return this.append(noteBubble(html, options));
  }

  append(node) {
    this.log.append(node);
    this.scroll();
    return node;
  }

  scroll() {
    this.log.scrollTop = this.log.scrollHeight;
  }

  /** While a reply streams (or before the panel knows who is learning) nothing else is sent. */
  setBusy(busy) {
    this.busy = busy;
    for (const b of [this.hintBtn, this.explainBtn, this.exampleBtn, this.sendBtn, this.clearBtn]) setEnabled(b, !busy);
    this.log.setAttribute("aria-busy", busy ? "true" : "false");
    if (this.element && this.element.dataset.state !== "loading" && this.element.dataset.state !== "notes") {
      this.element.dataset.state = busy ? "streaming" : "ready";
    }
  }

  /** Put the learner's words back in the input after a failed turn (unless they typed something new). */
  restoreInput(text) {
    if (!this.input.value.trim()) this.input.value = text;
  }

  /** A retried turn takes its words out of the input again. */
  takeInput(text) {
    if (this.input.value === text) this.input.value = "";
  }

  action(intent) {
    if (this.busy) return;
    if (intent === "hint" && this.challenge && !this.bonusWarned) {
      this.bonusWarned = true;
      this.say(
        "A hint cancels your <strong>no-hints bonus</strong> for this challenge. " +
          "Press <strong>Hint</strong> again if you want one anyway.",
        { tone: "gate" },
      );
      return;
    }
    if (this.challenge && intent !== "hint") return;
    if (this.chat) {
      this.chat.send(intent);
      return;
    }
    const pending = this.notes[intent]();
    if (pending && typeof pending.then === "function") {
      // A hint from the server: nothing else is sent until it is in.
      this.setBusy(true);
      pending.finally(() => {
        if (!this.disposed) this.setBusy(false);
      });
    }
  }

  ask() {
    const text = this.input.value.trim();
    if (!text || this.busy) return;
    this.input.value = "";
    if (this.chat) this.chat.send("chat", text);
    else this.notes.ask(text);
  }

  async clear() {
    if (this.busy || !this.chat) return;
    // eslint-disable-next-line no-alert
    if (!window.confirm("Delete this conversation with the tutor? This cannot be undone.")) return;
    this.setBusy(true);
    const cleared = await this.chat.clear();
    this.setBusy(false);
    if (!cleared || this.disposed) return;
    this.cleared();
  }

  /** The conversation was deleted (here or in another panel of the lesson): an empty log. */
  cleared() {
    this.log.replaceChildren();
    this.intro();
  }

  /** Called by the exercise after a Check with a failing test. */
  afterFailedCheck() {
    // The AI tutor reads the submission on the server when asked; unasked notes would not be kept.
    if (!this.chat && this.element.dataset.state === "notes") this.notes.afterFailedCheck();
  }

  dispose() {
    this.disposed = true;
    if (this.chat) this.chat.dispose();
  }
}
