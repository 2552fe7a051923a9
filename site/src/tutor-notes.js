// The tutor panel for signed-out learners (and without a server or its AI tutor): it answers only
// from what the course authors wrote for the exercise (hints, misconceptions, example, objectives)
// and says so.
//
// The page holds the first hint rung only. Every later rung comes from the server
// (POST /api/exercises/{id}/hints), one at a time and recorded, so signed out the ladder stops
// after the first rung with an invitation to sign in. The server holds the bottom-out rung (the
// worked answer) until it is earned and answers 409 saying what is still missing, which is shown.
import { api, ApiError, ServerUnavailable } from "./api.js";
import { signinUrl } from "./format.js";
import { renderMarkdown } from "./markdown.js";
import { escapeText } from "./tutor-bubbles.js";

export class AuthoredNotes {
  /** panel: the Tutor (say()); material: see Tutor. */
  constructor(panel, material) {
    this.panel = panel;
    this.m = material;
    this.hintsShown = 0;
    this.signedIn = false; // hints from the server (set by the panel once it knows who is learning)
    this.offline = false; // no server answered
  }

  setLearner({ signedIn, offline }) {
    this.signedIn = !!signedIn;
    this.offline = !!offline;
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
    if (this.signedIn) return this.serverHint();
    const hints = this.m.hints; // the page's: the first rung
    const total = Math.max(hints.length, this.m.hintCount || 0);
    if (!total) {
      this.say("No hints are authored for this exercise. Try <strong>Explain</strong>.");
      return null;
    }
    if (this.hintsShown < hints.length) {
      this.hintsShown += 1;
      this.say(hints[this.hintsShown - 1].html, { label: `Hint ${this.hintsShown} of ${total}`, tone: "hint" });
      return null;
    }
    if (this.hintsShown >= total) {
      this.say("That was the last hint.");
      return null;
    }
    const note = this.offline
      ? this.say("The next hints come from the Dronacharya server, which can't be reached right now. " +
          "Try again when you are back online.", { tone: "gate" })
      : this.say(
        `<a data-signin>Sign in</a> for more hints. The next ${total - this.hintsShown === 1 ? "one comes" : "ones come"} ` +
          "from the server, one at a time; the last one, the worked answer, once you've had a real go.",
        { tone: "gate" },
      );
    note.dataset.gate = this.offline ? "offline" : "signed-out";
    const signin = note.querySelector("a[data-signin]");
    if (signin) signin.href = signinUrl();
    return null;
  }

  /** The next rung from the server: recorded there, the bottom-out rung only once earned. */
  async serverHint() {
    let hint;
    try {
      hint = await api.post(`exercises/${encodeURIComponent(this.m.exerciseId)}/hints`);
    } catch (err) {
      let note;
      if (err instanceof ApiError && err.status === 409 && err.details && err.details.bottom_out) {
        // What is still needed (attempts, minutes), in the server's words; never the rung itself.
        note = this.say(escapeText(err.message), { label: "The answer can wait", tone: "gate" });
        note.dataset.gate = "bottom-out";
        if (err.details.attempts_needed !== undefined) note.dataset.attemptsNeeded = String(err.details.attempts_needed);
        if (err.details.minutes_needed !== undefined) note.dataset.minutesNeeded = String(err.details.minutes_needed);
      } else if (err instanceof ApiError && err.status === 401) {
        this.signedIn = false;
        note = this.say("Your session has ended. <a data-signin>Sign in</a> again for more hints.", { tone: "gate" });
        note.dataset.gate = "signed-out";
        note.querySelector("a[data-signin]").href = signinUrl();
      } else {
        const why = err instanceof ServerUnavailable ? "the server could not be reached" : err.message;
        note = this.say(`The next hint could not be fetched (${escapeText(why || "error")}). Try again.`,
          { tone: "gate" });
        note.dataset.gate = "error";
      }
      return;
    }
    const total = hint.rung + hint.remaining;
    const label = hint.bottom_out ? `Hint ${hint.rung} of ${total} — the answer` : `Hint ${hint.rung} of ${total}`;
    this.hintsShown = Math.max(this.hintsShown, hint.rung);
    this.say(renderMarkdown(hint.text || ""), { label, tone: hint.bottom_out ? "bottom-out" : "hint" });
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
