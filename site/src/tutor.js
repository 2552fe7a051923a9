// The tutor panel beside an exercise. In this release it answers only from what the course
// authors wrote (hints, misconceptions, example, objectives) and says so; the AI tutor comes later.
//
// Signed in, Hint asks the server for the next rung (POST /api/exercises/{id}/hints): the server
// records it (hints cancel a challenge's no-hints bonus) and holds the bottom-out rung until the
// learner has a failed submission. Signed out, the authored ladder in the page is used. In a timed
// challenge the tutor gives minimal help: Hint only (with a warning about the bonus).
import { el, button, uniqueId, setEnabled } from "./ui.js";
import { icon } from "./icons.js";
import { api, ApiError } from "./api.js";
import { currentUser } from "./session.js";
import { renderMarkdown } from "./markdown.js";

function escapeText(text) {
  const div = document.createElement("div");
  div.textContent = text;
  return div.innerHTML;
}

export class Tutor {
  /**
   * material: {hints: [{html, bottomOut}], misconceptions: [{pattern, html}], exampleHtml,
   *            objectives: [string], getCode(), getChecks(), getLastCheck(),
   *            exerciseId (server hints when signed in), challenge (minimal help)}
   */
  constructor(material) {
    this.m = material;
    this.hintsShown = 0;
    this.exampleShown = false;
    this.challenge = !!material.challenge;
    this.bonusWarned = false;
    this.hintBusy = false;
    this.serverDone = false; // the server showed the last rung

    this.log = el("div", {
      class: "drona-chat__log",
      role: "log",
      "aria-live": "polite",
      "aria-label": "Tutor conversation",
      tabindex: "0",
    });
    this.hintBtn = button("Hint", { kind: "chip", iconName: "hint", onClick: () => this.hint() });
    this.explainBtn = button("Explain", { kind: "chip", iconName: "explain", onClick: () => this.explain() });
    this.exampleBtn = button("Example", { kind: "chip", iconName: "example", onClick: () => this.example() });
    const inputId = uniqueId("drona-chat-input");
    this.input = el("input", {
      id: inputId,
      class: "drona-chat__field",
      type: "text",
      autocomplete: "off",
      placeholder: "Ask the tutor…",
      enterkeyhint: "send",
    });
    const form = el(
      "form",
      { class: "drona-chat__form" },
      el("label", { for: inputId, class: "drona-visually-hidden", text: "Message to the tutor" }),
      this.input,
      el("button", { type: "submit", class: "drona-btn drona-btn--primary drona-chat__send" }, icon("send"), "Send"),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.ask(this.input.value);
      this.input.value = "";
    });

    this.element = el(
      "aside",
      { class: "drona-tutor", "aria-label": "Tutor" },
      el(
        "div",
        { class: "drona-tutor__head" },
        el("span", { class: "drona-tutor__avatar", "aria-hidden": "true" }, icon("tutor")),
        el("span", { class: "drona-panel-title", text: "Tutor" }),
      ),
      el("div", { class: "drona-tutor__actions", role: "group", "aria-label": "Ask for help" }, this.hintBtn, this.explainBtn, this.exampleBtn),
      this.log,
      form,
    );

