// The exercise widget: prompt, editor (kept per exercise in localStorage), Run / Check / Stop,
// output, test results and the tutor panel.
//
// Check runs the visible tests in the browser at once; signed in, it then submits the code to
// the server (grading.js), which runs the visible and hidden tests and alone completes the lesson
// and awards XP. In a timed challenge (challenge.js) the server grades while the learner's attempt
// runs and, after it, as the lesson's policy says (practice mode, or nothing until a retake).
import { runner } from "./runner.js";
import { ApiError } from "./api.js";
import { currentUser, isServerUnavailable } from "./session.js";
import { ServerCheck, announceGraded, newSubmissionId, submitCode, submissionErrorText } from "./grading.js";
import { DraftSync } from "./drafts.js";
import { challengeClock, challengeOf } from "./challenge.js";
import { ProgramWidget, WAITING } from "./program.js";
import { Tutor } from "./tutor.js";
import { el, button, setEnabled, readConfig, stopMessage, compilePattern, uniqueId } from "./ui.js";

function authored(root) {
  // The page carries the first hint rung only; the later ones come from the server (tutor-notes.js).
  const hints = Array.from(root.querySelectorAll(".drona-hints > .drona-hint")).map((node) => ({
    html: node.innerHTML.trim(),
    bottomOut: node.dataset.bottomOut === "true",
  }));
  const ladder = root.querySelector(".drona-hints");
  const hintCount = Math.max(hints.length, Number(ladder && ladder.dataset.count) || 0);
  const misconceptions = Array.from(root.querySelectorAll(".drona-misconceptions > .drona-misconception")).map(
    (node) => ({ pattern: compilePattern(node.dataset.pattern || ""), html: node.innerHTML.trim() }),
  );
  const example = root.querySelector(".drona-example");
  return { hints, hintCount, misconceptions, exampleHtml: example ? example.innerHTML.trim() : "" };
}

function lessonId() {
  const head = document.querySelector(".drona-lesson-head[data-lesson-id]");
  return head ? head.dataset.lessonId : "";
}

function lessonObjectives() {
  return Array.from(document.querySelectorAll("[data-drona-objectives] li")).map((li) => li.textContent.trim());
}

export class ExerciseWidget extends ProgramWidget {
  constructor(root) {
    const config = readConfig(root);
    const id = root.dataset.exerciseId || "";
    const starter = typeof config.starter === "string" ? config.starter : "";
    // The code follows the learner: localStorage at once, the server's draft once it answers.
    const drafts = new DraftSync(id, starter);
    let applying = false; // the code is being replaced from a draft, not typed
    super(root, config, {
      label: "Your solution (Python)",
      initialCode: drafts.initialCode,
      onChange: (code) => {
        if (!applying) drafts.edit(code);
      },
    });
    this.id = id;
    this.starter = starter;
    this.drafts = drafts;
    this.applyDraft = (code) => {
      applying = true;
      try {
        this.editor.setCode(code);
      } finally {
        applying = false;
      }
    };
    this.tests = Array.isArray(config.tests) ? config.tests : [];
    this.randomized = !!config.randomized;
    this.checks = 0;
    this.lastCheck = null; // {passed, results} of the last finished Check

    this.grading = false; // a server submission is in flight
    this.challenge = challengeOf(root);
    this.clock = this.challenge ? challengeClock(this.challenge.lessonId) : null;

    const material = authored(root);
    this.tutor = new Tutor({
      ...material,
      exerciseId: id,
      lessonId: this.challenge ? this.challenge.lessonId : lessonId(),
      challenge: !!this.challenge,
      objectives: lessonObjectives(),
      getCode: () => this.code,
      getChecks: () => this.checks,
      getLastCheck: () => this.lastCheck,
    });

    this.checkBtn = button("Check", { kind: "secondary", iconName: "check", onClick: () => this.check() });
    this.resetBtn = button("Reset to starter", { kind: "link", iconName: "restore", onClick: () => this.reset() });
    this.toolbar.insertBefore(this.checkBtn, this.stopBtn);
    this.toolbar.append(el("span", { class: "drona-toolbar__spacer" }), this.resetBtn);

    this.results = el("section", { class: "drona-results", "aria-label": "Test results", hidden: true });
    this.serverCheck = new ServerCheck();
    // A version kept from a conflicting edit (another device, offline): offered for restoring.
    this.draftNote = el("div", { class: "drona-draft-note", role: "status", "aria-live": "polite" });

    const main = el(
      "div",
      { class: "drona-workbench__main" },
      this.draftNote,
      this.editorHost,
      this.toolbar,
      this.status,
      this.stdinPanel || null,
      this.output.element,
      this.visualizer.element,
      this.results,
      this.serverCheck.element,
    );
    this.workbench = el("div", { class: "drona-workbench" }, main, this.tutor.element);
    root.append(this.workbench);
    if (drafts.restoredLocally) {
      this.output.placeholder.textContent = "Your saved code was restored. Run it to see its output here.";
    }
    this.refresh();
    this.followDrafts();
    if (this.clock) {
      const onExpired = () => this.challengeExpired();
      this.clock.addEventListener("expired", onExpired);
      this.offExpired = () => this.clock.removeEventListener("expired", onExpired);
    }
  }

