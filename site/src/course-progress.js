// The learner's progress across a course, wherever links to its lessons show: a tick on completed
// lessons and an "in progress" marker on started ones (the sidebar, course and module pages), and
// on a course page the card at the top: "Continue" with the completion percentage, or the
// course's completion summary and what comes next. All from GET /api/progress, for the signed-in
// learner only: signed out, or with no sidecar, the page stays as the compiler wrote it (the card
// says "Start the course"), without a request error in the console.
//
// Mounted on Material's .md-main (main.js), which instant navigation replaces with every page, so
// each page gets its own widget. A reward (a pass, a "started" event: rewards.js) updates the marks
// at once, without asking the server again (as everything else that follows rewards).
import { el } from "./ui.js";
import { api } from "./api.js";
import { formatNumber, plural, siteUrl } from "./format.js";
import { currentUser } from "./session.js";
import { onReward } from "./rewards.js";

let inflight = null;

/** GET /api/progress, one request for the widgets of a page that ask at the same moment. */
export function fetchProgress() {
  if (!inflight) {
    inflight = api.get("progress").finally(() => {
      inflight = null;
    });
  }
  return inflight;
}

const MARKS = {
  completed: { className: "drona-mark drona-mark--done", glyph: "✓", text: "completed" },
  started: { className: "drona-mark drona-mark--started", glyph: "◐", text: "in progress" },
};

/** A URL without its query and fragment, to compare links with lesson addresses. */
function pageKey(href) {
  try {
    const url = new URL(href, location.href);
    return url.origin + url.pathname.replace(/index\.html$/, "");
  } catch (_err) {
    return null;
  }
}

function mark(state) {
  const spec = MARKS[state];
  return el("span", { class: spec.className, "data-drona-mark": state, title: spec.text },
    el("span", { "aria-hidden": "true" }, spec.glyph),
    el("span", { class: "drona-visually-hidden" }, ` (${spec.text})`));
}

/**
 * The summary of a completed course: lessons, XP (when any), quizzes passed, and what comes next.
 * `course` is the course's entry of /api/progress; `after` is {title, url, kind} ("course": the
 * next course of the track; "track": the track's page), with url relative to the site root.
 * Certificates are not mentioned: none can be earned yet (docs/architecture.md §9).
 */
export function completionSummary(course, after, { headingLevel = "h2", headingId } = {}) {
  const facts = [el("li", {}, `${plural(course.total_lessons, "lesson")} completed`)];
  if (course.xp_earned > 0) facts.push(el("li", {}, `${formatNumber(course.xp_earned)} XP earned`));
  if (course.quizzes_total > 0) {
    facts.push(el("li", {}, `${formatNumber(course.quizzes_passed)} of ${plural(course.quizzes_total, "quiz", "quizzes")} passed`));
  }
  const children = [
    el(headingLevel, { class: "drona-course-done__title", id: headingId }, `You completed ${course.title} ✓`),
    el("ul", { class: "drona-course-done__facts", "aria-label": "Course summary" }, ...facts),
  ];
  if (after && after.url) {
    const label = after.kind === "course" ? `Next course: ${after.title}` : `Back to the track: ${after.title}`;
    children.push(el("p", { class: "drona-course-done__next" },
      el("a", { class: "drona-btn drona-btn--primary", href: siteUrl(after.url) }, label)));
  }
  return el("div", { class: "drona-course-done", "data-drona-course-done": "" }, ...children);
}

class CourseProgress {
  constructor(root) {
    this.root = root;
    this.states = new Map(); // lesson id → state
    this.lessonAt = new Map(); // page address → lesson id
    this.disposers = [onReward((reward) => this.rewarded(reward))];
    this.load();
  }

  dispose() {
    this.disposers.forEach((off) => off());
    this.disposers = [];
  }

  async load() {
    const user = await currentUser();
    if (!user || !this.root.isConnected) return;
    let progress;
    try {
      progress = await fetchProgress();
    } catch (_err) {
      return; // offline or signed out meanwhile: the page as written is still right
    }
    if (!this.root.isConnected || !progress) return;
    this.render(progress);
  }

