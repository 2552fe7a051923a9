// The daily review (issue #15): items the learner met before come back on FSRS's schedule — quiz items
// (predict the output, find the bug, …) and small exercises. The server grades every answer (quiz keys
// and hidden tests never reach this page) and reschedules the item; finishing the day's items pays the
// day's review XP once. One item at a time, keyboard first; the result is announced politely.
import { el, button, setEnabled } from "../ui.js";
import { api, ServerUnavailable } from "../api.js";
import { QuizItem } from "../quiz.js";
import { applyReward } from "../rewards.js";
import { formatDate, plural, siteUrl } from "../format.js";
import { focusHeading, loading, needsServer, requireUser } from "./forms.js";

const ORIGIN = {
  quiz: "From a quiz you took",
  exercise: "An exercise you solved",
  misconception: "A mistake you made before: try it again",
};

function reviewId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

class ReviewApp {
  constructor(root) {
    this.root = root;
    this.load();
  }

  async load() {
    loading(this.root, "Loading your review…");
    const user = await requireUser(this.root, "review what you learned");
    if (!user) return;
    try {
      this.queue = await api.get("review");
    } catch (err) {
      if (err instanceof ServerUnavailable) return needsServer(this.root);
      this.root.replaceChildren(el("p", { class: "drona-notice drona-notice--error", role: "alert" }, err.message));
      return;
    }
    this.items = this.queue.session.slice();
    this.position = 0;
    this.right = 0;
    this.render();
  }

  render() {
    const item = this.items[this.position];
    if (!item) return this.summary();
    this.root.dataset.state = "item";
    const heading = el("h2", { class: "drona-review__title", tabindex: "-1" }, item.title);
    const status = el("div", { class: "drona-review__result", "aria-live": "polite" });
    const body = el("div", { class: "drona-review__body" });
    const check = button("Check", { kind: "primary" });
    const next = button(this.position + 1 < this.items.length ? "Next item" : "Finish", {
      kind: "primary", onClick: () => { this.position += 1; this.render(); } });
    next.hidden = true;
    let read;
    let widget = null;
    if (item.kind === "exercise") {
      const id = "drona-review-code";
      const code = el("textarea", { id, class: "drona-review__code drona-input", rows: 10, spellcheck: "false",
        autocapitalize: "off", "data-drona-review-code": "" });
      code.value = item.starter || "";
      body.append(el("p", { class: "drona-review__prompt" }, item.prompt),
        el("label", { for: id, class: "drona-field__label" }, "Your code"), code);
      read = () => ({ code: code.value });
    } else {
      const node = el("div", { class: "drona-quiz-item", "data-item-id": item.item_key, "data-kind": item.kind,
        "data-config": JSON.stringify({ code: item.code || "", choices: item.choices || [] }) },
        el("p", {}, item.prompt));
      body.append(node);
      widget = new QuizItem(node, this.position, () => {});
      read = () => ({ answer: widget.value });
    }
    const id = reviewId();  // one per item: a retried Check counts once
    check.addEventListener("click", async () => {
      if (check.getAttribute("aria-disabled") === "true") return;
      setEnabled(check, false);
      status.replaceChildren(el("p", {}, item.kind === "exercise" ? "Running your code on the server…" : "Checking…"));
      const given = read();
      let result;
      try {
        result = await api.post("review/answers", { item_key: item.item_key, review_id: id, ...given });
      } catch (err) {
        setEnabled(check, true);
        const message = err instanceof ServerUnavailable ? "The server can't be reached; try again." : err.message;
        status.replaceChildren(el("p", { class: "drona-notice drona-notice--error", role: "alert" }, message));
        return;
      }
      if (result.correct) this.right += 1;
      if (widget) widget.showResult({ ...result, given: given.answer });
      const tests = (result.results || []).map((t) => el("li", { "data-passed": String(t.passed) },
        `${t.passed ? "✓" : "✗"} ${t.name}${t.passed || !t.message ? "" : `: ${t.message}`}`));
      status.replaceChildren(...[
        el("p", { class: "drona-review__verdict", "data-drona-review-verdict": result.correct ? "right" : "wrong" },
          result.correct ? "✓ Right. " : "✗ Not this time. ",
          `It comes back ${formatDate(result.next_due)}.`),
        tests.length ? el("ul", { class: "drona-review__tests" }, ...tests) : null,
        !widget && !result.correct && item.url ? el("p", {}, el("a", { href: siteUrl(item.url) }, "Open the lesson")) : null,
      ].filter(Boolean));
      check.hidden = true;
      next.hidden = false;
      next.focus();
      if (result.reward) applyReward(result.reward, { xpNote: "Daily review done." });
    });
    this.root.replaceChildren(
      el("p", { class: "drona-review__count", "data-drona-review-count": "" },
        `Item ${this.position + 1} of ${this.items.length}`, " · ", ORIGIN[item.origin] || ""),
      heading, body, el("p", { class: "drona-review__actions" }, check, next), status);
    if (this.position > 0) focusHeading(heading);
  }

  summary() {
    const q = this.queue;
    const answered = this.items.length;
    this.root.dataset.state = answered || q.done_today ? "done" : "empty";
    const kept = q.retention;
    const parts = [];
    if (answered) {
      parts.push(el("p", { class: "drona-review__lead", "data-drona-review-done": "" },
        `Today's review is done: ${this.right} of ${plural(answered, "item", "items")} right.`));
    } else if (q.done_today) {
      parts.push(el("p", { class: "drona-review__lead", "data-drona-review-done": "" }, "Today's review is done."));
    } else if (q.cards) {
      parts.push(el("p", { class: "drona-review__lead" }, "Nothing to review right now."));
    } else {
      parts.push(el("p", { class: "drona-review__lead" },
        "Nothing to review yet. Take a quiz or solve an exercise: what you meet comes back here just before you'd forget it."));
    }
    if (q.next_due) parts.push(el("p", {}, `Next item due ${formatDate(q.next_due)}.`));
    if (kept && kept.reviews) {
      parts.push(el("p", { class: "drona-review__retention" },
        `Recalled ${kept.recalled} of ${plural(kept.reviews, "review", "reviews")}` +
        (kept.predicted_recall !== null ? ` (the scheduler expected ${Math.round(kept.predicted_recall * 100)} %).` : ".")));
    }
    const heading = el("h2", { tabindex: "-1" }, answered || q.done_today ? "Well done" : "Daily review");
    this.root.replaceChildren(heading, ...parts);
    if (answered) focusHeading(heading);
  }
}

export function mountReview(root) {
  return new ReviewApp(root);
}
