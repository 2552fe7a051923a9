// The quiz widget. Answer keys never reach the static site: the Dronacharya server grades, and it sends
// the key and the explanations only after a passing attempt. After a fail the learner sees which answers
// were wrong and where to look again, then retakes the quiz with its choices in a new order.
import { api, ApiError } from "./api.js";
import { siteUrl } from "./format.js";
import { applyReward } from "./rewards.js";
import { currentUser } from "./session.js";
import { el, button, storage, readConfig, uniqueId } from "./ui.js";

const BLANK = "____";

function codeBlock(code) {
  return el("pre", { class: "drona-quiz__code" }, el("code", {}, code));
}

export class QuizItem {
  constructor(node, index, onChange) {
    this.node = node;
    this.id = node.dataset.itemId;
    this.kind = node.dataset.kind;
    this.config = readConfig(node);
    this.index = index;
    this.onChange = onChange;
    this.controls = el("div", { class: "drona-quiz__controls" });
    this.feedback = el("div", { class: "drona-quiz__feedback", hidden: true, "aria-live": "polite" });
    this.promptId = uniqueId("drona-quiz-prompt");

    // The authored prompt stays where the compiler put it; we wrap it.
    const prompt = el("div", { class: "drona-quiz__prompt", id: this.promptId });
    while (node.firstChild) prompt.append(node.firstChild);
    node.append(
      el("p", { class: "drona-quiz__number", text: `Question ${index + 1}` }),
      prompt,
      this.controls,
      this.feedback,
    );
    this.build();
  }

  build() {
    const name = uniqueId("drona-q");
    const code = typeof this.config.code === "string" ? this.config.code.replace(/\n$/, "") : "";
    if (this.kind === "multiple-choice") {
      const choices = Array.isArray(this.config.choices) ? this.config.choices : [];
      const group = el("fieldset", { class: "drona-quiz__choices" },
        el("legend", { class: "drona-visually-hidden", text: "Choose one answer" }));
      group.setAttribute("aria-describedby", this.promptId);
      // Each radio's value is the choice's authored index: shuffling moves the labels, never the values,
      // so the server grades the same answer whatever order was shown.
      this.group = group;
      this.radios = choices.map((choice, i) => {
        const id = `${name}-${i}`;
        const input = el("input", { type: "radio", name, id, value: String(i) });
        input.addEventListener("change", this.onChange);
        group.append(el("label", { class: "drona-choice", for: id }, input, el("span", { class: "drona-choice__text" }, String(choice))));
        return input;
      });
      this.controls.append(group);
    } else if (this.kind === "predict-output") {
      const id = `${name}-out`;
      this.text = el("textarea", { id, class: "drona-quiz__answer", rows: "2", spellcheck: "false", autocapitalize: "off" });
      this.text.addEventListener("input", this.onChange);
      this.controls.append(
        codeBlock(code),
        el("label", { for: id, class: "drona-quiz__label", text: "What does it print? Type the exact output." }),
        this.text,
      );
    } else if (this.kind === "find-the-bug") {
      const group = el("fieldset", { class: "drona-bug-lines" },
        el("legend", { class: "drona-quiz__label", text: "Choose the line with the bug" }));
      group.setAttribute("aria-describedby", this.promptId);
      this.radios = code.split("\n").map((line, i) => {
        const id = `${name}-${i + 1}`;
        const label = `Line ${i + 1}: ${line.trim() || "(blank)"}`;
        const input = el("input", { type: "radio", name, id, value: String(i + 1), "aria-label": label });
        input.dataset.label = label;
        input.addEventListener("change", this.onChange);
        group.append(
          el("label", { class: "drona-bug-line", for: id },
            input,
            el("span", { class: "drona-bug-line__no", "aria-hidden": "true", text: String(i + 1) }),
            el("code", { class: "drona-bug-line__code", "aria-hidden": "true" }, line || " ")),
        );
        return input;
      });
      this.controls.append(group);
    } else if (this.kind === "code-completion") {
      const parts = code.split(BLANK);
      const pre = el("pre", { class: "drona-quiz__code drona-quiz__code--blank" });
      const codeEl = el("code");
      pre.append(codeEl);
      this.blanks = [];
      parts.forEach((part, i) => {
        codeEl.append(part);
        if (i < parts.length - 1) {
          const input = el("input", {
            type: "text",
            class: "drona-blank",
            size: "8",
            spellcheck: "false",
            autocapitalize: "off",
            autocomplete: "off",
            "aria-label": parts.length > 2 ? `Blank ${i + 1}: what replaces ____` : "What replaces ____",
          });
          input.addEventListener("input", () => {
            // One answer replaces every ____: keep the blanks in step.
            this.blanks.forEach((b) => {
              if (b !== input) b.value = input.value;
            });
            this.onChange();
          });
          this.blanks.push(input);
          codeEl.append(input);
        }
      });
      this.controls.append(pre, el("p", { class: "drona-quiz__label", text: "Type what replaces the blank." }));
    } else {
      this.controls.append(el("p", { class: "drona-note drona-note--warning", text: `Unknown question kind: ${this.kind}` }));
    }
  }