  /** Signed in: the server's draft (or last graded code) and last verdict, from any browser. */
  followDrafts() {
    const drafts = this.drafts;
    drafts.addEventListener("remote", (event) => {
      const { code, reason } = event.detail;
      if (this.disposed || code === this.code) return;
      this.applyDraft(code);
      if (reason === "draft" || reason === "submission") {
        this.output.placeholder.textContent = reason === "draft"
          ? "Your saved code was restored. Run it to see its output here."
          : "The code you last submitted was restored. Run it to see its output here.";
      }
    });
    drafts.addEventListener("others", (event) => this.showKept(event.detail));
    drafts.sync();
    currentUser().then((user) => {
      if (user && !user.stale && !this.disposed) this.serverCheck.restore(this.id, () => this.disposed);
    });
  }

  /** The newest kept version, with Restore and Dismiss; nothing when there is none. */
  showKept(others) {
    const kept = Array.isArray(others) && others.length ? others[0] : null;
    if (!kept) {
      this.draftNote.replaceChildren();
      return;
    }
    const when = new Date(kept.edited_at);
    const text = kept.reason === "restored"
      ? "The code you had before restoring was kept."
      : "Your code from another device or an offline edit was kept.";
    const act = async (work, failure) => {
      try {
        await work();
      } catch (_err) {
        this.draftNote.querySelector(".drona-draft-note__text").textContent = failure;
      }
    };
    const restore = button("Restore it", { kind: "link", iconName: "restore",
      onClick: () => act(() => this.drafts.restore(kept.id), "It could not be restored right now. Try again.") });
    const dismiss = button("Dismiss", { kind: "link",
      onClick: () => act(() => this.drafts.discard(kept.id), "It could not be dismissed right now. Try again.") });
    // The buttons' names are short; the note says what they restore or dismiss.
    const textId = uniqueId("drona-draft-note");
    restore.setAttribute("aria-describedby", textId);
    dismiss.setAttribute("aria-describedby", textId);
    this.draftNote.replaceChildren(el("p", { class: "drona-draft-note__text", id: textId }, text,
      Number.isNaN(when.getTime()) ? "" : ` (edited ${when.toLocaleString()})`,
      others.length > 1 ? ` ${others.length - 1} older ${others.length === 2 ? "version is" : "versions are"} kept too.` : ""),
    el("span", { class: "drona-draft-note__actions" }, restore, dismiss));
  }

  setButtons(ready, idle) {
    super.setButtons(ready, idle);
    if (this.checkBtn) setEnabled(this.checkBtn, ready && idle && !this.grading);
  }

  challengeExpired() {
    if (this.disposed || this.grading) return;
    if (this.clock.mode === "practice") {
      this.serverCheck.note("expired", "Time is up for this challenge: you are in practice mode. Check still " +
        "grades your solution, and a pass completes the lesson without the challenge's timed XP.");
    } else {
      this.serverCheck.note("expired", "Time is up for this challenge: Check still runs the visible tests in your " +
        "browser, but your solution is no longer graded or saved.");
    }
  }

  /** After the browser's Check: have the server grade the same code (signed in only). */
  async gradeOnServer(code) {
    const user = await currentUser();
    if (this.disposed) return;
    if (!user) {
      if (isServerUnavailable()) this.serverCheck.hide();
      else this.serverCheck.signedOut();
      return;
    }
    if (this.clock) {
      // Nothing here ever starts the clock: only the challenge panel's Start button does.
      try {
        await this.clock.load();
      } catch (_err) {
        /* unknown state: the server decides below */
      }
      if (this.disposed) return;
      if (this.clock.status === "not_started") {
        // Graded now it would count as practice and use up the timed XP: ask for Start first.
        this.serverCheck.note("not-started", "Press Start above to take the timed challenge: your solution is graded " +
          "once its clock runs. Check ran the visible tests in your browser only.");
        return;
      }
      if (this.clock.mode === "locked") {
        this.challengeExpired();
        return;
      }
    }
    this.grading = true;
    this.refresh();
    this.serverCheck.grading();
    try {
      const result = await submitCode(this.id, code, newSubmissionId());
      if (this.disposed) return;
      this.serverCheck.result(result);
      announceGraded(result);
      if (this.clock) this.clock.refresh().catch(() => {}); // passed, or practice: the panel says so
    } catch (err) {
      if (this.disposed) return;
      if (this.clock && err instanceof ApiError && err.status === 409 && err.details && err.details.deadline) {
        this.clock.expire();
      }
      this.serverCheck.note("error", submissionErrorText(err));
    } finally {
      this.grading = false;
      this.refresh();
    }
  }

