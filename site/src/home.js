// The home page's "Continue where you left off" card (sidecar/compiler/pages.py, home_page): hidden
// in the page, shown only for a signed-in learner the server has a lesson for (GET progress,
// continue_lesson). Signed out, or with no server (a static host), it stays hidden and asks for nothing
// that could fail: currentUser() uses GET auth/session, which never answers 401.
import { el } from "./ui.js";
import { api } from "./api.js";
import { siteUrl } from "./format.js";
import { currentUser, onSession } from "./session.js";

class ContinueCard {
  constructor(root) {
    this.root = root;
    this.slot = root.querySelector(".drona-continue__lesson") || root.appendChild(el("p"));
    this.off = onSession("user", () => this.refresh());
    this.refresh();
  }

  async refresh() {
    const user = await currentUser();
    let next = null;
    if (user && !user.stale) {
      try {
        next = (await api.get("progress")).continue_lesson;
      } catch (_err) {
        next = null; // offline or signed out meanwhile: nothing to offer
      }
    }
    if (!this.root.isConnected) return;
    if (!next || !next.url) {
      this.root.hidden = true;
      this.root.dataset.state = user ? "nothing" : "signed-out";
      return;
    }
    const title = next.title || "Your next lesson";
    this.slot.replaceChildren(
      el("span", { class: "drona-continue__label" }, next.state === "started" ? "You were on " : "Up next: "),
      el("strong", {}, title));
    const link = el("a", { class: "drona-btn drona-btn--primary", href: siteUrl(next.url), "data-drona-continue-link": "" },
      next.state === "started" ? "Continue" : "Start", el("span", { class: "drona-visually-hidden" }, `: ${title}`));
    const old = this.root.querySelector("[data-drona-continue-link]");
    if (old) old.replaceWith(link);
    else this.root.append(link);
    this.root.hidden = false;
    this.root.dataset.state = "ready";
  }

  dispose() {
    this.off();
  }
}

export function mountContinue(root) {
  return new ContinueCard(root);
}