  get value() {
    if (this.radios) {
      const checked = this.radios.find((r) => r.checked);
      return checked ? Number(checked.value) : null;
    }
    if (this.text) return this.text.value === "" ? null : this.text.value;
    if (this.blanks && this.blanks.length) return this.blanks[0].value.trim() === "" ? null : this.blanks[0].value.trim();
    return null;
  }

  set value(v) {
    if (v === null || v === undefined) return;
    if (this.radios) this.radios.forEach((r) => { r.checked = Number(r.value) === Number(v); });
    else if (this.text) this.text.value = String(v);
    else if (this.blanks) this.blanks.forEach((b) => { b.value = String(v); });
  }

  /** Empty the answer (a retake starts from scratch). */
  reset() {
    if (this.radios) this.radios.forEach((r) => { r.checked = false; });
    if (this.text) this.text.value = "";
    if (this.blanks) this.blanks.forEach((b) => { b.value = ""; });
  }

  /** Read-only while a result is shown: the review describes the answers that were graded. */
  setLocked(locked) {
    for (const input of [...(this.radios || []), ...(this.blanks || [])]) input.disabled = locked;
    if (this.text) this.text.readOnly = locked;
    this.node.toggleAttribute("data-locked", locked);
  }

  /** Put the choices in a new random order (never the one shown now, when there is another). */
  shuffle() {
    if (!this.group || this.kind !== "multiple-choice" || this.radios.length < 2) return;
    const labels = this.radios.map((r) => r.closest("label"));
    const before = labels.map((l) => l.htmlFor).join();
    let order = labels;
    for (let tries = 0; tries < 10 && order.map((l) => l.htmlFor).join() === before; tries += 1) {
      order = [...labels];
      for (let i = order.length - 1; i > 0; i -= 1) {
        const j = Math.floor(Math.random() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
    }
    if (order.map((l) => l.htmlFor).join() === before) order = [...labels.slice(1), labels[0]];
    order.forEach((label) => this.group.append(label));
  }

  focus() {
    // The first control as shown (choices may have been shuffled).
    const target = this.controls.querySelector("input, textarea");
    if (target) target.focus();
  }

  /** Mark one choice or line: data-state plus a text cue, so the state is never told by colour alone. */
  mark(value, state, cue) {
    const input = (this.radios || []).find((r) => Number(r.value) === Number(value));
    if (!input) return;
    const label = input.closest("label");
    label.dataset.state = state;
    label.append(el("span", { class: "drona-cue", "data-cue": state, text: cue }));
    if (input.dataset.label) input.setAttribute("aria-label", `${input.dataset.label} (${cue})`);
  }

  showResult(item) {
    this.clearResult();
    const answered = item.given !== null && item.given !== undefined;
    this.node.dataset.result = item.correct ? "correct" : "incorrect";
    if (this.radios && answered) {
      this.mark(item.given, item.correct ? "correct" : "incorrect",
        item.correct ? "✓ your answer: right" : "✗ your answer: not right");
    }
    const revealed = item.answer !== null && item.answer !== undefined;
    let key = null;
    if (revealed && this.radios) {
      if (!item.correct) this.mark(item.answer, "answer", this.kind === "find-the-bug" ? "✓ the line with the bug" : "✓ the right answer");
    } else if (revealed && !item.correct) {
      key = this.kind === "predict-output"
        ? el("div", { class: "drona-quiz__key" }, el("p", { text: "The expected output:" }), codeBlock(String(item.answer)))
        : el("p", { class: "drona-quiz__key" }, "The answer: ", el("code", { text: String(item.answer) }));
    }
    const verdict = item.correct ? "✓ Correct" : answered ? "✗ Not quite" : "✗ No answer";
    const nudge = !item.correct && item.nudge
      ? el("p", { class: "drona-quiz__nudge" }, item.nudge.replace(/^(Not quite|No answer given)\.\s*/, ""),
        item.review_url ? " " : null,
        item.review_url ? el("a", { href: siteUrl(item.review_url), text: "Open the lesson" }) : null)
      : null;
    this.feedback.hidden = false;
    // replaceChildren would write a null out as the text "null": drop the parts this result lacks.
    this.feedback.replaceChildren(...[
      el("p", { class: "drona-quiz__verdict", text: verdict }),
      key,
      nudge,
      item.explanation_html ? el("div", { class: "drona-quiz__explanation", html: item.explanation_html }) : null,
    ].filter(Boolean));
  }

  clearResult() {
    delete this.node.dataset.result;
    this.feedback.hidden = true;
    this.feedback.replaceChildren();
    for (const input of this.radios || []) {
      const label = input.closest("label");
      delete label.dataset.state;
      label.querySelectorAll(".drona-cue").forEach((cue) => cue.remove());
      if (input.dataset.label) input.setAttribute("aria-label", input.dataset.label);
    }
  }
}

export class QuizWidget {
  constructor(root) {
    this.root = root;
    this.id = root.dataset.quizId;
    this.passPercent = Number(root.dataset.passPercent) || 80;
    this.key = `drona:quiz:${this.id}`;
    this.items = Array.from(root.querySelectorAll(".drona-quiz-item")).map(
      (node, i) => new QuizItem(node, i, () => this.changed()),
    );
    this.submitBtn = button("Submit answers", { kind: "primary", onClick: () => this.submit() });
    this.retakeBtn = button("Retake quiz", { kind: "secondary", onClick: () => this.retake() });
    this.retakeBtn.hidden = true;
    this.status = el("div", { class: "drona-quiz__status", role: "status", "aria-live": "polite" });
    root.append(
      el("div", { class: "drona-quiz__footer" },
        this.submitBtn,
        this.retakeBtn,
        el("span", { class: "drona-quiz__pass", text: `Pass mark: ${this.passPercent}%` })),
      this.status,
    );
    this.restore();
    this.root.dataset.state = "loading";
    this.loadLatest().finally(() => {
      this.root.dataset.state = "ready";
    });
  }

  /** Signed in, the latest stored attempt is shown again (read-only, with Retake). Signed out nothing is
   * stored, so nothing is asked: the endpoint would only answer 401 into the console. */
  async loadLatest() {
    try {
      const me = await currentUser();
      if (!me) return;
      const latest = await api.get(`quizzes/${encodeURIComponent(this.id)}/attempts/latest`);
      if (latest && !this.submitting && !this.root.dataset.result) this.show(latest, { stored: true });
    } catch (_err) {
      // No server, or it failed: the blank form is still usable, and submitting says what is wrong.
    }
  }

  answers() {
    const out = {};
    for (const item of this.items) {
      const v = item.value;
      if (v !== null) out[item.id] = v;
    }
    return out;
  }

  restore() {
    try {
      const saved = JSON.parse(storage.get(this.key) || "null");
      if (saved && typeof saved === "object") this.items.forEach((item) => { item.value = saved[item.id]; });
    } catch (_err) {
      /* ignore */
    }
  }

  changed() {
    storage.set(this.key, JSON.stringify(this.answers()));
  }

  setStatus(html, tone) {
    this.status.innerHTML = html;
    this.status.dataset.tone = tone || "";
  }

  async submit() {
    if (this.submitting || this.root.dataset.result) return;
    const answers = this.answers();
    const missing = this.items.filter((item) => !(item.id in answers));
    const missingKey = missing.map((item) => item.id).join(",");
    if (missing.length && this.warnedMissing !== missingKey) {
      // First press: say what is missing. Pressing again submits anyway (blanks count as wrong).
      this.warnedMissing = missingKey;
      this.setStatus(
        `${this.items.length - missing.length} of ${this.items.length} questions answered; ` +
          `question ${missing[0].index + 1} has no answer yet. Unanswered questions count as wrong: ` +
          "answer them, or press Submit answers again to submit anyway.",
        "warning",
      );
      missing[0].focus();
      return;
    }
    this.warnedMissing = null;
    this.submitting = true;
    this.root.dataset.state = "submitting";
    this.submitBtn.setAttribute("aria-disabled", "true");
    this.setStatus("Grading…", "busy");
    try {
      this.show(await api.post(`quizzes/${encodeURIComponent(this.id)}/attempts`, { answers }));
    } catch (err) {
      if (err instanceof ApiError) {
        const div = document.createElement("div");
        div.textContent = err.message;
        this.setStatus(`Could not grade your answers: ${div.innerHTML}`, "error");
      } else {
        this.setStatus(
          "<strong>Grading needs the Dronacharya server.</strong> This copy of the site is served without it, " +
            "so nothing was graded. Your answers are kept in this browser: open the course through " +
            "<code>drona serve</code> and submit again.",
          "warning",
        );
      }
    } finally {
      this.submitting = false;
      this.root.dataset.state = "ready";
      this.submitBtn.setAttribute("aria-disabled", "false");
    }
  }

  /** A graded attempt, read-only: per item right or wrong; the key and explanations only after a pass
   * (the server leaves them out otherwise). `stored`: the latest attempt, shown again on a later visit. */
  show(body, { stored = false } = {}) {
    if (body.saved && !stored) {
      // Signed in: the attempt is stored and may have earned XP or completed the lesson.
      applyReward(body.reward, { xpNote: "Well done." });
    }
    const byId = new Map((body.items || []).map((item) => [item.item_id, item]));
    this.items.forEach((item) => {
      const result = byId.get(item.id);
      if (stored && result) {
        // The answers as graded, not a draft typed since.
        item.reset();
        item.value = result.given;
      }
      if (result) item.showResult(result);
      else item.clearResult();
      item.setLocked(true);
    });
    const score = Math.round(Number(body.score_percent) || 0);
    const best = Math.round(Number(body.best_score_percent) || 0);
    this.root.dataset.result = body.passed ? "passed" : "failed";
    const hadFocus = document.activeElement === this.submitBtn;
    this.submitBtn.hidden = true;
    this.retakeBtn.hidden = false;
    // Hiding the focused button would drop focus to the page: keep the keyboard where it was.
    if (hadFocus) this.retakeBtn.focus();
    const when = stored ? "Your latest attempt: you" : "You";
    const bestNote = stored && !body.passed && best > score ? ` Your best score is ${best}%.` : "";
    this.setStatus(
      body.passed
        ? `<strong>${when} scored ${score}%: passed!</strong> The right answers and their explanations are ` +
            "shown below each question."
        : `<strong>${when} scored ${score}%.</strong> You need ${this.passPercent}% to pass.${bestNote} ` +
            "The questions marked ✗ need another look: follow the pointers, then retake the quiz.",
      body.passed ? "success" : "error",
    );
  }

  /** Start again from blank answers, the choices in a new order: a retake still means something. */
  retake() {
    delete this.root.dataset.result;
    this.warnedMissing = null;
    this.items.forEach((item) => {
      item.clearResult();
      item.reset();
      item.setLocked(false);
      item.shuffle();
    });
    storage.remove(this.key);
    this.retakeBtn.hidden = true;
    this.submitBtn.hidden = false;
    this.root.dataset.attempt = String(Number(this.root.dataset.attempt || "1") + 1);
    this.setStatus("Retake: your answers are cleared and the choices are in a new order.", "");
    if (this.items.length) this.items[0].focus();
  }
}

export function mountQuiz(root) {
  return new QuizWidget(root);
}
