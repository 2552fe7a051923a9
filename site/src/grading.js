// Server-side grading of an exercise (POST /api/exercises/{id}/submissions): the "Server check"
// block under the browser's test results. Only the server's answer completes a lesson or awards
// XP; the browser's own Check is for instant feedback. A submission carries a client-made id, so a
// request retried after a network error is graded once.
import { api, ApiError, ServerUnavailable } from "./api.js";
import { el } from "./ui.js";
import { signinUrl } from "./format.js";
import { gamificationMode, knownProfile } from "./session.js";
import { applyReward } from "./rewards.js";

const RETRY_DELAY_MS = 800;

/** A fresh submission id (8-64 characters of [A-Za-z0-9_-]). */
export function newSubmissionId() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
  const bytes = new Uint8Array(16);
  window.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const STILL_GRADING_TRIES = 5;

/**
 * Submit code for grading; a network error is retried once with the same submission id. With the
 * grader fleet a long queue may answer 503 still_grading: the same id is sent again, which waits on
 * the same submission (never a second grading).
 */
export async function submitCode(exerciseId, code, submissionId = newSubmissionId()) {
  const path = `exercises/${encodeURIComponent(exerciseId)}/submissions`;
  const payload = { code, submission_id: submissionId };
  for (let tries = 1; ; tries += 1) {
    try {
      return await api.post(path, payload);
    } catch (err) {
      if (err instanceof ApiError && err.code === "still_grading" && tries < STILL_GRADING_TRIES) {
        await new Promise((resolve) => setTimeout(resolve, (err.retryAfter || 2) * 1000));
        continue;
      }
      if (!(err instanceof ServerUnavailable)) throw err;
      await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
      return api.post(path, payload); // the same id: graded at most once
    }
  }
}

/** What to tell the learner when a submission was not graded. */
export function submissionErrorText(err) {
  if (err instanceof ApiError) {
    if (err.status === 401) return "Your session has ended. Sign in again to have your solution graded and saved.";
    if (err.status === 409 || err.status === 422 || err.status === 404) return err.message;
    if (err.status === 429) return "Too many checks in a short time. Wait a moment, then press Check again.";
    return `The server could not grade your solution (${err.message}). Press Check to try again.`;
  }
  return "The server could not be reached, so your solution was checked in your browser only. " +
    "Press Check again when you are back online.";
}

/** The server-check block: data-drona-server-check, data-state idle | signed-out | grading | passed | failed | error | expired. */
export class ServerCheck {
  constructor() {
    this.element = el("section", {
      class: "drona-server-check",
      "aria-label": "Server check",
      "data-drona-server-check": "",
      "data-state": "idle",
      hidden: true,
    });
  }

  show(state, ...children) {
    this.element.dataset.state = state;
    this.element.hidden = false;
    this.element.replaceChildren(
      el("div", { class: "drona-panel-title", "aria-hidden": "true", text: "Server check" }),
      ...children,
    );
  }

  hide() {
    this.element.hidden = true;
    this.element.dataset.state = "idle";
    this.element.replaceChildren();
  }

  signedOut() {
    this.show("signed-out", el("p", { class: "drona-server-check__note" },
      el("a", { href: signinUrl() }, "Sign in"), " to have your solution graded and saved."));
  }

  grading() {
    this.show("grading", el("p", { class: "drona-results__summary", role: "status", text: "Grading on the server…" }));
  }

  note(state, text) {
    this.show(state, el("p", { class: "drona-results__summary", role: "status", dataset: { tone: "error" }, text }));
  }

  /**
   * Show the learner's last server verdict on this exercise (from any browser), unless something
   * newer is already shown. `gone()` says the widget left the page meanwhile.
   */
  async restore(exerciseId, gone = () => false) {
    let history;
    try {
      history = await api.get(`exercises/${encodeURIComponent(exerciseId)}/submissions`);
    } catch (_err) {
      return; // offline or signed out meanwhile: the panel stays as it is
    }
    if (gone() || !Array.isArray(history) || !history.length || this.element.dataset.state !== "idle") return;
    this.result(history[0], { restored: true });
  }

  result(result, { restored = false } = {}) {
    const tests = Array.isArray(result.results) ? result.results : [];
    const hidden = tests.filter((t) => t.hidden).length;
    const failed = tests.filter((t) => !t.passed).length;
    let verdict;
    if (result.passed) {
      verdict = `Passed: all ${tests.length} ${tests.length === 1 ? "test" : "tests"}` +
        (hidden ? `, including ${hidden} hidden, pass on the server.` : ", pass on the server.");
    } else if (result.status && result.status !== "ok") {
      verdict = `Not passed: ${result.message || result.status}.`;
    } else {
      verdict = `Not passed yet: ${failed} of ${tests.length} ${tests.length === 1 ? "test" : "tests"} failed on the server.`;
    }
    // A verdict restored on load is not news: no live region, and it says when it was given.
    const summary = el("p", { class: "drona-results__summary", role: restored ? null : "status",
      dataset: { tone: result.passed ? "success" : "error" }, text: verdict });
    const when = restored ? new Date(result.created_at) : null;
    const items = tests.map((t) => el(
      "li",
      { class: "drona-test", dataset: { result: t.passed ? "pass" : "fail", hidden: t.hidden ? "true" : "false" } },
      el("span", { class: "drona-test__icon", "aria-hidden": "true", text: t.passed ? "✓" : "✗" }),
      el("span", { class: "drona-test__name" }, t.name || "test",
        t.hidden ? el("span", { class: "drona-test__hidden", text: "hidden test" }) : null,
        el("span", { class: "drona-visually-hidden", text: t.passed ? " passed" : " failed" })),
      !t.passed && t.message ? el("pre", { class: "drona-test__message" }, t.message) : null,
    ));
    const children = [summary];
    if (when && !Number.isNaN(when.getTime())) {
      children.push(el("p", { class: "drona-server-check__note drona-server-check__when",
        text: `Your last server check, ${when.toLocaleString()}.` }));
    }
    if (result.status && result.status !== "ok" && result.message && result.passed) {
      children.push(el("p", { class: "drona-server-check__note", text: result.message }));
    }
    if (items.length) children.push(el("ul", { class: "drona-results__list" }, items));
    const rewards = [];
    const mode = knownProfile() ? gamificationMode() : "full";
    if (!restored && result.xp_awarded > 0 && !result.duplicate && mode !== "off" && mode !== "minimal") {
      rewards.push(el("span", { class: "drona-server-check__xp", "data-drona-xp-awarded": String(result.xp_awarded) },
        `+${result.xp_awarded} XP`));
    }
    if (result.passed && result.lesson_state === "completed") {
      rewards.push(el("span", { class: "drona-server-check__done", text: "Lesson completed ✓" }));
    }
    if (rewards.length) children.push(el("p", { class: "drona-server-check__rewards" }, ...rewards));
    if (!result.passed && hidden && tests.some((t) => t.hidden && !t.passed)) {
      children.push(el("p", { class: "drona-server-check__note",
        text: "Hidden tests show only their feedback: they check cases the visible tests do not." }));
    }
    this.show(result.passed ? "passed" : "failed", ...children);
  }
}

/** Apply a graded submission's reward to the page (lesson progress, user bar, toasts): rewards.js. */
export function announceGraded(result) {
  applyReward(result && result.reward, { xpNote: "Well done." });
}
