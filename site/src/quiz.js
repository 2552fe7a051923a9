// The quiz widget. Answer keys never reach the static site: the Dronacharya server grades.
import { api, ApiError } from "./api.js";
import { applyReward } from "./rewards.js";
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
        const input = el("input", { type: "radio", name, id, value: String(i + 1), "aria-label": `Line ${i + 1}: ${line.trim() || "(blank)"}` });
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

  focus() {
    const target = (this.radios && this.radios[0]) || this.text || (this.blanks && this.blanks[0]);
    if (target) target.focus();
  }

  showResult(item) {
    this.node.dataset.result = item.correct ? "correct" : "incorrect";
    this.feedback.hidden = false;
    this.feedback.replaceChildren(
      el("p", { class: "drona-quiz__verdict", text: item.correct ? "✓ Correct" : "✗ Not quite" }),
      item.explanation_html ? el("div", { class: "drona-quiz__explanation", html: item.explanation_html }) : null,
    );
  }

  clearResult() {
    delete this.node.dataset.result;
    this.feedback.hidden = true;
    this.feedback.replaceChildren();
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
    this.status = el("div", { class: "drona-quiz__status", role: "status", "aria-live": "polite" });
    root.append(
      el("div", { class: "drona-quiz__footer" },
        this.submitBtn,
        el("span", { class: "drona-quiz__pass", text: `Pass mark: ${this.passPercent}%` })),
      this.status,
    );
    this.restore();
    this.root.dataset.state = "ready";
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
    if (this.submitting) return;
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

  show(body) {
    if (body.saved) {
      // Signed in: the attempt is stored and may have earned XP or completed the lesson.
      applyReward(body.reward, { xpNote: "Well done." });
    }
    const byId = new Map((body.items || []).map((item) => [item.item_id, item]));
    this.items.forEach((item) => {
      const result = byId.get(item.id);
      if (result) item.showResult(result);
      else item.clearResult();
    });
    const score = Math.round(Number(body.score_percent) || 0);
    this.root.dataset.result = body.passed ? "passed" : "failed";
    this.setStatus(
      body.passed
        ? `<strong>You scored ${score}%: passed!</strong> Read the explanations below each question.`
        : `<strong>You scored ${score}%.</strong> You need ${this.passPercent}% to pass. Read the explanations, change your answers and submit again.`,
      body.passed ? "success" : "error",
    );
  }
}

export function mountQuiz(root) {
  return new QuizWidget(root);
}
