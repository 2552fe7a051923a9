// Progress on lesson pages: a "started" event on every view, and at the end of the content either
// a "Mark complete" button (lessons that complete on reading: no exercise or quiz) or a line
// saying that passing the exercise or quiz completes the lesson. Signed out: a gentle invitation
// to sign in. Events go through the offline-safe queue (progress-queue.js). The state follows the
// rewards of events and graded work (rewards.js): after page load the server is not asked again.
// Once completed, the panel leads on: "Next lesson: …" (the compiler's static next link, data-next-*
// on the header), or on the course's last lesson the course's completion summary once every lesson
// is completed: the course's progress as read on page load, plus what this lesson's reward added.
import { el, button, setEnabled } from "./ui.js";
import { icon } from "./icons.js";
import { signinUrl, signupUrl, siteUrl } from "./format.js";
import { currentUser, isServerUnavailable } from "./session.js";
import { enqueue, onQueue, pending } from "./progress-queue.js";
import { onReward } from "./rewards.js";
import { completionSummary, fetchProgress } from "./course-progress.js";

class LessonProgress {
  constructor(head) {
    this.root = head;
    this.lessonId = head.dataset.lessonId;
    this.readingCompletes = head.dataset.completesOnReading === "true";
    this.article = head.closest("article") || head.parentElement;
    this.completionEventId = null;
    this.disposers = [];
    this.panel = el("section", {
      class: "drona-lesson-status",
      "aria-label": "Your progress in this lesson",
      "data-drona-lesson-status": "",
      "data-state": "loading",
    });
    this.message = el("p", { class: "drona-lesson-status__message", role: "status", "aria-live": "polite" });
    const slot = this.article && this.article.querySelector("[data-drona-lesson-end]");
    if (slot) {
      slot.hidden = false;
      slot.replaceChildren(this.panel);
    } else if (this.article) {
      this.article.append(this.panel);
    }
    this.disposers.push(onQueue("delivered", (d) => this.delivered(d)));
    this.disposers.push(onQueue("rejected", (d) => this.rejected(d)));
    this.disposers.push(onQueue("queued", (d) => this.queued(d)));
    this.disposers.push(onReward((reward) => this.rewarded(reward)));
    this.start();
  }

  dispose() {
    this.disposers.forEach((off) => off());
    this.disposers = [];
  }

  graded() {
    const quiz = !!this.article.querySelector(".drona-quiz");
    const exercise = !!this.article.querySelector(".drona-exercise");
    if (quiz && exercise) return "passing its exercises and quiz";
    if (quiz) return "passing its quiz";
    if (exercise) {
      return this.article.querySelectorAll(".drona-exercise").length > 1 ? "passing its exercises" : "passing its exercise";
    }
    return "passing its graded work";
  }

  async start() {
    const user = await currentUser();
    if (!this.root.isConnected) return;
    if (!user && isServerUnavailable()) {
      // No server (static hosting, or offline) and nobody known: progress cannot be saved here.
      this.panel.dataset.state = "unavailable";
      (this.panel.closest("[data-drona-lesson-end]") || this.panel).hidden = true;
      return;
    }
    if (!user) {
      this.setState("signed-out");
      return;
    }
    if (!this.lessonId) return;
    enqueue({ lessonId: this.lessonId, kind: "started", userId: user.id });
    const waiting = pending(this.lessonId).find((i) => i.kind === "completed");
    if (waiting) {
      this.completionEventId = waiting.event_id;
      this.setState("queued");
      return;
    }
    await this.refresh();
  }

  /** Ask the server whether this lesson is completed (on page load; later, rewards say). */
  async refresh() {
    let state;
    try {
      const progress = await fetchProgress();
      const mine = (progress.lessons || []).find((l) => l.lesson_id === this.lessonId);
      state = mine ? mine.state : "not_started";
      this.course = (progress.courses || []).find((c) => c.course_id === this.root.dataset.courseId) || null;
      this.courseCounted = state === "completed"; // this lesson is already in the course's counts
    } catch (_err) {
      state = null; // unknown (offline): offer the button; the server ignores a second completion
    }
    if (!this.root.isConnected) return;
    const now = this.panel.dataset.state;
    if (state === "completed") {
      if (now !== "completed") this.setState("completed");
    } else if (now === "loading" || now === "graded" || now === "ready") {
      this.setState(this.readingCompletes ? "ready" : "graded");
    }
  }