  reset() {
    if (this.code === this.starter) return;
    // eslint-disable-next-line no-alert
    if (!window.confirm("Replace your code with the starter code? Your changes will be lost.")) return;
    this.editor.setCode(this.starter); // saved like any edit, so other browsers follow
    this.editor.focus();
  }

  check() {
    if (this.busy || this.grading || runner.state !== "ready" || this.disposed) return;
    this.busy = "check";
    const code = this.code;
    if (["passed", "failed", "error", "grading"].includes(this.serverCheck.element.dataset.state)) this.serverCheck.hide();
    this.refresh();
    this.setStatus(runner.busy ? WAITING : "Checking…", "busy");
    const seed = this.randomized ? Math.floor(Math.random() * 2 ** 31) : 0;
    const items = this.tests.map((test) =>
      el(
        "li",
        { class: "drona-test", dataset: { result: "pending" } },
        el("span", { class: "drona-test__icon", "aria-hidden": "true", text: "…" }),
        el("span", { class: "drona-test__name", text: test.name || "test" }),
        el("span", { class: "drona-visually-hidden drona-test__verdict", text: "not run yet" }),
      ),
    );
    const summary = el("p", { class: "drona-results__summary", text: "Running the tests…" });
    this.results.replaceChildren(
      el("div", { class: "drona-panel-title", "aria-hidden": "true", text: "Tests" }),
      summary,
      el("ul", { class: "drona-results__list" }, items),
    );
    this.results.hidden = false;
    if (!this.tests.length) summary.textContent = "This exercise has no visible tests.";

    const job = runner.check(code, this.tests, seed, {
      timeLimit: this.timeLimit,
      onStart: () => this.setStatus("Checking…", "busy"),
      onTestStart: (index) => {
        if (items[index]) items[index].dataset.result = "running";
      },
      onTestResult: (index, result) => this.showTest(items[index], result),
    });
    this.job = job;
    job.result.then((result) => {
      this.afterCheck(result, items, summary, seed);
      if (result.status !== "stopped") this.gradeOnServer(code);
    });
  }

  showTest(item, result) {
    if (!item) return;
    item.dataset.result = result.passed ? "pass" : "fail";
    item.querySelector(".drona-test__icon").textContent = result.passed ? "✓" : "✗";
    item.querySelector(".drona-test__verdict").textContent = result.passed ? "passed" : "failed";
    if (!result.passed && result.message) {
      item.append(el("pre", { class: "drona-test__message" }, result.message));
    }
  }

  afterCheck(result, items, summary, seed) {
    this.job = null;
    this.busy = null;
    if (this.disposed) return;
    this.checks += 1;
    if (result.status === "ok") {
      this.lastCheck = { passed: result.passed, results: result.results };
      const total = result.results.length;
      const failed = result.results.filter((r) => !r.passed).length;
      if (result.passed) {
        summary.textContent = total === 1 ? "The visible test passes. Well done!" : `All ${total} visible tests pass. Well done!`;
        summary.dataset.tone = "success";
      } else {
        summary.textContent = `${failed} of ${total} ${total === 1 ? "test" : "tests"} failed. Read the message under each ✗.`;
        summary.dataset.tone = "error";
      }
      if (this.randomized) summary.append(el("span", { class: "drona-results__seed", text: ` (random seed ${seed})` }));
    } else {
      const index = result.testIndex;
      const name = index !== null && index !== undefined && this.tests[index] ? this.tests[index].name : "";
      if (result.status === "timeout") {
        summary.textContent = stopMessage(result.seconds, name);
        this.lastCheck = {
          passed: false,
          results: [{ name: name || "test", passed: false, message: stopMessage(result.seconds) }],
        };
      } else if (result.status === "stopped") {
        summary.textContent = "Stopped before the tests finished.";
      } else {
        summary.textContent = `Python stopped unexpectedly (${result.message}). It is restarting; check again.`;
      }
      summary.dataset.tone = "error";
      items.forEach((item) => {
        if (item.dataset.result === "pending" || item.dataset.result === "running") {
          item.dataset.result = item.dataset.result === "running" ? "fail" : "skipped";
          item.querySelector(".drona-test__icon").textContent = item.dataset.result === "fail" ? "✗" : "–";
          item.querySelector(".drona-test__verdict").textContent =
            item.dataset.result === "fail" ? "stopped" : "not run";
        }
      });
    }
    this.refresh();
    if (this.lastCheck && !this.lastCheck.passed) this.tutor.afterFailedCheck();
  }

  dispose() {
    this.drafts.dispose();
    if (this.offExpired) this.offExpired();
    this.tutor.dispose();
    super.dispose();
  }
}

export function mountExercise(root) {
  return new ExerciseWidget(root);
}
