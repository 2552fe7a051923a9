// The tutor panel for signed-out learners (and without a server): it answers only from what the
// course authors wrote for the exercise (hints, misconceptions, example, objectives) and says so.
// The hint ladder is walked in the page; its bottom-out rung waits for at least one Check.
import { escapeText } from "./tutor-bubbles.js";

export class AuthoredNotes {
  /** panel: the Tutor (say()); material: see Tutor. */
  constructor(panel, material) {
    this.panel = panel;
    this.m = material;
    this.hintsShown = 0;
  }

  say(html, options) {
    return this.panel.say(html, options);
  }

  intro() {
    this.say(
      "Stuck? Ask for a <strong>Hint</strong> (one small step at a time), an <strong>Explain</strong>, " +
        "or an <strong>Example</strong>. Until you sign in, I answer from the notes the course authors " +
        "wrote for this exercise.",
      { tone: "intro" },
    );
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

  hint() {
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

  ask(question) {
    this.say(escapeText(question), { from: "learner" });
    if (this.m.challenge) {
      this.say("During a timed challenge I only give <strong>Hint</strong>s (they cost the no-hints bonus).");
      return;
    }
    const mc = this.matchingMisconception();
    if (mc) {
      this.say(mc.html, { label: "A question back to you", tone: "misconception" });
      return;
    }
    this.say(
      "Signed out, I can’t read free-form questions: sign in to talk with the tutor. Meanwhile I can give " +
        "you the next <strong>Hint</strong>, <strong>Explain</strong> what your last Check said, or show an " +
        "<strong>Example</strong>.",
    );
  }

  afterFailedCheck() {
    if (this.m.challenge) return; // minimal help in a challenge
    const mc = this.matchingMisconception();
    if (mc) this.say(mc.html, { label: "I noticed something in your code", tone: "misconception" });
  }
}
