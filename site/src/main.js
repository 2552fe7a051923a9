// Entry point of assets/drona/drona.js: boots the Python worker and mounts the widgets on every
// page Material shows, including pages reached by instant navigation (document$).
import { runner } from "./runner.js";
import { mountExercise } from "./exercise.js";
import { mountPlayground } from "./playground.js";
import { mountQuiz } from "./quiz.js";
import { mountApp } from "./account/index.js";
import { mountLessonProgress } from "./lesson-progress.js";
import { mountCourseProgress } from "./course-progress.js";
import { mountChallenge } from "./challenge.js";
import { mountCertificationProgress } from "./certification-progress.js";
import { mountContinue } from "./home.js";
import { mountHeaderA11y, mountSkipLink } from "./a11y.js";
import { ensureUserBar } from "./userbar.js";
import { progressQueue, onQueue, setQueueUser } from "./progress-queue.js";
import { currentUser, onSession } from "./session.js";
import { applyReward } from "./rewards.js";
import { startLive } from "./live.js";

const WIDGETS = [
  // Skip link to the editor and header fixes (a11y.js): the skip box is replaced with each page.
  ["[data-md-component=skip]", mountSkipLink],
  [".md-header", mountHeaderA11y],
  [".drona-exercise", mountExercise],
  [".drona-playground", mountPlayground],
  [".drona-quiz", mountQuiz],
  ["[data-drona-app]", mountApp],
  [".drona-lesson-head[data-lesson-id]", mountLessonProgress],
  // Ticks on lesson links and the course card: .md-main holds the sidebar and the content, and
  // instant navigation replaces it with every page.
  [".md-main", mountCourseProgress],
  ["[data-drona-challenge][data-lesson-id]", mountChallenge],
  ["[data-drona-home-continue]", mountContinue],
  ["[data-drona-certification][data-course-id]", mountCertificationProgress],
];

const mounted = new Set(); // widgets alive in the current document

function hasPythonWidgets(root) {
  return !!root.querySelector(".drona-exercise, .drona-playground");
}

function mountAll() {
  // Instant navigation replaced the content: dispose the widgets that left the page.
  for (const widget of Array.from(mounted)) {
    if (!widget || !widget.root || !widget.root.isConnected) {
      if (widget && widget.dispose) widget.dispose();
      mounted.delete(widget);
    }
  }
  for (const [selector, mount] of WIDGETS) {
    document.querySelectorAll(selector).forEach((node) => {
      if (node.dataset.dronaMounted) return;
      node.dataset.dronaMounted = "true";
      try {
        mounted.add(mount(node));
      } catch (err) {
        console.error("drona: could not mount", node, err);
        node.dataset.state = "error";
      }
    });
  }
  try {
    ensureUserBar();
  } catch (err) {
    console.error("drona: could not show the user bar", err);
  }
  // XP and achievements from the learner's other tabs and devices (one stream per tab: live.js).
  startLive();
}

function bootPython() {
  if (runner.worker || runner.state === "error") return;
  runner.start();
}

// Progress events delivered (now or from the offline queue) carry their reward: the header, the
// toasts and the lesson's panel follow from it (rewards.js). Graded work applies its own.
onQueue("delivered", ({ result }) => {
  if (result) applyReward(result.reward, { xpNote: "Lesson completed." });
});
onQueue("rejected", ({ item, error }) => {
  if (error && error.status === 409) console.warn(`drona: lesson ${item.lesson_id}: ${error.message}`);
});
// The queue sends only for the learner who queued; a sign-in releases events held by a 401.
onSession("user", (user) => setQueueUser(user ? user.id : null));
currentUser().then((user) => setQueueUser(user ? user.id : null));

// Boot Pyodide right away when this page runs Python; otherwise as soon as the browser is idle,
// so it is warm by the time the learner opens a lesson.
if (hasPythonWidgets(document)) {
  bootPython();
} else if ("requestIdleCallback" in window) {
  window.requestIdleCallback(bootPython, { timeout: 2000 });
} else {
  setTimeout(bootPython, 500);
}

if (window.document$ && typeof window.document$.subscribe === "function") {
  window.document$.subscribe(() => mountAll());
} else if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", mountAll);
} else {
  mountAll();
}

// For tests and the console: the one runner of this document, and the progress queue.
window.drona = { runner, progressQueue };
