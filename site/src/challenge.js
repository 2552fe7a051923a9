// Timed challenges (lesson_type "challenge"). The server owns the clock, and it starts only when
// the learner presses Start: opening or reloading the page reads the state (GET
// /api/challenges/{lesson_id}) and starts nothing; Start is POST .../start, which answers the
// running attempt if there is one (a reload rejoins the same clock). One clock object per lesson
// and document, shared by the panel in the lesson header and the exercise widgets.
//
// After the time is up the lesson's attempt policy decides: practice mode (the server still grades,
// a pass completes the lesson without the challenge's timed XP) or locked (nothing is graded until a
// retake), and when a retake may start. The server answers `submission_mode`; the widgets follow it.
//
// The panel: [data-drona-challenge] with data-state loading | signed-out | unavailable | error |
// not-started | running | warning | expired | passed; [data-drona-countdown] shows mm:ss. Screen
// readers hear the clock only at minute boundaries (a separate polite live region), never every second.
import { api } from "./api.js";
import { el, button, setEnabled } from "./ui.js";
import { formatDateTime, pages, signinUrl } from "./format.js";
import { currentUser, isServerUnavailable } from "./session.js";

const WARN_SECONDS = 60;
// The server keeps a few seconds' grace for the request in flight; ask for the new state after it.
const REFRESH_AFTER_EXPIRY_MS = 1500;
const clocks = new Map();

class ChallengeClock extends EventTarget {
  constructor(lessonId) {
    super();
    this.lessonId = lessonId;
    this.state = null; // the server's last answer (ChallengePublic)
    this.deadline = null; // Date.now() milliseconds of the running attempt's end, from seconds_left
    this.loading = null;
    this.timer = null;
  }

  get path() {
    return `challenges/${encodeURIComponent(this.lessonId)}`;
  }

  /** The learner's state, read once per document (never starts anything). */
  load() {
    if (!this.loading) {
      this.loading = this.refresh().catch((err) => {
        this.loading = null;
        throw err;
      });
    }
    return this.loading;
  }

  /** Read the state again (after a submission, or when the time ran out). */
  async refresh() {
    this.apply(await api.get(this.path));
    return this;
  }

  /** Start an attempt: only ever called when the learner presses Start (or Retake). */
  async start() {
    try {
      this.apply(await api.post(`${this.path}/start`));
    } catch (err) {
      // A 409 says why not (a cool-down, no attempts left): show the state that explains it.
      this.refresh().catch(() => {});
      throw err;
    }
    this.dispatchEvent(new Event("started"));
    return this;
  }

  apply(answer) {
    this.state = answer;
    clearTimeout(this.timer);
    this.deadline = null;
    if (answer && answer.status === "running") {
      this.deadline = Date.now() + Math.max(0, Number(answer.seconds_left) || 0) * 1000;
      this.timer = setTimeout(() => this.timeUp(), Math.max(0, this.deadline - Date.now()));
    }
    this.dispatchEvent(new Event("changed"));
  }

  timeUp() {
    if (this.state && this.state.status === "running") {
      this.state = { ...this.state, status: "expired", seconds_left: 0, submission_mode: this.afterExpiry };
    }
    this.dispatchEvent(new Event("expired"));
    this.dispatchEvent(new Event("changed"));
    setTimeout(() => this.refresh().catch(() => {}), REFRESH_AFTER_EXPIRY_MS);
  }

  get afterExpiry() {
    return this.state && this.state.policy && this.state.policy.after_expiry === "locked" ? "locked" : "practice";
  }

