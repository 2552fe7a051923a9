// Entry point of assets/drona/drona.js: boots the Python worker and mounts the widgets on every
// page Material shows, including pages reached by instant navigation (document$).
import { runner } from "./runner.js";
import { mountExercise } from "./exercise.js";
import { mountPlayground } from "./playground.js";
import { mountQuiz } from "./quiz.js";

const WIDGETS = [
  [".drona-exercise", mountExercise],
  [".drona-playground", mountPlayground],
  [".drona-quiz", mountQuiz],
];

const mounted = new Set(); // widgets alive in the current document

function hasPythonWidgets(root) {
  return !!root.querySelector(".drona-exercise, .drona-playground");
}

function mountAll() {
  // Instant navigation replaced the content: dispose the widgets that left the page.
  for (const widget of Array.from(mounted)) {
    if (!widget.root.isConnected) {
      if (widget.dispose) widget.dispose();
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
}

function bootPython() {
  if (runner.worker || runner.state === "error") return;
  runner.start();
}

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

// For tests and the console: the one runner of this document.
window.drona = { runner };