  setState(state, detail = "") {
    this.panel.dataset.state = state;
    const children = [];
    if (state === "signed-out") {
      children.push(
        el("p", { class: "drona-lesson-status__message" },
          el("a", { href: signinUrl() }, "Sign in"), " to save your progress and earn XP. New here? ",
          el("a", { href: signupUrl() }, "Create a free account"), "."),
      );
    } else if (state === "ready" || state === "saving") {
      this.completeBtn = button(state === "saving" ? "Saving…" : "Mark complete", {
        kind: "primary",
        iconName: "check",
        onClick: () => this.complete(),
      });
      if (state === "saving") setEnabled(this.completeBtn, false);
      this.message.textContent = detail || "Done reading? Mark the lesson complete to save your progress.";
      children.push(this.completeBtn, this.message);
    } else if (state === "queued") {
      this.message.textContent = detail ||
        "Saved on this device: you seem to be offline. Your completion is queued and will be sent as soon as " +
        "the connection is back.";
      children.push(el("p", { class: "drona-lesson-status__badge drona-lesson-status__badge--queued" },
        icon("restore"), "Completion queued"), this.message);
    } else if (state === "completed") {
      this.message.textContent = detail;
      children.push(el("p", { class: "drona-lesson-status__badge drona-lesson-status__badge--done" },
        "Completed ✓"));
      const next = this.nextAction();
      if (next) children.push(next);
      children.push(this.message);
      this.showCourseCompletion();
    } else if (state === "graded") {
      this.message.textContent = `This lesson is completed by ${this.graded()}: the server checks your work, ` +
        "so there is nothing to mark here.";
      children.push(this.message);
    } else if (state === "rejected" || state === "signin-needed") {
      this.message.textContent = detail;
      children.push(this.message);
      if (state === "signin-needed") children.push(el("a", { class: "drona-lesson-status__link", href: signinUrl() }, "Sign in again"));
      else if (this.readingCompletes) {
        children.push(button("Try again", { kind: "secondary", onClick: () => this.complete() }));
      }
    } else {
      children.push(el("p", { class: "drona-lesson-status__message" }, "Loading your progress…"));
    }
    const hadFocus = this.panel.contains(document.activeElement);
    this.panel.replaceChildren(...children);
    if (hadFocus) {
      // Keep keyboard users in place: focus the new state's first control, or the message.
      const target = this.panel.querySelector("button, a") || this.message;
      if (target === this.message) this.message.setAttribute("tabindex", "-1");
      target.focus();
    }
  }

  /** "Next lesson: <title>", the primary action of a completed lesson (a link: it works like any other). */
  nextAction() {
    const d = this.root.dataset;
    if (!d.nextUrl || d.nextKind !== "lesson") return null;
    return el("a", { class: "drona-btn drona-btn--primary drona-lesson-status__next", href: siteUrl(d.nextUrl),
      rel: "next", "data-drona-next-lesson": "" }, `Next lesson: ${d.nextTitle}`);
  }

  /** The course's progress now: as read on page load, plus this lesson's completion if it came since. */
  courseNow() {
    const c = this.course;
    if (!c || this.courseCounted) return c || null;
    const done = Math.min(c.total_lessons, c.completed_lessons + 1);
    return { ...c, completed_lessons: done, completed: done >= c.total_lessons,
      xp_earned: (c.xp_earned || 0) + (this.xpEarned || 0),
      quizzes_passed: (c.quizzes_passed || 0) + this.article.querySelectorAll(".drona-quiz").length };
  }

  /** On the course's last lesson: the course's completion summary below the panel, when it is complete. */
  showCourseCompletion() {
    const d = this.root.dataset;
    if (d.nextKind !== "course") return;
    const course = this.courseNow();
    if (!course || !course.completed || !this.root.isConnected) return;
    const old = this.panel.parentElement && this.panel.parentElement.querySelector("[data-drona-course-done]");
    if (old) old.remove();
    this.panel.after(completionSummary(course, { title: d.afterTitle, url: d.afterUrl, kind: d.afterKind }));
  }

  async complete() {
    const user = await currentUser();
    if (!user) {
      this.setState("signed-out");
      return;
    }
    this.setState("saving");
    const item = enqueue({ lessonId: this.lessonId, kind: "completed", userId: user.id });
    this.completionEventId = item.event_id;
  }

  isMine(item) {
    return item && item.lesson_id === this.lessonId && item.kind === "completed" &&
      (!this.completionEventId || item.event_id === this.completionEventId);
  }

  delivered({ item }) {
    // Our completion arrived; its reward (applied by rewards.js) shows the new state.
    if (this.isMine(item)) this.completionEventId = null;
  }

  /** A reward for this lesson (a progress event, a submission, a quiz attempt): its state, no request. */
  rewarded(reward) {
    if (!reward || reward.lesson_id !== this.lessonId || reward.lesson_state !== "completed") return;
    if (!this.root.isConnected) return;
    const earned = reward.xp_awarded > 0 ? `You earned ${reward.xp_awarded} XP.` : "";
    // A second reward for the same completion earns 0: the first one's XP is what the course got.
    if (!this.xpEarned) this.xpEarned = reward.xp_awarded || 0;
    if (this.panel.dataset.state === "completed" && !earned) return;
    this.setState("completed", earned);
  }

  rejected({ item, error }) {
    if (!this.isMine(item)) return;
    this.completionEventId = null;
    const text = error && error.status === 409
      ? `This lesson cannot be marked complete by reading: ${error.message}`
      : `Your completion was not accepted: ${(error && error.message) || "unknown error"}.`;
    this.setState("rejected", text);
  }

  queued({ item, reason }) {
    if (!this.isMine(item)) return;
    if (reason === "signed-out") {
      this.setState("signin-needed",
        "Your session has ended. Your completion is kept on this device and is sent once you sign in again.");
    } else if (this.panel.dataset.state !== "queued") {
      this.setState("queued");
    }
  }
}

export function mountLessonProgress(head) {
  return new LessonProgress(head);
}