  get status() {
    return this.state ? this.state.status : null;
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

  /** What a submission made now gets: timed, practice or locked (null until the state is read). */
  get mode() {
    if (!this.state) return null;
    if (this.status === "running" && !this.expired) return "timed";
    return this.state.submission_mode === "timed" ? this.afterExpiry : this.state.submission_mode;
  }

  /** The server said the time is up (a 409 with a deadline): trust it over our clock. */
  expire() {
    if (this.status === "running") this.timeUp();
    else this.refresh().catch(() => {});
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

function minutesText(minutes) {
  const m = Math.max(0, Number(minutes) || 0);
  if (m && m % 1440 === 0) return `${m / 1440} ${m === 1440 ? "day" : "days"}`;
  if (m && m % 60 === 0) return `${m / 60} ${m === 60 ? "hour" : "hours"}`;
  return `${m} ${m === 1 ? "minute" : "minutes"}`;
}

/** The rules in words, from the server's policy. */
export function rulesText(state) {
  const policy = state.policy || {};
  const limit = `${state.time_limit_minutes} ${state.time_limit_minutes === 1 ? "minute" : "minutes"}`;
  const parts = [`Timed challenge: ${limit}, starting when you press Start.`];
  const attempts = policy.max_attempts === null || policy.max_attempts === undefined
    ? "You can retake it"
    : `You have ${policy.max_attempts} ${policy.max_attempts === 1 ? "attempt" : "attempts"}; you can retake it`;
  if (policy.max_attempts !== 1) {
    parts.push(policy.cooldown_minutes
      ? `${attempts} ${minutesText(policy.cooldown_minutes)} after an attempt's time is up.`
      : `${attempts} as soon as an attempt's time is up.`);
  } else {
    parts.push("You have one attempt.");
  }
  parts.push(policy.after_expiry === "locked"
    ? "Once the time is up, solutions are not graded until you start a retake."
    : "Once the time is up you can still finish in practice mode: a pass completes the lesson, " +
      (policy.practice_xp === false ? "without XP." : "with the ordinary lesson XP instead of the challenge's."));
  return parts.join(" ");
}

function afterText(state) {
  const practice = state.submission_mode === "practice" ||
    (state.submission_mode === "timed" && !(state.policy && state.policy.after_expiry === "locked"));
  const now = practice
    ? "You are in practice mode: Check still grades your solution, and a pass completes the lesson without the challenge's timed XP."
    : "Your solution is no longer graded: Check runs the visible tests in your browser only.";
  let retake = "";
  if (state.can_start) retake = " You can retake the challenge now.";
  else if (state.retake_at) retake = ` You can retake it from ${formatDateTime(state.retake_at)}.`;
  else if (state.attempts_left === 0) retake = " You have used every attempt.";
  return now + retake;
}

class ChallengePanel {
  constructor(root) {
    this.root = root;
    this.lessonId = root.dataset.lessonId;
    this.minutes = Number(root.dataset.timeLimitMinutes) || 0;
    this.clock = challengeClock(this.lessonId);
    this.ticker = null;
    this.lastMinute = null;
    this.view = null; // what is built: "rules", "clock", "expired", "passed"
    this.disposers = [];
    // Out of the lesson header, so that it can stay in view (sticky) while the learner scrolls.
    const head = root.parentElement && root.parentElement.closest(".drona-lesson-head");
    if (head) head.after(root);
    root.dataset.state = "loading";
    this.open();
  }

  async open() {
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
    this.root.replaceChildren(el("p", { class: "drona-challenge__text", text: "Reading the challenge…" }));
    this.disposers.push(this.clock.on("changed", () => this.render()));
    try {
      await this.clock.load();
    } catch (err) {
      if (!this.root.isConnected) return;
      this.root.dataset.state = "error";
      this.root.replaceChildren(el("p", { class: "drona-challenge__text", role: "status",
        text: `The challenge could not be loaded (${err.message}). Reload the page to try again.` }));
      return;
    }
    this.render();
  }

  render() {
    if (!this.root.isConnected) {
      this.dispose();
      return;
    }
    const state = this.clock.state;
    if (!state) return;
    if (state.status === "running") {
      if (this.view !== "clock") this.buildClock(state);
      this.tick();
      if (!this.ticker) this.ticker = setInterval(() => this.tick(), 1000);
      return;
    }
    this.stopTicker();
    if (state.status === "not_started") this.buildRules(state);
    else if (state.status === "passed") this.buildPassed(state);
    else this.buildExpired(state);
  }

  startButton(label) {
    const b = button(label, { kind: "primary", onClick: () => this.start(b) });
    b.dataset.dronaChallengeStart = "";
    return b;
  }

  async start(b) {
    setEnabled(b, false);
    this.error.textContent = "";
    try {
      await this.clock.start();
    } catch (err) {
      if (!this.root.isConnected) return;
      setEnabled(b, true);
      this.error.textContent = `The challenge could not start: ${err.message}`;
    }
  }

  buildRules(state) {
    this.view = "rules";
    this.root.dataset.state = "not-started";
    this.error = el("p", { class: "drona-challenge__error", role: "alert" });
    this.root.replaceChildren(
      el("p", { class: "drona-challenge__text", "data-drona-challenge-rules": "", text: rulesText(state) }),
      el("div", { class: "drona-challenge__actions" }, this.startButton("Start the challenge")),
      this.error,
    );
  }

  buildClock(state) {
    this.view = "clock";
    this.lastMinute = null;
    this.time = el("span", { class: "drona-challenge__time", "data-drona-countdown": "", "aria-hidden": "true" });
    this.label = el("span", { class: "drona-challenge__label", text: "Time left" });
    this.live = el("span", { class: "drona-visually-hidden", role: "status", "aria-live": "polite", "aria-atomic": "true" });
    this.note = el("span", { class: "drona-challenge__note" });
    const attempt = state.attempt > 1 ? el("span", { class: "drona-challenge__attempt", text: `Attempt ${state.attempt}` }) : null;
    this.root.replaceChildren(
      el("span", { class: "drona-challenge__clock" }, this.label, " ", this.time),
      attempt,
      this.note,
      this.live,
    );
  }

  buildExpired(state) {
    const fresh = this.view !== "expired";
    this.view = "expired";
    this.root.dataset.state = "expired";
    this.error = el("p", { class: "drona-challenge__error", role: "alert" });
    const text = afterText(state);
    const live = el("span", { class: "drona-visually-hidden", role: "status", "aria-live": "polite", "aria-atomic": "true" });
    this.root.replaceChildren(
      el("span", { class: "drona-challenge__clock" }, el("span", { class: "drona-challenge__label", text: "Time is up" })),
      el("span", { class: "drona-challenge__note", "data-drona-challenge-after": "", text }),
      state.can_start ? el("div", { class: "drona-challenge__actions" }, this.startButton("Retake the challenge")) : null,
      this.error,
      live,
    );
    // Announced once when the time runs out (or the page opens on it), not at every refresh; set after
    // the region is in the page, so that screen readers notice the change.
    if (fresh) setTimeout(() => { live.textContent = `Time is up. ${text}`; }, 100);
  }

  buildPassed(state) {
    if (this.view === "passed") return;
    this.view = "passed";
    this.root.dataset.state = "passed";
    const attempt = state.attempt ? ` (attempt ${state.attempt})` : "";
    this.root.replaceChildren(
      el("p", { class: "drona-challenge__text", role: "status", text: `Challenge passed${attempt}: this lesson is complete.` }));
  }

  tick() {
    if (!this.root.isConnected) {
      this.dispose();
      return;
    }
    const left = this.clock.secondsLeft();
    if (left === null || !this.time) return;
    this.time.textContent = formatClock(left);
    if (left <= 0) return; // the clock's "expired" event re-renders the panel
    const minute = Math.ceil(left / 60);
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

  stopTicker() {
    clearInterval(this.ticker);
    this.ticker = null;
  }

  dispose() {
    this.stopTicker();
    this.disposers.forEach((off) => off());
    this.disposers = [];
  }
}

export function mountChallenge(root) {
  return new ChallengePanel(root);
}