  rewarded(reward) {
    if (!reward || !reward.lesson_id || !this.root.isConnected) return;
    if (!["started", "completed"].includes(reward.lesson_state)) return;
    if (this.states.get(reward.lesson_id) === "completed") return; // completed stays completed
    this.states.set(reward.lesson_id, reward.lesson_state);
    // The rewarded lesson is this page's (its work or its "started" event): its sidebar link is ours.
    const head = this.root.querySelector(".drona-lesson-head[data-lesson-id]");
    if (head && head.dataset.lessonId === reward.lesson_id) this.lessonAt.set(pageKey(location.href), reward.lesson_id);
    this.markLinks();
  }

  render(progress) {
    for (const lesson of progress.lessons || []) {
      this.states.set(lesson.lesson_id, lesson.state);
      if (lesson.url) this.lessonAt.set(pageKey(siteUrl(lesson.url)), lesson.lesson_id);
    }
    this.markLinks();
    const card = this.root.querySelector("[data-drona-course-card]");
    if (card) this.renderCard(card, progress, this.states);
  }

  markLinks() {
    const links = this.root.querySelectorAll("a[data-lesson-id], .md-nav__link[href]");
    links.forEach((link) => {
      const id = link.dataset.lessonId || this.lessonAt.get(pageKey(link.getAttribute("href")));
      const state = id ? this.states.get(id) : null;
      const old = link.querySelector(":scope > [data-drona-mark]");
      if (old && old.dataset.dronaMark === state) return;
      if (old) old.remove();
      if (state === "completed" || state === "started") link.append(mark(state));
    });
  }

  renderCard(card, progress, states) {
    const d = card.dataset;
    const course = (progress.courses || []).find((c) => c.course_id === d.courseId);
    if (!course) return; // nothing started here yet: "Start the course" stays
    const titleId = "drona-course-card-title";
    card.dataset.state = course.completed ? "completed" : "in-progress";
    if (course.completed) {
      card.replaceChildren(completionSummary(course, { title: d.afterTitle, url: d.afterUrl, kind: d.afterKind },
        { headingId: titleId }));
      return;
    }
    // Where to continue: the learner's continue_lesson when it is in this course, else the first
    // lesson of this course (in page order) that is not completed.
    const links = Array.from(this.root.querySelectorAll(".md-content a[data-lesson-id]"));
    const wanted = progress.continue_lesson && progress.continue_lesson.lesson_id;
    const target = links.find((a) => a.dataset.lessonId === wanted) ||
      links.find((a) => states.get(a.dataset.lessonId) !== "completed");
    const percent = Math.round(course.percent);
    const children = [
      el("h2", { class: "drona-course-card__title", id: titleId }, "Continue the course"),
      el("p", { class: "drona-course-card__text" },
        `${formatNumber(course.completed_lessons)} of ${plural(course.total_lessons, "lesson")} completed (${percent}%).`),
      el("div", {
        class: "drona-course-card__bar", role: "progressbar", "aria-label": "Course completion",
        "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(percent),
        "aria-valuetext": `${percent}% complete`,
      }, el("span", { class: "drona-course-card__fill", style: `width: ${percent}%` })),
    ];
    if (target) {
      const module = (course.modules || []).find((m) => m.module_id === target.dataset.moduleId);
      const copy = target.cloneNode(true);
      copy.querySelectorAll("[data-drona-mark]").forEach((node) => node.remove());
      const title = copy.textContent.trim();
      children.push(el("p", { class: "drona-course-card__actions" },
        el("a", { class: "drona-btn drona-btn--primary", href: target.href, "data-drona-continue": "" },
          `Continue: ${title}`),
        module ? el("span", { class: "drona-course-card__module" }, ` (module: ${module.title})`) : ""));
    }
    card.replaceChildren(...children);
  }
}

export function mountCourseProgress(root) {
  return new CourseProgress(root);
}