    if (this.challenge) {
      this.explainBtn.hidden = true;
      this.exampleBtn.hidden = true;
      this.hintBtn.title = "A hint cancels the no-hints bonus";
      this.say(
        "This is a timed challenge, so I help only a little: <strong>Explain</strong> and " +
          "<strong>Example</strong> are off until you are done. <strong>Hint</strong> still works, but " +
          "using any hint cancels the no-hints bonus (double XP).",
        { tone: "intro" },
      );
      return;
    }
    this.say(
      "Stuck? Ask for a <strong>Hint</strong> (one small step at a time), an <strong>Explain</strong>, " +
        "or an <strong>Example</strong>. In this release I answer from the notes the course authors " +
        "wrote for this exercise; the AI tutor that reads free-form questions arrives later.",
      { tone: "intro" },
    );
  }

  say(html, { from = "tutor", label = "", tone = "" } = {}) {
    const message = el(
      "div",
      { class: `drona-msg drona-msg--${from}`, dataset: { tone } },
      el("span", { class: "drona-visually-hidden", text: from === "tutor" ? "Tutor: " : "You: " }),
      label ? el("p", { class: "drona-msg__label", text: label }) : null,
      el("div", { class: "drona-msg__body", html }),
    );
    this.log.append(message);
    this.log.scrollTop = this.log.scrollHeight;
    return message;
  }

  matchingMisconception() {
    const code = this.m.getCode();
    return this.m.misconceptions.find((mc) => mc.pattern && mc.pattern.test(code)) || null;
  }

  failingTest() {
    const last = this.m.getLastCheck();
    if (!last || last.passed) return null;
    return last.results.find((r) => !r.passed) || null;
  }

  async hint() {
    if (this.hintBusy) return;
    if (this.challenge && !this.bonusWarned) {
      this.bonusWarned = true;
      this.say(
        "A hint cancels your <strong>no-hints bonus</strong> for this challenge. " +
          "Press <strong>Hint</strong> again if you want one anyway.",
        { tone: "gate" },
      );
      return;
    }
    const user = this.m.exerciseId ? await currentUser() : null;
    if (user) {
      await this.serverHint();
      return;
    }
    this.staticHint();
  }

  async serverHint() {
    this.say("Hint, please.", { from: "learner" });
    if (this.serverDone) {
      this.say("That was the last hint: it shows the whole answer. Type it in your own words, then run Check.");
      return;
    }
    this.hintBusy = true;
    setEnabled(this.hintBtn, false);
    try {
      const hint = await api.post(`exercises/${encodeURIComponent(this.m.exerciseId)}/hints`);
      const total = hint.rung + hint.remaining;
      this.hintsShown = Math.max(this.hintsShown, hint.rung);
      if (hint.remaining <= 0) this.serverDone = true;
      const label = hint.bottom_out ? `Hint ${hint.rung} of ${total} — the answer` : `Hint ${hint.rung} of ${total}`;
      this.say(renderMarkdown(hint.text), { label, tone: hint.bottom_out ? "bottom-out" : "hint" });
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        this.say(escapeText(err.message), { tone: "gate" });
      } else if (err instanceof ApiError && err.status === 404) {
        this.say("No hints are available for this exercise.");
      } else if (err instanceof ApiError && err.status === 401) {
        this.say("Your session has ended. Sign in again to get hints.", { tone: "gate" });
      } else {
        this.say(`The hint could not be loaded (${escapeText(err.message || "no connection")}). Try again in a moment.`,
          { tone: "gate" });
      }
    } finally {
      this.hintBusy = false;
      setEnabled(this.hintBtn, true);
    }
  }

  staticHint() {
    this.say("Hint, please.", { from: "learner" });
    const hints = this.m.hints;
    if (!hints.length) {
      this.say("No hints are authored for this exercise. Try <strong>Explain</strong>.");
      return;
    }
    if (this.hintsShown >= hints.length) {
      this.say("That was the last hint: it shows the whole answer. Type it in your own words, then run Check.");
      return;
    }
    const next = hints[this.hintsShown];
    if (next.bottomOut && this.m.getChecks() < 1) {
      this.say(
        "The next hint gives the answer away, so first try your idea: run <strong>Check</strong> at least " +
          "once, then ask again. What the tests say will teach you more than the answer would.",
        { tone: "gate" },
      );
      return;
    }
    this.hintsShown += 1;
    const label = next.bottomOut
      ? `Hint ${this.hintsShown} of ${hints.length} — the answer`
      : `Hint ${this.hintsShown} of ${hints.length}`;
    this.say(next.html, { label, tone: next.bottomOut ? "bottom-out" : "hint" });
  }

  explain() {
    this.say("Can you explain?", { from: "learner" });
    const mc = this.matchingMisconception();
    if (mc) {
      this.say(mc.html, { label: "Look at your code again", tone: "misconception" });
      return;
    }
    const failing = this.failingTest();
    if (failing) {
      const message = failing.message ? `<pre>${escapeText(failing.message)}</pre>` : "";
      this.say(
        `The test <strong>${escapeText(failing.name)}</strong> did not pass. It says:${message}` +
          "Compare what your program does with what the test expects. Which part is different?",
        { label: "About your last Check", tone: "explain" },
      );
      return;
    }
    const objectives = this.m.objectives;
    if (objectives.length) {
      const items = objectives.map((o) => `<li>${escapeText(o)}</li>`).join("");
      this.say(
        `This lesson is about:<ul>${items}</ul>Which of these does the task ask you to use, and where in your code?`,
        { label: "Think about the goal", tone: "explain" },
      );
      return;
    }
    this.say("Read the task again, one sentence at a time. What exactly should your program print?");
  }

  example() {
    this.say("Show me an example.", { from: "learner" });
    if (this.m.exampleHtml) {
      this.say(this.m.exampleHtml, { label: "A worked example (on a different problem)", tone: "example" });
    } else {
      this.say("No worked example is authored for this exercise. Try <strong>Hint</strong> for a small step.");
    }
  }

  ask(text) {
    const question = (text || "").trim();
    if (!question) return;
    this.say(escapeText(question), { from: "learner" });
    if (this.challenge) {
      this.say("During a timed challenge I only give <strong>Hint</strong>s (they cost the no-hints bonus).");
      return;
    }
    const mc = this.matchingMisconception();
    if (mc) {
      this.say(mc.html, { label: "A question back to you", tone: "misconception" });
      return;
    }
    this.say(
      "I can’t read free-form questions yet: the AI tutor arrives in a later release. I can give you the " +
        "next <strong>Hint</strong>, <strong>Explain</strong> what your last Check said, or show an " +
        "<strong>Example</strong>.",
    );
  }

  /** Called by the exercise after a Check with a failing test. */
  afterFailedCheck() {
    if (this.challenge) return; // minimal help in a challenge
    const mc = this.matchingMisconception();
    if (mc) this.say(mc.html, { label: "I noticed something in your code", tone: "misconception" });
  }
}
