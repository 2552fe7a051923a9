// Timed challenges (lesson_type "challenge"). The server owns the clock: POST
// /api/challenges/{lesson_id}/start starts it at the first opening and later answers the same
// deadline. One clock per lesson and document, shared by the countdown in the lesson header and
// the exercise widgets (which stop submitting to the server once the time is up).
//
// The countdown: [data-drona-challenge] with data-state loading | signed-out | running | warning
// | expired | error | unavailable; [data-drona-countdown] shows mm:ss. Screen readers hear it only
// at minute boundaries (a separate polite live region), not every second.
import { api } from "./api.js";
import { el } from "./ui.js";
import { pages, signinUrl } from "./format.js";
import { currentUser, isServerUnavailable } from "./session.js";

const WARN_SECONDS = 60;
const clocks = new Map();

class ChallengeClock extends EventTarget {
  constructor(lessonId) {
    super();
    this.lessonId = lessonId;
    this.deadline = null; // Date.now() milliseconds, from the server's seconds_left
    this.promise = null;
    this.timer = null;
  }

  /** Start (or rejoin) the server's clock; once per document unless it failed. */
  start() {
    if (!this.promise) {
      this.promise = api.post(`challenges/${encodeURIComponent(this.lessonId)}/start`)
        .then((answer) => {
          this.deadline = Date.now() + Math.max(0, Number(answer.seconds_left) || 0) * 1000;
          this.schedule();
          this.dispatchEvent(new Event("started"));
          return this;
        })
        .catch((err) => {
          this.promise = null;
          throw err;
        });
    }
    return this.promise;
  }

  get started() {
    return this.deadline !== null;
  }

  secondsLeft() {
    if (this.deadline === null) return null;
    return Math.max(0, Math.ceil((this.deadline - Date.now()) / 1000));
  }

  get expired() {
    return this.deadline !== null && Date.now() >= this.deadline;
  }

  /** The server said the time is up (a 409 with a deadline): trust it over our clock. */
  expire() {
    if (this.deadline === null || this.deadline > Date.now()) this.deadline = Date.now();
    this.schedule();
  }

  schedule() {
    clearTimeout(this.timer);
    const wait = this.deadline - Date.now();
    this.timer = setTimeout(() => this.dispatchEvent(new Event("expired")), Math.max(0, wait));
  }

  on(type, listener) {
    this.addEventListener(type, listener);
    return () => this.removeEventListener(type, listener);
  }
}

/** The clock of a challenge lesson (shared within the document). */
export function challengeClock(lessonId) {
  if (!clocks.has(lessonId)) clocks.set(lessonId, new ChallengeClock(lessonId));
  return clocks.get(lessonId);
}

/** The challenge lesson around a node: {lessonId, minutes}, or null when it is not a challenge. */
export function challengeOf(node) {
  const scope = (node && node.closest && node.closest("article")) || document;
  const head = scope.querySelector(".drona-lesson-head[data-lesson-id]") ||
    document.querySelector(".drona-lesson-head[data-lesson-id]");
  if (!head || head.dataset.lessonType !== "challenge" || !head.dataset.lessonId) return null;
  return { lessonId: head.dataset.lessonId, minutes: Number(head.dataset.timeLimitMinutes) || 0 };
}

export function formatClock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const mm = String(Math.floor(s / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return `${mm}:${ss}`;
}

class Countdown {
  constructor(root) {
    this.root = root;
    this.lessonId = root.dataset.lessonId;
    this.minutes = Number(root.dataset.timeLimitMinutes) || 0;
    this.clock = challengeClock(this.lessonId);
    this.ticker = null;
    this.lastMinute = null;
    this.disposers = [];
    // Out of the lesson header, so that it can stay in view (sticky) while the learner scrolls.
    const head = root.parentElement && root.parentElement.closest(".drona-lesson-head");
    if (head) head.after(root);
    root.dataset.state = "loading";
    this.start();
  }

  async start() {
    const user = await currentUser();
    if (!this.root.isConnected) return;
    if (!user) {
      if (isServerUnavailable()) {
        this.root.dataset.state = "unavailable";
        this.root.hidden = true;
        return;
      }
      this.root.dataset.state = "signed-out";
      this.root.hidden = false;
      const limit = this.minutes ? `${this.minutes}-minute ` : "";
      this.root.replaceChildren(el("p", { class: "drona-challenge__text" },
        `This is a timed ${limit}challenge. `, el("a", { href: signinUrl() }, "Sign in"),
        " to start the clock and have your solution graded (", el("a", { href: pages.signup() }, "create a free account"),
        " if you are new). You can still practise here: Check runs the visible tests in your browser."));
      return;
    }
    this.root.hidden = false;
    this.root.replaceChildren(el("p", { class: "drona-challenge__text", text: "Starting the challenge clock…" }));
    try {
      await this.clock.start();
    } catch (err) {
      if (!this.root.isConnected) return;
      this.root.dataset.state = "error";
      this.root.replaceChildren(el("p", { class: "drona-challenge__text", role: "status",
        text: `The challenge clock could not be started (${err.message}). Reload the page to try again.` }));
      return;
    }
    if (!this.root.isConnected) return;
    this.build();
    this.disposers.push(this.clock.on("expired", () => this.tick()));
    this.tick();
    this.ticker = setInterval(() => this.tick(), 1000);
  }

  build() {
    this.time = el("span", { class: "drona-challenge__time", "data-drona-countdown": "", "aria-hidden": "true" });
    this.label = el("span", { class: "drona-challenge__label", text: "Time left" });
    this.live = el("span", { class: "drona-visually-hidden", role: "status", "aria-live": "polite", "aria-atomic": "true" });
    this.note = el("span", { class: "drona-challenge__note" });
    this.root.replaceChildren(
      el("span", { class: "drona-challenge__clock" }, this.label, " ", this.time),
      this.note,
      this.live,
    );
  }

  tick() {
    if (!this.root.isConnected) {
      this.dispose();
      return;
    }
    const left = this.clock.secondsLeft();
    if (left === null || !this.time) return;
    this.time.textContent = formatClock(left);
    const minute = Math.ceil(left / 60);
    if (left <= 0) {
      if (this.root.dataset.state !== "expired") {
        this.root.dataset.state = "expired";
        this.label.textContent = "Time is up";
        this.note.textContent = "The challenge is over: Check still runs your tests in the browser, but nothing is graded or saved.";
        this.live.textContent = "Time is up. Your solution can no longer be graded.";
      }
      clearInterval(this.ticker);
      this.ticker = null;
      return;
    }
    const state = left <= WARN_SECONDS ? "warning" : "running";
    if (this.root.dataset.state !== state) {
      this.root.dataset.state = state;
      this.note.textContent = state === "warning" ? "Less than a minute left: press Check soon." : "";
    }
    if (minute !== this.lastMinute) {
      // Announce the first reading and each new minute, never every second.
      this.live.textContent = left <= WARN_SECONDS
        ? "Less than one minute left in the challenge."
        : `${minute} ${minute === 1 ? "minute" : "minutes"} left in the challenge.`;
      this.lastMinute = minute;
    }
  }

  dispose() {
    clearInterval(this.ticker);
    this.ticker = null;
    this.disposers.forEach((off) => off());
    this.disposers = [];
  }
}

export function mountChallenge(root) {
  return new Countdown(root);
}
