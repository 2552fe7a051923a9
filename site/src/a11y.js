// Keyboard and screen-reader fixes around Material's own markup (WCAG 2.2 AA; checked by
// tests/e2e/test_accessibility.py with axe-core).
//
// - mountSkipLink: "Skip to the code editor" beside Material's "Skip to content" on pages with an
//   editor, so a keyboard learner reaches the code in two Tab presses instead of ~30. It lives in
//   [data-md-component=skip], which instant navigation replaces with each page, so it never
//   outlives the page it points into.
// - mountHeaderA11y: names the search dialog (Material gives role=dialog no name). The closed
//   search's results pane, an invisible Tab stop, is hidden by base.css.
import { el } from "./ui.js";

const EDITOR_HOSTS = ".drona-exercise, .drona-playground";

function firstEditorHost() {
  return document.querySelector(EDITOR_HOSTS);
}

function focusFirstEditor() {
  const host = firstEditorHost();
  if (!host) return;
  // The editor mounts once the widget is ready; until then focus its box so the learner lands there.
  const target = host.querySelector(".cm-content") || host;
  if (target === host && !host.hasAttribute("tabindex")) host.setAttribute("tabindex", "-1");
  target.focus({ preventScroll: true });
  host.scrollIntoView({ block: "start", behavior: "auto" });
}

export function mountSkipLink(root) {
  const host = firstEditorHost();
  if (!host || root.querySelector(".drona-skip")) return { root };
  if (!host.id) host.id = "drona-first-editor";
  // target=_self: Material's instant navigation leaves links with a target alone; otherwise it
  // would reload this very page (replacing the editor we focus).
  const link = el("a", { class: "md-skip drona-skip", href: `#${host.id}`, target: "_self" },
    "Skip to the code editor");
  link.addEventListener("click", (event) => {
    if (!firstEditorHost()) return; // the editor left the page: let the fragment link work
    event.preventDefault();
    focusFirstEditor();
  });
  root.append(link);
  return { root };
}

export function mountHeaderA11y(header) {
  const search = document.querySelector(".md-search[role=dialog]");
  if (search && !search.hasAttribute("aria-label")) search.setAttribute("aria-label", "Search");
  return { root: header };
}
